"""Parse a public channel's preview page (`https://t.me/s/<username>`) into statements.

The page lists the channel's latest posts, oldest first, each as
`div.tgme_widget_message_wrap > div.tgme_widget_message[data-post="name/123"]`; an album
is one block whose `data-post` is its first message id, and whose media links
(`a.grouped_media_wrap[href=".../<id>?single"]`) name each of its messages.  A "load older" link
(`a.tme_messages_more[data-before]`) exists while older posts remain; pages further back
are read with `?before=<oldest id>` (see `monitors.preview_fetch`).

Telegram changes this markup without notice, so nothing here raises on odd input: a
block that cannot be read is reported in `PreviewPage.warnings` (naming the channel and
what is missing) and the readable posts of the page are still returned.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from urllib.parse import urljoin

from selectolax.lexbor import LexborHTMLParser, LexborNode

from communique.models import Statement, channel_key, telegram_post_url

_BLOCK_TAGS = frozenset({"div", "p", "blockquote", "pre", "li", "ul", "ol", "tr", "h1", "h2", "h3", "h4"})
_SKIPPED_TAGS = frozenset({"script", "style", "svg", "template"})
_SPACES = re.compile(r"[ \t\r\n\f\v]+")
_SOFT_BREAK = "\x00"  # a block boundary: becomes one newline unless a line break is already there
_SCHEME = re.compile(r"^[a-z][a-z0-9+.-]*:(//)?", re.IGNORECASE)
_VIEWS = re.compile(r"^(\d+(?:[.,]\d+)?)\s*([KMB]?)$", re.IGNORECASE)
_MULTIPLIER = {"": 1, "K": 1_000, "M": 1_000_000, "B": 1_000_000_000}

# Media kinds by the class of their wrapper inside the message bubble, in document order.
_MEDIA_CLASSES = {
    "tgme_widget_message_photo_wrap": "photo",
    "tgme_widget_message_video_player": "video",
    "tgme_widget_message_roundvideo_player": "video",
    "tgme_widget_message_document_wrap": "document",
    "tgme_widget_message_voice_player": "document",
    "tgme_widget_message_sticker_wrap": "document",
}
_MEDIA_SELECTOR = ", ".join(f".{name}" for name in _MEDIA_CLASSES)


@dataclass(slots=True)
class PreviewPage:
    """What one preview page (or several merged pages) yielded.

    `oldest_id` is the smallest post id seen, service messages included, so that the
    next page can be asked for with `?before=<oldest_id>`; `has_older` says whether the
    page offered a link to older posts.
    """

    statements: list[Statement] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    oldest_id: int | None = None
    has_older: bool = False
    edited: set[int] = field(default_factory=set)  # posts the page marks "edited"
    seen_edited: list[Statement] = field(default_factory=list)  # of those, posts already read (`fetch_preview`)


def parse_views(label: str) -> int | None:
    """Read a view counter as shown on the page ("987", "1.2K", "3.4M"); None if unreadable."""
    match = _VIEWS.match(label.strip())
    if match is None:
        return None
    number, suffix = match.groups()
    return round(float(number.replace(",", ".")) * _MULTIPLIER[suffix.upper()])


def parse_preview_page(html: str, *, channel: str, base_url: str = "https://t.me") -> PreviewPage:
    """Statements (source "preview") for the posts on one preview page of `channel`."""
    key = channel_key(channel)
    page = PreviewPage()
    tree = LexborHTMLParser(html)
    page.has_older = tree.css_first("a.tme_messages_more[data-before]") is not None
    wraps = tree.css(".tgme_widget_message_wrap")
    if not wraps:
        title_node = tree.css_first("title")
        title = _collapse(title_node.text()) if title_node is not None else "no title"
        page.warnings.append(
            f"preview of @{key}: no posts found (no tgme_widget_message_wrap block; page title {title!r}); "
            "the channel may have no public preview, or t.me changed its layout"
        )
        return page
    ids: list[int] = []
    for number, wrap in enumerate(wraps, start=1):
        message = wrap.css_first(".tgme_widget_message")
        if message is None:
            page.warnings.append(
                f"preview of @{key}: message block #{number} has no tgme_widget_message inside; skipped"
                f"{_snippet(wrap)}"
            )
            continue
        post_id = _post_id(message, key, number, page.warnings)
        if post_id is None:
            continue
        ids.append(post_id)
        if "service_message" in (message.attributes.get("class") or "").split():
            continue
        page.statements.append(_statement(message, key, post_id, base_url, page.warnings))
        meta = message.css_first(".tgme_widget_message_meta")
        if meta is not None and meta.text(strip=True).startswith("edited"):
            page.edited.add(post_id)
    page.oldest_id = min(ids) if ids else None
    return page


def _post_id(message: LexborNode, key: str, number: int, warnings: list[str]) -> int | None:
    data_post = message.attributes.get("data-post")
    if not data_post:
        warnings.append(
            f"preview of @{key}: message block #{number} has no data-post attribute (no post id); "
            f"skipped{_snippet(message)}"
        )
        return None
    owner, _, raw_id = data_post.strip().rpartition("/")
    if not raw_id.isdigit():
        warnings.append(
            f"preview of @{key}: message block #{number} has an unreadable data-post {data_post!r}; skipped"
        )
        return None
    if channel_key(owner) != key:
        warnings.append(
            f"preview of @{key}: post {data_post!r} belongs to another channel; skipped "
            "(was the channel renamed?)"
        )
        return None
    return int(raw_id)


def _statement(message: LexborNode, key: str, post_id: int, base_url: str, warnings: list[str]) -> Statement:
    text_node = message.css_first(".tgme_widget_message_bubble > .tgme_widget_message_text")
    text_node = text_node or message.css_first(".media_supported_cont > .tgme_widget_message_text")
    views_node = message.css_first(".tgme_widget_message_views")
    views = parse_views(views_node.text()) if views_node is not None else None
    if views_node is not None and views is None:
        warnings.append(
            f"preview of @{key}: post {post_id} has an unreadable view count {views_node.text()!r}"
        )
    forwarded = message.css_first(".tgme_widget_message_forwarded_from_name")
    return Statement(
        channel=key,
        ext_id=str(post_id),
        text=render_text(text_node, base_url) if text_node is not None else "",
        date=_date(message, key, post_id, warnings),
        url=telegram_post_url(key, post_id),
        message_id=post_id,
        forwarded_from=(_collapse(forwarded.text()) or None) if forwarded is not None else None,
        media=_media(message),
        views=views,
        source="preview",
        album=_album(message),
    )


def _date(message: LexborNode, key: str, post_id: int, warnings: list[str]) -> datetime | None:
    node = message.css_first(".tgme_widget_message_date time[datetime]")
    node = node or message.css_first("time[datetime]")
    if node is None:
        warnings.append(
            f"preview of @{key}: post {post_id} has no date (<time datetime> missing); kept without a date"
        )
        return None
    raw = node.attributes.get("datetime") or ""
    try:
        parsed = datetime.fromisoformat(raw)
    except ValueError:
        warnings.append(
            f"preview of @{key}: post {post_id} has an unreadable date {raw!r}; kept without a date"
        )
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _media(message: LexborNode) -> str | None:
    node = message.css_first(_MEDIA_SELECTOR)
    if node is None:
        return None
    classes = (node.attributes.get("class") or "").split()
    return next(_MEDIA_CLASSES[name] for name in classes if name in _MEDIA_CLASSES)


def _album(message: LexborNode) -> tuple[tuple[int, str | None], ...]:
    """Each message of an album block: its id (from its media link) and its media kind."""
    members = []
    for node in message.css(".grouped_media_wrap"):
        raw_id = (node.attributes.get("href") or "").partition("?")[0].rpartition("/")[2]
        if raw_id.isdigit():
            classes = (node.attributes.get("class") or "").split()
            members.append((int(raw_id), next((_MEDIA_CLASSES[c] for c in classes if c in _MEDIA_CLASSES), None)))
    return tuple(members)


def render_text(node: LexborNode, base_url: str = "https://t.me") -> str:
    """Plain text of a message's HTML: line breaks kept, entities decoded, links readable.

    A link whose text is not its own address becomes "text (address)"; hashtag search
    links and links that spell out their address stay as they are.
    """
    parts: list[str] = []
    _render(node, parts, base_url)
    text = re.sub(rf"[ ]*{_SOFT_BREAK}[ ]*", _SOFT_BREAK, "".join(parts))
    text = re.sub(rf"\n?{_SOFT_BREAK}+\n?", "\n", text)
    return "\n".join(line.strip() for line in text.split("\n")).strip("\n")


def _render(node: LexborNode, parts: list[str], base_url: str) -> None:
    for child in node.iter(include_text=True):
        tag = child.tag
        if tag == "-text":
            parts.append(_SPACES.sub(" ", child.text_content or ""))
        elif tag == "br":
            parts.append("\n")
        elif tag == "a":
            parts.append(_link_text(child, base_url))
        elif tag in _BLOCK_TAGS:
            parts.append(_SOFT_BREAK)
            _render(child, parts, base_url)
            parts.append(_SOFT_BREAK)
        elif tag not in _SKIPPED_TAGS:
            _render(child, parts, base_url)


def _link_text(link: LexborNode, base_url: str) -> str:
    inner: list[str] = []
    _render(link, inner, base_url)
    text = _collapse("".join(inner).replace(_SOFT_BREAK, " "))
    href = (link.attributes.get("href") or "").strip()
    if not href or href.startswith("?q="):  # no target, or a hashtag search on the page itself
        return text
    if "onclick" in link.attributes:
        # Since 2024 t.me/s escapes "&" twice in the hrefs of text links (those with a
        # confirmation onclick): the decoded attribute still reads "&amp;".
        href = href.replace("&amp;", "&")
    href = urljoin(base_url.rstrip("/") + "/", href)
    if not text:
        return href
    if _same_target(text, href):
        return text
    return f"{text} ({href})"


def _same_target(text: str, href: str) -> bool:
    """True when a link's text already says where it goes (bare URL, e-mail, @mention)."""
    bare_href = _SCHEME.sub("", href).rstrip("/").casefold()
    bare_text = _SCHEME.sub("", text).rstrip("/").casefold()
    if bare_text == bare_href:
        return True
    mention = text[1:].casefold()
    return text.startswith("@") and bare_href in {f"t.me/{mention}", f"telegram.me/{mention}"}


def _collapse(text: str) -> str:
    return _SPACES.sub(" ", text).strip()


def _snippet(node: LexborNode) -> str:
    text = _collapse(node.text())
    return f" (text starts {text[:60]!r})" if text else ""
