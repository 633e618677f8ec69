"""RSS and Atom documents -> news items (feedparser parses; selectolax strips the HTML).

Shared by `communique import` of feed files and the feed poller.  Feeds are hostile input:
a document with no readable entries, or one that declares XML entities (a "billion laughs"
bomb), raises `FeedError`; a bad entry is skipped with a
warning and never costs the good entries of the same document.

Encodings: the charset of the HTTP Content-Type wins over the XML declaration (RFC 3023,
as feedparser does).  A document that is not valid in the encoding it claims (or claims
none and is not UTF-8) is re-read in the usual legacy encoding of the feed's configured
language (windows-1251 for Russian, windows-1256 for Arabic...) rather than as mojibake.
"""

from __future__ import annotations

import calendar
import hashlib
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import feedparser
from selectolax.lexbor import LexborHTMLParser

from communique.inputs import MAX_NEWS_TEXT, capped, from_unix, is_http_url
from communique.models import NewsItem

FUTURE_TOLERANCE = timedelta(hours=1)
_TRACKING = ("utm_", "fbclid", "gclid", "yclid", "mc_cid", "mc_eid")
LEGACY_ENCODINGS = {
    **dict.fromkeys(("ru", "uk", "be", "bg", "sr", "mk"), "windows-1251"),
    **dict.fromkeys(("ar", "fa", "ur"), "windows-1256"),
}
_ENCODING_PROBLEMS = (feedparser.CharacterEncodingOverride, feedparser.CharacterEncodingUnknown)
_HTML_START = re.compile(rb"^(\xef\xbb\xbf)?\s*(<!--.*?-->\s*|<\?xml[^>]*>\s*)*<(!doctype\s+html|html[\s>])",
                         re.I | re.S)
_CHARSET = re.compile(r"charset\s*=\s*[\"']?([\w.:-]+)", re.I)
_CHAR_REF = re.compile(rb"&#(?:x([0-9a-fA-F]+)|([0-9]+));")
# Feedparser does not expand declared entities, and would store "&lol9;" as text: such a feed is refused.
_ENTITY_DECLARATIONS = tuple("<!ENTITY".encode(encoding) for encoding in ("utf-8", "utf-16-le", "utf-16-be"))
MAX_URL = 2048  # longer links are junk, and would not fit in a Telegram message anyway


class FeedError(Exception):
    """A document that yields no entries: not a feed, or too broken to read."""


@dataclass(slots=True)
class ParsedFeed:
    title: str
    self_url: str | None = None  # where the feed says it lives (atom:link rel="self"), canonical
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
    """The article's address without tracking parameters and fragment, so reposted links compare equal;
    None for anything but an http(s) link (a "javascript:" link, or a permalink guid that is no address)."""
    if not url or not is_http_url(url):
        return None
    parts = urlsplit(url.strip())
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if not k.lower().startswith(_TRACKING)]
    return urlunsplit((parts.scheme, parts.netloc.lower(), parts.path or "/", urlencode(query), ""))


