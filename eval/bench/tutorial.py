"""The tutorial pipeline: the baseline the assistant is measured against.

What a LangChain "chat with your PDF" tutorial builds, step by step, with the same embedding
model and the same local LLM as the assistant:

1. ``PyPDFLoader(path).load()``: one ``Document`` per page, ``page.extract_text()`` of pypdf.
   ``langchain_community`` is not installed here, so :func:`load_pdf_pages` reproduces it
   (plain extraction mode, metadata ``source``, ``page``, ``page_label``, ``total_pages``);
   no cleaning of headers, footers or footnotes.
2. ``RecursiveCharacterTextSplitter(chunk_size=500, chunk_overlap=50).split_documents(pages)``.
3. ``Chroma.from_documents(chunks, embeddings)``: a fresh collection in a temp folder, vectors
   precomputed by the embedder's ``embed_documents``, random ids, Chroma's default (L2)
   distance, as ``langchain_chroma`` creates it.
4. ``vectorstore.as_retriever(search_kwargs={"k": 5})``: top-5 dense, no BM25, no fusion, no
   neighbour merging, no refusal.
5. ``prompt | llm | StrOutputParser()`` with the RAG prompt of the LangChain tutorial
   (:data:`RAG_PROMPT`), the five chunks joined by blank lines as the context.

No citation is parsed or checked: that is what the tutorial does not do.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage
from langchain_core.output_parsers import StrOutputParser

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


def _short(text: str, n: int = 40) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


@dataclass(frozen=True)
class TutorialIngest:
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


def load_pdf_pages(path: Path) -> list[Document]:
    """What ``PyPDFLoader(path).load()`` returns: one Document per page, text as pypdf gives it."""
    from pypdf import PdfReader

    reader = PdfReader(str(path))
    labels = list(reader.page_labels)
    total = len(reader.pages)
    return [
        Document(
            page_content=page.extract_text(),
            metadata={
                "source": str(path),
                "page": i,
                "page_label": labels[i] if i < len(labels) else str(i + 1),
                "total_pages": total,
            },
        )
        for i, page in enumerate(reader.pages)
    ]


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
        self.embeddings = embeddings
        self.persist_dir = persist_dir
        self.chat_model = chat_model
        self.chunk_size = chunk_size
        self.chunk_overlap = chunk_overlap
        self.k = k
        self.collection_name = collection
        self._collection: Any = None

    def split(self, pages: Sequence[Document]) -> list[Document]:
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        splitter = RecursiveCharacterTextSplitter(
            chunk_size=self.chunk_size, chunk_overlap=self.chunk_overlap
        )
        return splitter.split_documents(list(pages))

    def ingest(self, pdf: Path) -> TutorialIngest:
        """Load, split, embed and store ``pdf`` in a new collection."""
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        started = time.perf_counter()
        pages = load_pdf_pages(pdf)
        chunks = self.split(pages)
        texts = [c.page_content for c in chunks]
        t0 = time.perf_counter()
        vectors = self.embeddings.embed_documents(texts)
        embed_seconds = time.perf_counter() - t0
        client = chromadb.PersistentClient(
            path=str(self.persist_dir), settings=ChromaSettings(anonymized_telemetry=False)
        )
        collection = client.create_collection(self.collection_name, embedding_function=None)
        batch = client.get_max_batch_size()
        for i in range(0, len(chunks), batch):
            part = chunks[i : i + batch]
            collection.upsert(
                ids=[str(uuid.uuid4()) for _ in part],
                documents=[c.page_content for c in part],
                metadatas=[c.metadata for c in part],
                embeddings=np.asarray(vectors[i : i + batch], dtype=np.float32),
            )
        self._collection = collection
        return TutorialIngest(len(pages), len(chunks), time.perf_counter() - started, embed_seconds)

    def retrieve(self, question: str, k: int | None = None) -> list[Document]:
        """The top-k chunks by dense similarity (``retriever.invoke(question)``)."""
        if self._collection is None:
            raise RuntimeError("ingest a PDF first")
        vector = self.embeddings.embed_query(question)
        got = self._collection.query(
            query_embeddings=[list(vector)],
            n_results=k or self.k,
            include=["documents", "metadatas", "distances"],
        )
        return [
            Document(page_content=text, metadata=dict(meta or {}))
            for text, meta in zip(got["documents"][0], got["metadatas"][0], strict=True)
        ]

    def answer(self, question: str) -> TutorialAnswer:
        """Retrieve, stuff the chunks into the tutorial prompt, stream the LLM's answer."""
        if self.chat_model is None:
            raise RuntimeError("the tutorial pipeline was built without a chat model")
        started = time.perf_counter()
        docs = self.retrieve(question)
        retrieve_ms = (time.perf_counter() - started) * 1000
        context = "\n\n".join(d.page_content for d in docs)
        prompt = [HumanMessage(RAG_PROMPT.format(question=question, context=context))]
        pieces: list[str] = []
        first_token_ms: float | None = None
        for piece in (self.chat_model | StrOutputParser()).stream(prompt):
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
