"""Matching: which news items report an official statement, across spellings, inflections and scripts."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import timedelta

import pytest
from conftest import NOW, ROOT

from communique.matching import COVERED_THRESHOLD, MatchOptions, match_news, match_statements, matcher
from communique.matching.duplicates import duplicate_of, group_near_duplicates, near_duplicate
from communique.models import NewsItem, Statement
from communique.normalise import fold, index_terms, skeleton, terms
from communique.store import transaction
from communique.store.news import upsert_news
from communique.store.statements import upsert_statement

CLAIMS = ROOT.parent / "shared" / "data" / "claims-en-dev"


def meet(a: str, b: str) -> bool:
    return bool(set(terms(a)) & set(terms(b)))


# --- normalisation ----------------------------------------------------------------------------------


def test_zero_width_characters_soft_hyphens_and_bidi_marks_fold_away():
    assert fold("Кр\u200bым") == fold("Кр\u00adым") == fold("\u202bКрым\u202c") == fold("Крым\ufeff") == "крым"


def test_arabic_diacritics_tatweel_and_letter_variants_fold_away():
    assert fold("مُسَيَّرة") == fold("مسيـــرة") == fold("مسيره")
    assert fold("أعلنت إسرائيل") == fold("اعلنت اسرائيل")
    assert fold("مستشفى") == fold("مستشفي")
    assert fold("٤٦ مسيرة") == fold("46 مسيرة")


def test_russian_yo_is_e_and_hebrew_points_fold_away():
    assert fold("Самолёт, ЁЛКА") == "самолет елка"
    assert fold("שָׁלוֹם") == fold("שלום")


def test_hebrew_geresh_and_gershayim_stay_inside_the_word():
    assert fold('צה״ל ושב"כ') == fold("צה\"ל ושב״כ") == "צהל ושבכ"
    assert fold("ראא׳ד סעד") == "ראאד סעד"
    assert {"0sbk"} <= set(index_terms("שב״כ")) & set(index_terms("الشاباك"))  # the Shin Bet, one name


def test_russian_case_endings_meet():
    assert terms("Брянской областью") == terms("Брянская область")
    assert terms("Курської області") == terms("Курська область") == terms("Курській області")
    assert terms("беспилотников") == terms("беспилотники") == terms("беспилотника")


def test_arabic_article_and_attached_particles_meet_the_bare_word():
    for form in ("الجيش", "والجيش", "بالجيش", "للجيش"):
        assert terms(form) == terms("جيش"), form
    assert meet("بموسكو", "موسكو")
    assert meet("المسيرات", "مسيرة")
    assert meet("وأعلنت", "أعلنت")
    # و is "and" in "ووزارة" but the first letter of "وزارة" (ministry): both readings are kept.
    assert meet("ووزارة الدفاع", "وزارة")


def test_hashtags_and_mentions_are_split_into_words_and_links_dropped():
    assert {"air", "defenc"} <= set(terms("#AirDefence"))
    assert {"elis", "stefanik"} <= set(terms("@EliseStefanik"))
    assert {"donald", "trump"} <= set(terms("#DonaldJTrumpJr"))
    assert fold("Watch https://t.me/mod_russia/123 pic.twitter.com/AbC #Iranpic.twitter.com/x") == "watch iran"


def test_a_name_has_one_skeleton_in_latin_cyrillic_arabic_and_hebrew():
    keys = [{t for t in index_terms(name) if t.startswith("0") and not t.startswith("00")}
            for name in ("Belousov", "Белоусов", "بيلاوسوف", "בלאוסוב")]
    assert set.intersection(*keys) == {"0" + skeleton("belousov")}
    assert skeleton("kharkiv") == skeleton("харків") == skeleton("خاركيف") == skeleton("חרקוב")



def test_chinese_is_read_as_pairs_of_characters_with_traditional_folded_to_simplified():
    assert fold("中国台湾") == "中国 国台 台湾"
    assert meet("外交部发言人毛宁表示", "外交部發言人毛寧表示")  # Simplified and Traditional meet
    assert not meet("外交部发言人", "国防部新闻局")  # a character in common is not a word in common
    assert fold("Taiwan 台") == "taiwan 台"


def test_a_chinese_statement_finds_its_traditional_chinese_report_first(db):
    statement = "外交部发言人毛宁就美国对台军售答记者问：中方坚决反对，已向美方提出严正交涉。"
    with transaction(db):
        report, _ = upsert_news(db, NewsItem(
            source="hk", guid="t1", title="外交部：堅決反對美國對台軍售", date=NOW + timedelta(hours=1),
            text="外交部發言人毛寧表示，中方堅決反對美國對台軍售，已向美方提出嚴正交涉。"), now=NOW)
        upsert_news(db, NewsItem(source="hk", guid="t2", title="國防部舉行例行記者會", date=NOW + timedelta(hours=1),
                                 text="國防部新聞發言人介紹了近期軍事交流情況。"), now=NOW)
    found = match_news(db, statement, date=NOW)
    assert found[0].row_id == report

# --- the matcher over a real store ------------------------------------------------------------------

STATEMENT = ("В течение прошедшей ночи дежурными средствами ПВО перехвачены и уничтожены 46 украинских "
             "беспилотных летательных аппаратов: 21 – над территорией Брянской области, 13 – над территорией "
             "Курской области, 8 – над территорией Белгородской области.")
REPORTS = {
    "ru": NewsItem(source="ria", guid="r1", title="Над тремя областями ночью сбиты 46 беспилотников",
                   text="Больше всего дронов, 21, уничтожено над Брянской областью, ещё 13 над Курской и 8 "
                        "над Белгородской, сообщили в Минобороны.", date=NOW + timedelta(minutes=20)),
    "en": NewsItem(source="wire", guid="e1", title="Russia says it downed 46 Ukrainian drones overnight",
                   text="Air defences destroyed 46 drones: 21 over the Bryansk region, 13 over Kursk and 8 "
                        "over Belgorod, the Defence Ministry said.", date=NOW + timedelta(minutes=40)),
    "ar": NewsItem(source="gulf", guid="a1", title="الدفاع الروسية: إسقاط 46 مسيرة أوكرانية",
                   text="قالت وزارة الدفاع الروسية إن الدفاعات الجوية دمرت 46 طائرة مسيرة، بينها 21 فوق "
                        "بريانسك و13 فوق كورسك و8 فوق بيلغورود.", date=NOW + timedelta(hours=1)),
}
DISTRACTORS = [
    NewsItem(source="ria", guid="r2", title="Над двумя регионами сбиты 29 беспилотников",
             text="Беспилотники уничтожены над Брянской и Курской областями, сообщили в Минобороны.",
             date=NOW + timedelta(hours=3)),
    NewsItem(source="wire", guid="e2", title="EU agrees new rules on packaging waste",
             text="European Union negotiators agreed on rules to cut packaging waste by 2030.",
             date=NOW + timedelta(hours=2)),
    NewsItem(source="gulf", guid="a2", title="السعودية تطلق تأشيرة سياحية إلكترونية لمواطني 12 دولة",
             text="أعلنت المملكة إطلاق تأشيرة سياحية إلكترونية جديدة.", date=NOW + timedelta(hours=2)),
]


@pytest.fixture
def archive(db):
    ids = {}
    with transaction(db):
        for item in [*REPORTS.values(), *DISTRACTORS]:
            ids[item.guid], _ = upsert_news(db, item, now=NOW)
    return db, ids


def test_reports_in_the_same_and_other_languages_are_found_first(archive):
    db, ids = archive
    found = [c.row_id for c in match_news(db, STATEMENT, date=NOW)]
    assert found[0] == ids["r1"]
    assert {ids["r1"], ids["e1"], ids["a1"]} <= set(found[:4])
    assert ids["e2"] not in found[:4] and ids["a2"] not in found[:4]


def test_only_the_reports_count_as_covering_the_statement(archive):
    db, ids = archive
    covered = {c.row_id for c in match_news(db, STATEMENT, date=NOW) if c.score >= COVERED_THRESHOLD}
    assert covered == {ids["r1"], ids["e1"], ids["a1"]}
    assert all(0.0 <= c.score <= 1.0 for c in match_news(db, STATEMENT, date=NOW))


def test_news_outside_the_time_window_is_not_matched(archive):
    db, ids = archive
    week_later = match_news(db, STATEMENT, date=NOW - timedelta(days=7))
    assert week_later == []
    # A report stamped a little before the post (clock skew) still counts.
    earlier = {c.row_id for c in match_news(db, STATEMENT, date=NOW + timedelta(minutes=90))}
    assert {ids["r1"], ids["e1"], ids["a1"]} <= earlier


def test_without_a_date_the_whole_archive_is_searched(archive):
    db, ids = archive
    assert match_news(db, STATEMENT)[0].row_id == ids["r1"]


def _busy_archive(db, count: int) -> None:
    """`count` reports of nights of drones like the statement's, with other figures, in three scripts."""
    rng = random.Random(5)
    with transaction(db):
        for i in range(count):
            template = [*REPORTS.values(), *DISTRACTORS][i % 6]
            figures = {n: str(rng.randint(2, 60)) for n in ("46", "21", "13", "8")}
            text = " ".join(figures.get(word, word) for word in template.text.split(" "))
            upsert_news(db, replace(template, guid=f"n{i}", text=text, date=None), now=NOW)


