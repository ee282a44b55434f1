"""The tutorial pipeline: the baseline the assistant is measured against.

What a LangChain "chat with your PDF" tutorial builds, run with LangChain's own parts (the
``bench`` extra: ``langchain-community``, ``langchain-chroma``) and the same embedder and local
LLM as the assistant:

1. ``PyPDFLoader(path).load()``: one ``Document`` per page, as pypdf extracts it; no cleaning
   of headers, footers or footnotes.
2. ``RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_documents(pages)``.
3. ``Chroma.from_documents(chunks, embeddings)``: a fresh collection in a temp folder, Chroma's
   default (L2) distance, the assistant's e5 embedder.
4. ``vectorstore.as_retriever(search_kwargs={"k": 5})``: top-5 dense, no BM25, no fusion, no
   neighbour merging, no refusal.
5. ``prompt | llm | StrOutputParser()`` with the RAG prompt of the LangChain tutorial
   (:data:`RAG_PROMPT`), the five chunks joined by blank lines as the context.

No citation is parsed or checked: that is what the tutorial does not do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from ingest.errors import ModelUnavailable

CHUNK_SIZE = 500
CHUNK_OVERLAP = 50
TOP_K = 5

#: The RAG prompt of LangChain's RAG tutorial (``rlm/rag-prompt``).
RAG_PROMPT = (
    "You are an assistant for question-answering tasks. Use the following pieces of retrieved "
    "context to answer the question. If you don't know the answer, just say that you don't "
    "know. Use three sentences maximum and keep the answer concise.\n"
    "Question: {question} \nContext: {context} \nAnswer:"
)

#: What the results say the tutorial pipeline was.
DESCRIPTION = (
    "`eval/bench/tutorial.py`: langchain_community's `PyPDFLoader` → "
    "`RecursiveCharacterTextSplitter(500, 50)` → `langchain_chroma.Chroma.from_documents` (a "
    "fresh collection, the assistant's e5 embedder) → `as_retriever(k=5)` → the LangChain RAG "
    "prompt and the same local LLM."
)


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class TutorialIngestReport:
    """How one tutorial ingest went (seconds are wall time)."""

    pages: int
    chunks: int
    seconds: float
    embed_seconds: float


@dataclass(frozen=True)
class TutorialAnswer:
    """A tutorial answer with its retrieved chunk texts (rank order) and timings in ms."""

    question: str
    text: str
    passages: tuple[str, ...]
    retrieve_ms: float
    first_token_ms: float | None
    total_ms: float

    def __repr__(self) -> str:
        return f"TutorialAnswer({_short(self.question)!r}, text={_short(self.text)!r})"


class _TimedEmbeddings(Embeddings):
    """The given embedder, adding up the seconds of its ``embed_documents`` calls."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner = inner
        self.document_seconds = 0.0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.document_seconds += time.perf_counter() - started

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def _langchain_parts() -> tuple[Any, Any]:
    try:
        from langchain_chroma import Chroma
        from langchain_community.document_loaders import PyPDFLoader
    except ImportError as exc:
        raise ModelUnavailable(
            "the tutorial pipeline needs langchain-community and langchain-chroma: "
            "pip install -e '.[bench]' (make install does)"
        ) from exc
    return PyPDFLoader, Chroma


def load_pdf_pages(path: Path) -> list[Document]:
    """``PyPDFLoader(path).load()``: one Document per page."""
    loader_class, _ = _langchain_parts()
    pages: list[Document] = loader_class(str(path)).load()
    return pages


class TutorialPipeline:
    """The tutorial's ingest, retrieve and answer steps over one fresh Chroma folder."""

    def __init__(
        self,
        embeddings: Embeddings,
        persist_dir: Path,
        *,
        chat_model: BaseChatModel | None = None,
        chunk_size: int = CHUNK_SIZE,
        chunk_overlap: int = CHUNK_OVERLAP,
        k: int = TOP_K,
        collection: str = "tutorial",
    ) -> None:
        self.embeddings = _TimedEmbeddings(embeddings)
        self.persist_dir = persist_dir
        self.chat_model = chat_model
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.k = k
        self.collection_name = collection
        self._store: Any = None
        self._retriever: Any = None

    def split(self, pages: list[Document]) -> list[Document]:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap
        )
        return splitter.split_documents(pages)

    def ingest(self, pdf: Path) -> TutorialIngestReport:
        """Load, split, embed and store ``pdf`` in a new collection."""
        from chromadb.config import Settings as ChromaSettings

        _, chroma_class = _langchain_parts()
        started = time.perf_counter()
        embedded_before = self.embeddings.document_seconds
        pages = load_pdf_pages(pdf)
        chunks = self.split(pages)
        self._store = chroma_class.from_documents(
            chunks,
            self.embeddings,
            collection_name=self.collection_name,
            persist_directory=str(self.persist_dir),
            # The project's one change to the defaults: no telemetry call (as in ingest/).
            client_settings=ChromaSettings(anonymized_telemetry=False),
        )
        self._retriever = self._store.as_retriever(search_kwargs={"k": self.k})
        return TutorialIngestReport(
            len(pages),
            len(chunks),
            time.perf_counter() - started,
            self.embeddings.document_seconds - embedded_before,
        )

    def retrieve(self, question: str, k: int | None = None) -> list[Document]:
        """The top-k chunks by dense similarity (``retriever.invoke(question)``)."""
        if self._store is None:
            raise RuntimeError("ingest a PDF first")
        retriever = self._retriever
        if k is not None and k != self.k:
            retriever = self._store.as_retriever(search_kwargs={"k": k})
        docs: list[Document] = retriever.invoke(question)
        return docs

    def answer(self, question: str) -> TutorialAnswer:
        """Retrieve, stuff the chunks into the tutorial prompt, stream the LLM's answer."""
        if self.chat_model is None:
            raise RuntimeError("the tutorial pipeline was built without a chat model")
        started = time.perf_counter()
        docs = self.retrieve(question)
        retrieve_ms = (time.perf_counter() - started) * 1000
        context = "\n\n".join(d.page_content for d in docs)
        chain = ChatPromptTemplate.from_template(RAG_PROMPT) | self.chat_model | StrOutputParser()
        pieces: list[str] = []
        first_token_ms: float | None = None
        for piece in chain.stream({"question": question, "context": context}):
            if first_token_ms is None and piece:
                first_token_ms = (time.perf_counter() - started) * 1000
            pieces.append(piece)
        return TutorialAnswer(
            question=question,
            text="".join(pieces),
            passages=tuple(d.page_content for d in docs),
            retrieve_ms=retrieve_ms,
            first_token_ms=first_token_ms,
            total_ms=(time.perf_counter() - started) * 1000,
        )
