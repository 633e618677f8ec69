"""What a report gives otherwise than its statement: figures, regions and days, in every language read,
and nothing when unsure."""

from __future__ import annotations

import json
import sys
from datetime import date
from pathlib import Path

import pytest

from communique.discrepancy import Difference, differences
from communique.places import GAZETTEER, places

RU = ("В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 46 украинских беспилотных "
      "летательных аппаратов самолетного типа над территориями Белгородской и Курской областей.")


def test_another_count_of_the_same_thing_is_a_difference() -> None:
    found = differences(RU, "ru", "Russia says it downed 31 Ukrainian drones over Belgorod and Kursk.", "en")
    assert found == [Difference("46", "31", "drones")]
    assert found[0].describe() == "reports 31 drones (statement: 46)"


def test_the_same_figure_in_words_agrees() -> None:
    assert differences(RU, "ru", "Russia says it downed forty-six drones over Belgorod and Kursk.", "en") == []
    assert differences("46 drones were shot down over the Belgorod region.", "en",
                       "Над Белгородской областью сбили сорок шесть беспилотников.", "ru") == []
    assert differences(RU, "ru", "أسقطت الدفاعات الروسية ستة وأربعين طائرة مسيرة فوق بيلغورود وكورسك", "ar") == []


def test_number_words_that_differ_are_read_in_arabic_and_russian() -> None:
    assert differences(RU, "ru", "أسقطت الدفاعات الروسية ستة وثلاثين طائرة مسيرة فوق بيلغورود وكورسك", "ar") == [
        Difference("46", "36", "drones")]
    assert differences("Сбиты 46 беспилотников над Белгородской областью.", "ru",
                       "Над Белгородской областью сбили тридцать один беспилотник.", "ru") == [
        Difference("46", "31", "drones")]


def test_a_count_of_another_thing_is_not_compared() -> None:
    report = "A drone attack on the Belgorod and Kursk regions killed 31 people overnight, the governor said."
    assert differences(RU, "ru", report, "en") == []


def test_a_range_that_holds_the_figure_agrees_and_one_that_does_not_differs() -> None:
    assert differences(RU, "ru", "Над Белгородской и Курской областями сбиты 40-50 беспилотников.", "ru") == []
    assert differences(RU, "ru", "Над Белгородской и Курской областями сбиты от 40 до 50 беспилотников.", "ru") == []
    assert differences(RU, "ru", "Над Белгородской и Курской областями сбиты 30-40 беспилотников.", "ru") == [
        Difference("46", "30–40", "drones")]


def test_grouped_thousands_rounded_and_approximate_figures_agree() -> None:
    statement = "Загальні втрати: особового складу ‒ близько 1 214 500 (+1 040) осіб, танків ‒ 11 515."
    assert differences(statement, "uk", "Russian losses have surpassed 1,214,500 troops and 11,515 tanks.", "en") == []
    assert differences(statement, "uk", "Russia has lost more than 11,000 tanks, Kyiv says.", "en") == []
    assert differences(statement, "uk", "Russia has lost 11,155 tanks, Kyiv says.", "en") == [
        Difference("11515", "11155", "tanks")]


def test_a_partial_report_is_not_a_difference() -> None:
    statement = "Уничтожены 46 беспилотников: 31 – над территорией Курской области, 15 – над Белгородской."
    assert differences(statement, "ru", "Over Kursk, 31 drones were shot down, the ministry said.", "en") == []


def test_another_region_is_a_difference_whatever_the_script() -> None:
    report = "Russia says it downed 46 Ukrainian drones over the Bryansk region."
    assert differences(RU, "ru", report, "en") == [Difference("Belgorod, Kursk", "Bryansk", "place")]
    assert differences(RU, "ru", "أسقطت 46 طائرة مسيرة فوق مقاطعة بريانسك", "ar")[0].report == "Bryansk"
    assert differences(RU, "ru", "Russia says it downed 46 drones over the Kursk region.", "en") == []


def test_a_region_the_statement_does_not_name_is_a_difference_beside_one_it_does() -> None:
    report = "Russia says it downed 46 drones over the Kursk and Rostov regions."
    assert differences(RU, "ru", report, "en") == [Difference("Belgorod, Kursk", "Kursk, Rostov", "place")]


def test_every_name_of_every_region_in_the_gazetteer_is_recognised() -> None:
    for region, names in GAZETTEER.items():
        for name in names:
            word = name.capitalize() if name.isascii() or "\u0400" <= name[0] <= "\u04ff" else name
            assert places(f"над {word}ой областью") == [region], name


def test_a_later_day_is_a_difference_and_an_earlier_one_background() -> None:
    statement = "В течение прошедшей ночи уничтожены 116 беспилотников."
    later = "В ночь на 16 декабря средства ПВО сбили 116 беспилотников."
    assert differences(statement, "ru", later, "ru", statement_date=date(2025, 12, 6),
                       report_date=date(2025, 12, 6)) == [Difference("6 December", "16 December", "day")]
    earlier = "On January 6 in Paris the coalition signed a declaration; Moscow answered on Thursday."
    assert differences("Заявление МИД.", "ru", earlier, "en", statement_date=date(2026, 1, 8)) == []


def test_languages_not_read_are_never_flagged() -> None:
    assert differences(RU, "ru", "俄罗斯国防部称击落31架无人机", "zh") == []


@pytest.mark.parametrize(("report", "lang"), [
    ("Le Hezbollah a dit avoir tiré plus de 250 missiles Katioucha sur des sites ennemis.", "fr"),
    ("Hezbollah ha lanciato 250 missili contro Israele.", "it"),
    ("Hezbollah wystrzelił 250 rakiet w kierunku Izraela.", "pl"),
    ("Hizbullah İsrail'e 250 füze fırlattı.", "tr"),
])
def test_a_report_in_a_language_known_by_its_code_is_read_in_it(report, lang) -> None:
    statement = "تجاوز عدد صواريخ الكاتيوشا التي أطلقت باتجاه مواقع العدو 320 صاروخاً."
    assert differences(statement, "ar", report, lang) == [Difference("320", "250", "missiles")]


def test_the_labelled_set_keeps_precision_first() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    from discrepancies import SET, evaluate

    pairs = [json.loads(line) for line in SET.read_text(encoding="utf-8").splitlines()]
    assert len(pairs) >= 60
    assert len({p[side]["lang"] for p in pairs for side in ("statement", "report")}) >= 4
    assert {p["origin"] for p in pairs} == {"real", "real-other-day", "constructed"}
    edited = [p for p in pairs if p["from"].get("edits")]
    assert edited and all(p["origin"] == "constructed" for p in edited)  # an edited real report is marked
    counts = evaluate(pairs)["all"]
    assert counts.precision >= 0.95
    assert counts.named_precision >= 0.95
    assert counts.recall >= 0.85


def test_hostile_figures_are_no_figures_and_never_an_error() -> None:
    assert differences(RU, "ru", "9" * 400 + " drones, 1e308 drones, 0 drones", "en") == []
    assert differences("", None, "", None) == []
    assert differences("0 drones", "en", "46 drones", "en") == []  # more than ten times apart: not comparable