def test_undated_matching_of_a_large_archive_scores_fewer_rows_with_the_same_result(db, monkeypatch):
    _busy_archive(db, 900)
    options = MatchOptions(top=25)
    monkeypatch.setattr(matcher, "_PRUNED_ROWS", 10**9)
    every_row = match_news(db, STATEMENT, options=options)
    searches: list[str] = []
    db.conn.set_trace_callback(searches.append)
    monkeypatch.setattr(matcher, "_PRUNED_ROWS", 0)
    fewer_rows = match_news(db, STATEMENT, options=options)
    db.conn.set_trace_callback(None)
    assert fewer_rows == every_row and len(every_row) == 25
    # The same-script search ran once, holding back its commonest words: no second, whole query.
    same_script = [sql for sql in searches if sql.startswith("SELECT rowid, bm25") and "NOT" not in sql]
    assert len(same_script) == 1 and 'OR "00cyrillic")' in same_script[0]


def test_a_long_hebrew_statement_finds_its_arabic_report_by_the_few_names_they_share(db):
    """Every Hebrew and Arabic word gets a name key (those scripts have no capitals), so the keys of a long
    statement's ordinary words, rarer in the archive than its names, must not crowd the names out."""
    hebrew = ("דובר צה\"ל ודוברות שב\"כ מודיעים כי הלילה תקפו מטוסי חיל האוויר מבנה צבאי במחנה נוסייראת שבמרכז "
              "הרצועה, ששימש את ארגון הטרור לייצור אמצעי לחימה. במהלך התקיפה חוסלו שלושה מחבלים, ובהם מפקד "
              "היחידה האחראית על הברחת אמצעי לחימה דרך המנהרות. התקיפה בוצעה בעקבות מידע מודיעיני מדויק "
              "ולאחר נקיטת צעדים רבים לצמצום הפגיעה באזרחים, ובהם שימוש בחימוש מדויק ובתצפיות אוויריות.")
    with transaction(db):
        copy, _ = upsert_news(db, NewsItem(source="ynet", guid="h1", title="תקיפה בנוסייראת", text=hebrew,
                                           date=NOW + timedelta(minutes=30)), now=NOW)
        arabic, _ = upsert_news(db, NewsItem(
            source="jazeera", guid="a1", title="غارة إسرائيلية على مخيم النصيرات", date=NOW + timedelta(hours=1),
            text="قال جيش الاحتلال و\"الشاباك\" إنهما استهدفا مبنى في مخيم النصيرات وسط القطاع."), now=NOW)
    assert [c.row_id for c in match_news(db, hebrew, date=NOW)][:2] == [copy, arabic]


