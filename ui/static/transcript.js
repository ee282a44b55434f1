// Runs once when the conversation component mounts (gr.HTML js_on_load: `element`, `trigger`
// and `watch` are given). Markers open their card; copy and feedback buttons act on their
// answer. The HTML itself is built (and escaped) in ui/render.py.
const openCards = new Set();

function remember(card) {
  setTimeout(() => {
    if (card.open) openCards.add(card.id); else openCards.delete(card.id);
  }, 0);
}

function copyText(text, done) {
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(text).then(done, () => copyWithSelection(text, done));
  } else {
    copyWithSelection(text, done);
  }
}

function copyWithSelection(text, done) {
  const area = document.createElement("textarea");
  area.value = text;
  area.style.position = "fixed";
  area.style.opacity = "0";
  document.body.appendChild(area);
  area.select();
  try { document.execCommand("copy"); done(); } finally { area.remove(); }
}

element.addEventListener("click", (event) => {
  const marker = event.target.closest("a.wp-marker[data-card]");
  if (marker) {
    event.preventDefault();
    const card = element.querySelector("#" + CSS.escape(marker.dataset.card));
    if (card) {
      card.open = true;
      openCards.add(card.id);
      card.scrollIntoView({ block: "nearest", behavior: "smooth" });
      card.classList.add("wp-flash");
      setTimeout(() => card.classList.remove("wp-flash"), 1500);
    }
    return;
  }
  const summary = event.target.closest("details.wp-card > summary");
  if (summary) { remember(summary.parentElement); return; }
  const button = event.target.closest("button[data-action]");
  const exchange = button && button.closest("[data-exchange]");
  if (!exchange) return;
  if (button.dataset.action === "copy") {
    const source = exchange.querySelector("textarea.wp-copy-src");
    copyText(source ? source.value : "", () => {
      button.dataset.copied = "true";
      setTimeout(() => { delete button.dataset.copied; }, 1500);
    });
  } else if (button.dataset.action === "feedback") {
    trigger("click", {
      action: "feedback",
      exchange: exchange.dataset.exchange,
      verdict: button.dataset.verdict,
    });
  }
});

// A re-render (a new answer, a rating) rebuilds the markup: reopen the cards the reader opened.
watch("value", () => {
  for (const id of openCards) {
    const card = element.querySelector("#" + CSS.escape(id));
    if (card && !card.open) card.open = true;
  }
});
