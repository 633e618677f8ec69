"""Reading RSS and Atom documents into news items: plain text, canonical links, UTC times, and
hostile documents that give a clear warning or a FeedError, never an exception from inside."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from communique.monitors.feed_parse import FeedError, canonical_url, parse_feed
from conftest import NOW, SAMPLES

FEEDS = SAMPLES / "feeds"
URL = "https://wire.example/rss"


def rss(*items: str, declaration: str = '<?xml version="1.0" encoding="utf-8"?>', language: str = "") -> bytes:
    lang = f"<language>{language}</language>" if language else ""
    return (f'{declaration}<rss version="2.0"><channel><title>Wire</title>{lang}'
            f'{"".join(items)}</channel></rss>').encode()


def item(guid: str, title: str, *, date: str | None = "Sat, 28 Nov 2026 10:00:00 +0000", link: str = "",
         text: str = "") -> str:
    parts = [f"<guid>{guid}</guid>", f"<title>{title}</title>"]
    parts += [f"<pubDate>{date}</pubDate>"] if date else []
    parts += [f"<link>{link}</link>"] if link else []
    parts += [f"<description>{text}</description>"] if text else []
    return f"<item>{''.join(parts)}</item>"


def parse(content: bytes | str, **options: object):  # type: ignore[no-untyped-def]
    return parse_feed(content, outlet="Wire", feed_url=URL, now=NOW, **options)  # type: ignore[arg-type]


# --- good feeds ----------------------------------------------------------------------


def test_rss_entries_become_news_items_with_plain_text_link_outlet_and_utc_time() -> None:
    feed = parse_feed((FEEDS / "wire_en.xml").read_bytes(), outlet="Sample Wire", feed_url=URL, now=NOW)
    assert feed.warnings == []
    swap = next(i for i in feed.items if "swap 103 prisoners" in i.title)
    assert swap.source == "Sample Wire" and swap.feed == URL and swap.lang == "en"
    assert swap.url == swap.guid == "https://samplewire.example/en/2026/11/27/russia-ukraine-prisoner-swap-uae"
    assert swap.date == datetime(2026, 11, 27, 9, 45, tzinfo=UTC)
    assert "medical and psychological care & will be flown" in swap.text
    assert "<p>" not in swap.text and "&amp;" not in swap.text


def test_an_atom_feed_in_russian_keeps_its_cyrillic_and_its_language() -> None:
    feed = parse_feed((FEEDS / "vesti_ru.atom").read_bytes(), outlet="Вести", feed_url=URL, now=NOW)
    assert len(feed.items) == 10 and feed.warnings == []
    first = feed.items[0]
    assert first.title == "Минобороны Белоруссии начало внезапную проверку боеготовности"
    assert first.lang == "ru" and first.date == datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_arabic_rss_feed_is_read_with_its_language() -> None:
    feed = parse_feed((FEEDS / "wire_ar.xml").read_bytes(), outlet="Wire AR", feed_url=URL, now=NOW)
    assert len(feed.items) == 10
    assert feed.items[0].title.startswith("الدفاع الروسية تنفي الانسحاب من قاعدة حميميم")
    assert {i.lang for i in feed.items} == {"ar"}


def test_tracking_parameters_and_fragments_do_not_make_a_second_article() -> None:
    assert canonical_url("https://Wire.example/a?id=5&utm_source=tg&fbclid=x#top") == "https://wire.example/a?id=5"


# --- encodings -----------------------------------------------------------------------


def test_a_feed_in_windows_1251_declared_as_utf8_is_read_in_cyrillic_with_a_warning() -> None:
    doc = rss(item("1", "Минобороны сообщило о перехвате"), language="ru").decode().encode("cp1251")
    feed = parse(doc, language="ru")
    assert feed.items[0].title == "Минобороны сообщило о перехвате"
    assert any("declared as utf-8" in w and "windows-1251" in w for w in feed.warnings)


def test_an_arabic_feed_in_windows_1256_without_any_declaration_is_read_in_arabic() -> None:
    doc = rss(item("1", "وزارة الدفاع تعلن"), declaration="").decode().encode("cp1256")
    feed = parse(doc, language="ar")
    assert feed.items[0].title == "وزارة الدفاع تعلن"
    assert any("windows-1256" in w for w in feed.warnings)


def test_a_wrong_encoding_without_a_language_hint_keeps_the_entries_and_says_the_text_may_be_garbled() -> None:
    doc = rss(item("1", "Минобороны сообщило"), item("2", "Second")).decode().encode("cp1251")
    feed = parse(doc)
    assert [i.guid for i in feed.items] == ["1", "2"]
    assert any("may be garbled" in w for w in feed.warnings)


def test_the_charset_of_the_http_header_wins_over_the_xml_declaration() -> None:
    doc = rss(item("1", "Минобороны сообщило")).decode().encode("koi8-r")
    feed = parse(doc, content_type="application/rss+xml; charset=KOI8-R")
    assert feed.items[0].title == "Минобороны сообщило"


# --- hostile documents ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "problem"),
    [
        (b"<!DOCTYPE html><html><head><title>Welcome</title></head><body>Hi</body></html>", "text/html",
         "an HTML page (served as text/html), not an RSS or Atom feed"),
        (b"<!-- cms --><html lang='en'><body><p>Not found</p></body></html>", None, "an HTML page, not an RSS"),
        (b"   \n", None, "empty document"),
        (b'{"items": []}', "application/json", "not an RSS or Atom feed"),
        (b'<?xml version="1.0" encoding="\xf1"?><rss version="2.0"/>', None, "feedparser could not read it"),
    ],
)
def test_a_document_that_is_not_a_feed_is_a_feed_error_naming_the_feed(content: bytes, content_type: str | None,
                                                                       problem: str) -> None:
    with pytest.raises(FeedError) as raised:
        parse(content, content_type=content_type)
    assert str(raised.value).startswith(f"{URL}: ")
    assert problem in str(raised.value)


def test_a_feed_that_declares_entities_is_refused_not_stored_with_literal_references() -> None:
    laughs = "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    bomb = ('<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY lol0 "lol">' + laughs + ']>'
            + rss(item("1", "Laughs", text="&lol9;"), declaration="").decode()).encode()
    with pytest.raises(FeedError, match=rf"^{URL}: the document declares XML entities"):
        parse(bomb)
    for encoding in ("utf-16", "utf-16-be"):  # also where the declaration is not ASCII bytes
        with pytest.raises(FeedError, match="declares XML entities"):
            parse(bomb.decode().replace('<?xml version="1.0"?>', "").encode(encoding))


def test_malformed_xml_keeps_the_entries_that_can_be_read() -> None:
    doc = rss(item("1", "Good one"), item("2", "Broken & <b>bold")).replace(b"</channel></rss>", b"")
    feed = parse(doc)
    assert [i.guid for i in feed.items] == ["1", "2"]
    assert any("not well-formed" in w for w in feed.warnings)


def test_references_to_forbidden_characters_are_replaced_instead_of_crashing_the_parser() -> None:
    feed = parse(rss(item("1", "Surrogate &#xD800; here"), item("2", "Huge &#99999999999; ref"), item("3", "Fine")))
    assert [i.title for i in feed.items] == ["Surrogate \ufffd here", "Huge \ufffd ref", "Fine"]
    assert any("2 reference(s) to characters XML does not allow" in w for w in feed.warnings)


def test_undated_entries_are_dated_when_seen_with_one_warning() -> None:
    feed = parse(rss(item("1", "No date", date=None), item("2", "No date either", date=None), item("3", "Dated")))
    assert [i.date for i in feed.items] == [NOW, NOW, datetime(2026, 11, 28, 10, 0, tzinfo=UTC)]
    assert feed.warnings == [f"{URL}: 2 entries have no date; dated by when seen"]


def test_an_entry_dated_in_the_future_is_dated_when_seen_with_a_warning() -> None:
    soon = (NOW + timedelta(minutes=30)).strftime("%a, %d %b %Y %H:%M:%S +0000")
    feed = parse(rss(item("1", "From the future", date="Sat, 01 Jan 2028 00:00:00 +0000"),
                     item("2", "Clock a little fast", date=soon)))
    assert feed.items[0].date == NOW
    assert feed.items[1].date == NOW + timedelta(minutes=30)  # within tolerance: kept
    assert feed.warnings == [f"{URL}: entry 1 is dated 2028-01-01 00:00 UTC, in the future; "
                             "dated by when it was seen instead"]


def test_a_duplicate_guid_keeps_the_first_entry() -> None:
    feed = parse(rss(item("same", "First"), item("same", "Second"), item("other", "Third")))
    assert [i.title for i in feed.items] == ["First", "Third"]
    assert feed.warnings == [f"{URL}: entry 2 repeats id 'same'; kept the first"]


def test_an_entry_with_neither_title_nor_text_is_skipped_and_a_monstrous_link_is_dropped() -> None:
    long_link = "https://wire.example/" + "a" * 3000
    feed = parse(rss(item("1", ""), item("2", "Kept", link=long_link)))
    assert [(i.guid, i.url) for i in feed.items] == [("2", None)]
    assert f"{URL}: entry 1 skipped: no title and no text" in feed.warnings
    assert any("3021-character link; dropped it" in w for w in feed.warnings)