def test_a_news_item_finds_the_statement_it_reports(db):
    with transaction(db):
        stored = upsert_statement(db, Statement(channel="mod_russia", ext_id="1", text=STATEMENT, date=NOW), now=NOW)
        upsert_statement(db, Statement(channel="mod_russia", ext_id="2", date=NOW,
                                       text="Министр обороны провёл совещание по развитию флота."), now=NOW)
    english = REPORTS["en"]
    found = match_statements(db, english.title, english.text, date=english.date)
    assert found[0].row_id == stored.id
    assert found[0].score >= COVERED_THRESHOLD


def test_news_stored_after_a_search_is_found_by_the_next_search(archive):
    db, _ = archive
    visit = "Сырский прибыл в Рамштайн на встречу контактной группы"
    assert match_news(db, visit, date=NOW) == []
    with transaction(db):
        new_id, _ = upsert_news(db, NewsItem(source="ria", guid="r9", title="Сырский прибыл в Рамштайн",
                                             text="Встреча контактной группы началась.", date=NOW), now=NOW)
    assert match_news(db, visit, date=NOW)[0].row_id == new_id


def test_text_without_any_indexed_word_matches_nothing(archive):
    db, _ = archive
    assert match_news(db, "зззз qqqq", date=NOW) == []
    assert match_news(db, "", date=NOW) == []


