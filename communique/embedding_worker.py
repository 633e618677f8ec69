"""The embedding pass as a background task: embed what is pending, store it, match it, repeat.

The model runs in a worker thread (the engine releases the GIL), so the event loop stays free
for the bot and the monitors; the store is touched only through the store thread.  A failed
batch is retried after a pause: the cursor moves only when a batch is stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from communique import embedding_index
from communique.matching.embedder import Embedder, load_embedder
from communique.progress import Report
from communique.settings import Settings
from communique.store import StoreThread

log = logging.getLogger("communique.embedding")

BATCH = 32
IDLE_SECONDS = 2.0
RETRY_SECONDS = 30.0


class EmbeddingWorker:
    """The pass over one store with one model; `indexed` counts what it has done since it started."""

    def __init__(self, store: StoreThread, embedder: Embedder, settings: Settings, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC), batch: int = BATCH,
                 retry_seconds: float = RETRY_SECONDS) -> None:
        self.store, self.embedder, self.settings, self.clock, self.batch = store, embedder, settings, clock, batch
        self.retry_seconds = retry_seconds
        self.indexed = embedding_index.Indexed()

    async def prepare(self) -> None:
        await self.store.run(embedding_index.prepare, self.embedder.name, settings=self.settings, now=self.clock())

    async def step(self) -> embedding_index.Indexed | None:
        """Embed and store one batch; None when nothing is pending."""
        batch = await self.store.run(embedding_index.pending, settings=self.settings, now=self.clock(),
                                     limit=self.batch)
        if not batch:
            return None
        # One batch for both kinds: the model shares it among its threads.
        vectors = await asyncio.to_thread(self.embedder.embed, batch.statement_texts() + batch.news_texts())
        done = await self.store.run(embedding_index.store_vectors, batch, *batch.split(vectors),
                                    settings=self.settings, now=self.clock())
        self.indexed.add(done)
        if done.matches:
            log.info("embedding pass: %d new report(s) found, %d follow-up(s) queued", len(done.matches),
                     done.followups)
        return done

    async def drain(self, progress: Report | None = None) -> embedding_index.Indexed:
        """Embed everything pending now (`communique embed --once`), the window's backfill after a new
        model included; `progress` hears how many texts are embedded of those waiting."""
        await self.prepare()
        total = await self.store.run(embedding_index.waiting, settings=self.settings, now=self.clock())
        embedded = 0
        while (done := await self.step()) is not None:
            embedded += done.statements + done.news
            if progress:  # finished only when nothing is pending: rows may have arrived meanwhile
                progress(embedded, max(total, embedded + 1), "texts embedded")
        if progress and embedded:
            progress(embedded, embedded, "texts embedded")
        return self.indexed

    async def run(self) -> None:
        """Keep embedding until cancelled."""
        await self.prepare()
        while True:
            try:
                done = await self.step()
            except Exception:  # a bad batch or a full disk: keep the service up, try again later
                log.exception("embedding pass failed; retrying in %.0f s", self.retry_seconds)
                await asyncio.sleep(self.retry_seconds)
                continue
            if done is None:
                await asyncio.sleep(IDLE_SECONDS)


def configured_embedder(settings: Settings) -> Embedder | None:
    """The model `[matching] embeddings` names, loaded now (so a missing package stops the start), or None."""
    return load_embedder(settings.embeddings) if settings.embeddings != "off" else None