def parse_feed(content: bytes | str, *, outlet: str, feed_url: str, language: str | None = None,
               now: datetime, content_type: str | None = None) -> ParsedFeed:
    """News items of an RSS/Atom document, with warnings for what was skipped or guessed.

    `content_type` is the HTTP Content-Type header, if the document came over HTTP.
    """
    if isinstance(content, str):
        content = content.encode("utf-8")  # feedparser would take a str for a URL or a file name
    if not content.strip():
        raise FeedError(f"{feed_url}: empty document, not a feed")
    if any(marker in content for marker in _ENTITY_DECLARATIONS):
        raise FeedError(f"{feed_url}: the document declares XML entities (<!ENTITY>), which feeds do not use; "
                        "refused, as an entity bomb would be")
    warnings: list[str] = []
    content, invalid = _replace_invalid_char_refs(content)
    if invalid:
        warnings.append(f"{feed_url}: {invalid} reference(s) to characters XML does not allow, replaced by U+FFFD")
    doc = _read(content, _charset(content_type), feed_url)
    problem = doc.get("bozo_exception")
    if isinstance(problem, _ENCODING_PROBLEMS):
        legacy = _legacy_encoding(content, language)
        if legacy:
            doc = _read(content, legacy, feed_url)
            note = f"read as {legacy}, the usual legacy encoding for language {language!r}"
        else:
            note = f"read as {doc.get('encoding')}; text may be garbled (setting the feed's language may help)"
        warnings.append(f"{feed_url}: {problem}; {note}")
        problem = doc.get("bozo_exception")
        if isinstance(problem, _ENCODING_PROBLEMS):
            problem = None
    if not doc.entries:
        if _HTML_START.match(content[:4096]):
            served = f" (served as {content_type})" if content_type else ""
            raise FeedError(f"{feed_url}: an HTML page{served}, not an RSS or Atom feed; is the feed address right?")
        if not doc.get("version"):
            why = f"{type(problem).__name__}: {problem}" if problem is not None else "no feed element found"
            raise FeedError(f"{feed_url}: not an RSS or Atom feed ({why})")
        if problem is not None:
            raise FeedError(f"{feed_url}: not a readable feed ({type(problem).__name__}: {problem})")
    self_url = next((link.get("href") for link in doc.feed.get("links", []) if link.get("rel") == "self"), None)
    parsed = ParsedFeed(title=html_to_text(doc.feed.get("title", "")) or outlet, self_url=canonical_url(self_url),
                        warnings=warnings)
    if problem is not None:
        parsed.warnings.append(f"{feed_url}: feed is not well-formed, read what could be read ({problem})")
    feed_lang = language or _language(doc.feed.get("language"))
    seen: set[str] = set()
    undated = 0
    for position, entry in enumerate(doc.entries, 1):
        try:
            item, dated, impossible = _entry(entry, outlet=outlet, feed_url=feed_url, language=feed_lang, now=now)
        except ValueError as exc:
            parsed.warnings.append(f"{feed_url}: entry {position} skipped: {exc}")
            continue
        if impossible:
            parsed.warnings.append(f"{feed_url}: entry {position} is dated {impossible}, which cannot be; "
                                   "dated by when it was seen instead")
        if item.guid in seen:
            parsed.warnings.append(f"{feed_url}: entry {position} repeats id {item.guid!r}; kept the first")
            continue
        if item.url and len(item.url) > MAX_URL:
            parsed.warnings.append(f"{feed_url}: entry {position} has a {len(item.url)}-character link; dropped it")
            item.url = None
        if dated is None:
            undated += not impossible
        elif dated > now + FUTURE_TOLERANCE:
            parsed.warnings.append(f"{feed_url}: entry {position} is dated {dated:%Y-%m-%d %H:%M} UTC, in the "
                                   "future; dated by when it was seen instead")
        seen.add(item.guid)
        parsed.items.append(item)
    if undated:
        parsed.warnings.append(f"{feed_url}: {undated} entr{'y has' if undated == 1 else 'ies have'} no date; "
                               "dated by when seen")
    return parsed


def _read(content: bytes, charset: str | None, feed_url: str) -> Any:
    headers = {"content-type": f"application/xml; charset={charset}"} if charset else None
    try:
        return feedparser.parse(content, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser's own bugs on hostile input: the document is unreadable, not fatal
        raise FeedError(f"{feed_url}: feedparser could not read it ({type(exc).__name__}: {exc})") from exc


def _replace_invalid_char_refs(content: bytes) -> tuple[bytes, int]:
    """Numeric character references to characters XML forbids become U+FFFD (feedparser crashes on some)."""
    replaced = 0

    def fix(ref: re.Match[bytes]) -> bytes:
        nonlocal replaced
        hex_digits, digits = ref.groups()
        code = int(hex_digits, 16) if hex_digits else int(digits)
        if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
            return ref.group(0)
        replaced += 1
        return b"&#xFFFD;"

    return _CHAR_REF.sub(fix, content), replaced


def _charset(content_type: str | None) -> str | None:
    found = _CHARSET.search(content_type or "")
    return found.group(1).lower() if found else None


def _legacy_encoding(content: bytes, language: str | None) -> str | None:
    """The usual pre-Unicode encoding of `language`, if the document is not UTF-8 and fits it."""
    legacy = LEGACY_ENCODINGS.get(language or "")
    if legacy is None:
        return None
    for encoding in ("utf-8", legacy):
        try:
            content.decode(encoding)
        except UnicodeDecodeError:
            continue
        return None if encoding == "utf-8" else legacy
    return None


def _language(value: Any) -> str | None:
    if not value or not isinstance(value, str):
        return None
    return value.split("-")[0].split("_")[0].lower() or None


def _entry(entry: Any, *, outlet: str, feed_url: str, language: str | None,
           now: datetime) -> tuple[NewsItem, datetime | None, str | None]:
    """The entry as a news item, the date it gave itself (None if it gave none), and that date as
    written if it is impossible (year 1, or beyond 2199: see `communique.inputs`), when it counts as none."""
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
    dated, impossible = None, None
    stamp = next((entry[key] for key in ("published_parsed", "updated_parsed", "created_parsed") if entry.get(key)),
                 None)
    if stamp:
        try:
            dated = from_unix(calendar.timegm(stamp))
        except ValueError:
            impossible = f"{stamp.tm_year:04d}-{stamp.tm_mon:02d}-{stamp.tm_mday:02d}"
    # Undated or dated in the future: the time we saw it is the best we know.
    date = dated if dated is not None and dated <= now + FUTURE_TOLERANCE else now
    lang = _language(entry.get("language")) or _language((entry.get("title_detail") or {}).get("language")) or language
    body, truncated = capped(body, MAX_NEWS_TEXT)
    item = NewsItem(source=outlet, guid=str(guid), text=body, title=title, url=url, date=date, lang=lang, feed=feed_url,
                    truncated=truncated)
    return item, dated, impossible