# --- quality on real data -------------------------------------------------------------------------


@pytest.mark.skipif(not CLAIMS.exists(), reason="shared claims-en-dev data set not present")
def test_claims_dev_set_reaches_map_at_5_of_0_85():
    from communique.monitors.jsonl import read_news, read_statements

    from communique.evaluate import evaluate, read_qrels

    result = evaluate(read_statements(CLAIMS / "statements.jsonl"), read_news(CLAIMS / "news.jsonl"),
                      read_qrels(CLAIMS / "qrels.tsv"))
    assert result.rows["all pairs"].map_5 >= 0.85


# --- reposts and duplicates -------------------------------------------------------------------------

POST = "Дежурными средствами ПВО перехвачены и уничтожены 46 украинских беспилотников над Брянской областью."


def test_a_repost_with_a_link_and_a_prefix_is_a_near_duplicate_but_other_figures_are_not():
    assert near_duplicate(POST, f"❗️Минобороны: {POST} https://t.me/mod_russia/51234")
    assert not near_duplicate(POST, POST.replace("46", "29"))
    assert not near_duplicate("Перехвачены 46 беспилотников", POST)  # a headline is not its article
    # Clock times are no figures to match on, but two strikes at two times are two stories.
    assert fold("Удар по Белгороду в 14:30") != fold("Удар по Белгороду в 16:45")
    assert "14" not in index_terms("Удар по Белгороду в 14:30")


def test_near_duplicates_are_grouped_in_the_order_they_came():
    groups = group_near_duplicates([
        ("mod_russia/1", POST),
        ("wire/7", "EU agrees new rules on packaging waste, negotiators say."),
        ("tass_agency/9", f"Минобороны России: {POST}"),
        ("rian_ru/3", POST.replace("46", "29")),
        ("reuters/2", "EU agrees new rules on packaging waste, negotiators said"),
    ])
    assert groups == [["mod_russia/1", "tass_agency/9"], ["wire/7", "reuters/2"], ["rian_ru/3"]]


def test_a_stored_statement_knows_the_earlier_post_it_duplicates(db):
    def store(channel: str, ext_id: str, text: str, minutes: int) -> int:
        return upsert_statement(db, Statement(channel=channel, ext_id=ext_id, text=text,
                                              date=NOW + timedelta(minutes=minutes)), now=NOW).id

    with transaction(db):
        original = store("mod_russia", "1", POST, 0)
        other = store("mod_russia", "2", POST.replace("46", "29"), 5)
        repost = store("mid_rf", "8", f"Репост: {POST}", 30)
    assert duplicate_of(db, "statements", repost) == original
    assert duplicate_of(db, "statements", original) is None
    assert duplicate_of(db, "statements", other) is None
