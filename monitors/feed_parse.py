"""RSS and Atom documents -> news items (feedparser parses; selectolax strips the HTML).

Shared by `communique import` of feed files and the feed poller.  Feeds are hostile input:
a document with no readable entries raises `FeedError`; a bad entry is skipped with a
warning and never costs the good entries of the same document.
"""

from __future__ import annotations

import calendar
import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
from selectolax.lexbor import LexborHTMLParser

from communique.models import NewsItem

FUTURE_TOLERANCE = timedelta(hours=1)
_TRACKING = ("utm_", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid")


class FeedError(Exception):
    """A document that yields no entries: not a feed, or too broken to read."""


@dataclass(slots=True)
class ParsedFeed:
    title: str
    items: list[NewsItem] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML fragment: tags dropped, entities decoded, whitespace tidied."""
    if "<" not in fragment and "&" not in fragment:
        return " ".join(fragment.split())
    tree = LexborHTMLParser(f"<div>{fragment}</div>")
    for node in tree.css("script, style"):
        node.decompose()
    root = tree.body or tree.root
    text = root.text(separator=" ") if root is not None else ""
    return " ".join(text.split())


def canonical_url(url: str | None) -> str | None:
    """The article's address without tracking parameters and fragment, so reposted links compare equal."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        return url.strip()
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING)]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def parse_feed(content: bytes | str, *, outlet: str, feed_url: str, language: str | None = None,
               now: datetime) -> ParsedFeed:
    if isinstance(content, str):
        content = content.encode("utf-8")  # feedparser would take a str for a URL or a file name
    doc = feedparser.parse(content, sanitize_html=False, resolve_relative_uris=False)
    problem = doc.get("bozo_exception")
    if not doc.entries:
        if problem is not None:
            raise FeedError(f"{feed_url}: not a readable feed ({type(problem).__name__}: {problem})")
        if not doc.get("version"):
            raise FeedError(f"{feed_url}: not an RSS or Atom feed (no feed element found)")
    parsed = ParsedFeed(title=html_to_text(doc.feed.get("title", "")) or outlet)
    if problem is not None:
        parsed.warnings.append(f"{feed_url}: feed is not well-formed, read what could be read ({problem})")
    feed_lang = language or _language(doc.feed.get("language"))
    seen: set[str] = set()
    for position, entry in enumerate(doc.entries, 1):
        try:
            item = _entry(entry, outlet=outlet, feed_url=feed_url, language=feed_lang, now=now)
        except ValueError as exc:
            parsed.warnings.append(f"{feed_url}: entry {position} skipped: {exc}")
            continue
        if item.guid in seen:
            parsed.warnings.append(f"{feed_url}: entry {position} repeats id {item.guid!r}; kept the first")
            continue
        seen.add(item.guid)
        parsed.items.append(item)
    return parsed


def _language(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return value.split("-")[0].split("_")[0].lower() or None


def _entry(entry: Any, *, outlet: str, feed_url: str, language: str | None, now: datetime) -> NewsItem:
    title = html_to_text(entry.get("title", ""))
    body = ""
    if entry.get("content"):
        body = html_to_text(" ".join(c.get("value", "") for c in entry["content"]))
    if not body:
        body = html_to_text(entry.get("summary", "") or entry.get("description", ""))
    if not title and not body:
        raise ValueError("no title and no text")
    url = canonical_url(entry.get("link"))
    guid = entry.get("id") or url or hashlib.sha256(f"{title}\n{body}".encode()).hexdigest()[:32]
    date = None
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        stamp = entry.get(key)
        if stamp:
            date = datetime.fromtimestamp(calendar.timegm(stamp), UTC)
            break
    if date is None or date > now + FUTURE_TOLERANCE:
        date = now  # undated or dated in the future: the time we saw it is the best we know
    lang = _language(entry.get("language")) or _language((entry.get("title_detail") or {}).get("language")) or language
    return NewsItem(source=outlet, guid=str(guid), text=body, title=title, url=url, date=date, lang=lang,
                    feed=feed_url)
