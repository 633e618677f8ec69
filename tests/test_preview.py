"""Credential-free channel source: public preview pages (t.me/s/<name>).

The fixtures under tests/fixtures/preview are saved-page look-alikes of the real markup;
fetching is exercised with real httpx against a loopback server that serves them.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from communique.monitors.preview import PreviewPage, parse_preview_page, parse_views
from communique.monitors.preview_fetch import USER_AGENT, PreviewUnavailable, fetch_preview
from loopback import serving

from communique.models import Statement

FIXTURES = Path(__file__).parent / "fixtures" / "preview"
CHANNEL = "MFA_Bulletin"
LATEST = "/s/MFA_Bulletin"
OLDER = "/s/MFA_Bulletin?before=120"


def parse_fixture(name: str, channel: str = CHANNEL) -> PreviewPage:
    return parse_preview_page((FIXTURES / name).read_text(encoding="utf-8"), channel=channel)


def latest_posts() -> dict[int, Statement]:
    return {s.message_id: s for s in parse_fixture("page_latest.html").statements if s.message_id}


# --- reading one page ---------------------------------------------------------------


def test_each_post_on_the_page_becomes_one_statement_from_the_preview_source() -> None:
    page = parse_fixture("page_latest.html")
    assert [s.ext_id for s in page.statements] == ["120", "122", "123", "124", "127", "128"]
    assert page.warnings == []
    first = page.statements[0]
    assert (first.channel, first.message_id, first.source) == ("mfa_bulletin", 120, "preview")
    assert first.url == "https://t.me/mfa_bulletin/120"


def test_service_messages_are_skipped() -> None:
    assert 121 not in latest_posts()
    assert all("pinned" not in s.text for s in latest_posts().values())


def test_html_entities_are_decoded_and_no_html_is_left() -> None:
    text = latest_posts()[120].text
    assert "Statement on the Geneva & Vienna talks" in text
    assert 'rejects the <draft> text and calls for an "immediate ceasefire"' in text
    assert "&amp;" not in text and "&quot;" not in text and "<b>" not in text and "<br" not in text


def test_line_breaks_become_newlines_and_emoji_stay() -> None:
    lines = latest_posts()[120].text.split("\n")
    assert lines[0] == "⚡Statement on the Geneva & Vienna talks"
    assert lines[1] == ""
    assert lines[-1] == "#Geneva #diplomacy"


def test_a_link_with_its_own_text_keeps_its_address_in_brackets() -> None:
    posts = latest_posts()
    assert "read the full text (https://mfa.example.org/statements?id=5&lang=en)." in posts[120].text
    assert "النص الكامل على موقع الوزارة (https://mfa.example.org/ar/statements/124)" in posts[124].text


def test_a_link_that_spells_out_its_address_is_written_once() -> None:
    posts = latest_posts()
    assert "Briefing: https://mfa.example.org/briefing\n" in posts[120].text
    assert posts[123].text.endswith("Подробнее: mod.example.org/ru/news/4521")
    assert posts[127].text.endswith("Questions: @mfa_press")
    assert posts[128].text.endswith("Press enquiries: press@mfa.example.org")
    assert "?q=" not in posts[120].text


def test_a_photo_only_post_becomes_a_statement_with_media_photo() -> None:
    photo = latest_posts()[122]
    assert (photo.text, photo.media, photo.views) == ("", "photo", 987)


def test_a_forwarded_post_keeps_its_origin_and_its_cyrillic_text() -> None:
    post = latest_posts()[123]
    assert post.forwarded_from == "Министерство обороны"
    assert post.text.startswith("Заявление Министерства обороны\nПереговоры продолжатся 2 декабря")
    assert latest_posts()[120].forwarded_from is None


def test_an_album_is_one_statement_with_its_arabic_caption() -> None:
    posts = latest_posts()
    album = posts[124]
    assert album.media == "photo"
    assert album.album == ((124, "photo"), (125, "photo"), (126, "photo"))  # its messages, from their links
    assert album.text.startswith("بيان وزارة الخارجية بشأن محادثات جنيف\n")
    assert not {125, 126} & posts.keys()


def test_a_reply_quote_does_not_leak_into_the_text_of_a_video_post() -> None:
    post = latest_posts()[127]
    assert post.media == "video"
    assert post.text == "Briefing by the spokesperson, 27 November.\nQuestions: @mfa_press"


def test_a_document_post_has_media_document() -> None:
    assert latest_posts()[128].media == "document"
    assert latest_posts()[120].media is None


def test_dates_are_utc_aware_and_views_are_counted() -> None:
    post = latest_posts()[120]
    assert post.date == datetime(2026, 11, 27, 8, 2, 11, tzinfo=UTC)
    assert post.date.utcoffset() is not None
    assert (post.views, latest_posts()[123].views) == (12_500, 3_400_000)


@pytest.mark.parametrize(
    ("label", "views"),
    [
        ("987", 987),
        ("15K", 15_000),
        ("1.2K", 1_200),
        ("45.1K", 45_100),
        ("3.4M", 3_400_000),
        ("n/a", None),
        ("", None),
    ],
)
def test_view_counters_are_read_with_their_suffix(label: str, views: int | None) -> None:
    assert parse_views(label) == views


def test_the_page_reports_its_oldest_post_and_whether_older_posts_exist() -> None:
    latest, older = parse_fixture("page_latest.html"), parse_fixture("page_older.html")
    assert (latest.oldest_id, latest.has_older) == (120, True)
    assert (older.oldest_id, older.has_older) == (115, False)  # 115 is a service message
    assert [s.message_id for s in older.statements] == [116, 117, 118, 119]


def test_unexpected_markup_gives_warnings_naming_the_channel_and_keeps_the_good_posts() -> None:
    page = parse_fixture("changed_markup.html", channel="@MFA_Bulletin")
    assert [(s.ext_id, s.text) for s in page.statements] == [
        ("200", "Sanctions list updated & published."),
        ("202", "Consular alert: avoid travel to the border area."),
    ]
    assert page.statements[1].date is None
    assert all(w.startswith("preview of @mfa_bulletin:") for w in page.warnings)
    joined = "\n".join(page.warnings)
    assert "message block #2 has no data-post attribute" in joined
    assert "post 202 has no date" in joined
    assert "post 202 has an unreadable view count 'n/a'" in joined
    assert "message block #4 has no tgme_widget_message inside" in joined
    assert "'OtherChannel/7' belongs to another channel" in joined


def test_a_page_without_any_posts_gives_a_warning_not_an_exception() -> None:
    page = parse_fixture("channel_card.html", channel="closed_ministry")
    assert page.statements == [] and page.oldest_id is None and not page.has_older
    assert len(page.warnings) == 1
    assert "@closed_ministry" in page.warnings[0] and "no posts found" in page.warnings[0]
    assert "Telegram: Contact @closed_ministry" in page.warnings[0]


def test_garbage_input_never_raises() -> None:
    for html in ["", "<<<>>>", "<div class='tgme_widget_message_wrap'>", "\x00\xff not html"]:
        page = parse_preview_page(html, channel="x_channel")
        assert page.statements == [] and page.warnings


# --- fetching and paging --------------------------------------------------------------


class PreviewSite(ThreadingHTTPServer):
    """Loopback stand-in for t.me: answers only the exact paths a test registered."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, tuple[int, dict[str, str], bytes]] = {}
        self.hanging: set[str] = set()
        self.release = threading.Event()
        self.requests: list[str] = []
        self.user_agents: list[str | None] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def page(self, target: str, fixture: str) -> None:
        body = (FIXTURES / fixture).read_bytes()
        self.routes[target] = (200, {"Content-Type": "text/html; charset=utf-8"}, body)

    def status(self, target: str, status: int, headers: dict[str, str] | None = None) -> None:
        self.routes[target] = (status, headers or {}, b"")


class _Handler(BaseHTTPRequestHandler):
    server: PreviewSite

    def do_GET(self) -> None:
        self.server.requests.append(self.path)
        self.server.user_agents.append(self.headers.get("User-Agent"))
        if self.path in self.server.hanging:
            self.server.release.wait(5)
            return
        status, headers, body = self.server.routes.get(self.path, (404, {}, b"not found"))
        self.send_response(status)
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Keep the test output quiet."""


@pytest.fixture(scope="module")
def running_site() -> Iterator[PreviewSite]:
    with serving(PreviewSite()) as server:
        yield server


@pytest.fixture
def site(running_site: PreviewSite) -> Iterator[PreviewSite]:
    """The loopback site with no routes and an empty request log."""
    running_site.routes.clear()
    running_site.hanging.clear()
    running_site.requests.clear()
    running_site.user_agents.clear()
    running_site.release = threading.Event()
    yield running_site
    running_site.release.set()  # let a request held by `hanging` finish


@pytest.fixture
def channel_site(site: PreviewSite) -> PreviewSite:
    site.page(LATEST, "page_latest.html")
    site.page(OLDER, "page_older.html")
    return site


async def fetch(
    site: PreviewSite, channel: str = CHANNEL, timeout: float = 5.0, **kwargs: int | None
) -> PreviewPage:
    async with httpx.AsyncClient(timeout=timeout, trust_env=False) as client:
        return await fetch_preview(client, site.base_url, channel, **kwargs)


def ids(page: PreviewPage) -> list[int | None]:
    return [s.message_id for s in page.statements]


@pytest.mark.asyncio
async def test_paging_stops_at_the_last_seen_post(channel_site: PreviewSite) -> None:
    page = await fetch(channel_site, after_id=121)
    assert channel_site.requests == [LATEST]
    assert ids(page) == [122, 123, 124, 127, 128]
    assert page.warnings == []


@pytest.mark.asyncio
async def test_older_pages_are_read_with_before_until_the_last_seen_post(channel_site: PreviewSite) -> None:
    page = await fetch(channel_site, after_id=117)
    assert channel_site.requests == [LATEST, OLDER]
    assert ids(page) == [118, 119, 120, 122, 123, 124, 127, 128]
    assert all(s.source == "preview" and s.channel == "mfa_bulletin" for s in page.statements)
    assert page.warnings == []


@pytest.mark.asyncio
async def test_a_first_fetch_reads_back_until_no_older_posts_are_offered(channel_site: PreviewSite) -> None:
    page = await fetch(channel_site, after_id=None)
    assert channel_site.requests == [LATEST, OLDER]
    assert ids(page) == [116, 117, 118, 119, 120, 122, 123, 124, 127, 128]
    assert (page.oldest_id, page.has_older) == (115, False)


@pytest.mark.asyncio
async def test_the_page_budget_bounds_the_walk_and_warns_of_a_possible_gap(channel_site: PreviewSite) -> None:
    page = await fetch(channel_site, after_id=100, max_pages=1)
    assert channel_site.requests == [LATEST]
    assert ids(page) == [120, 122, 123, 124, 127, 128]
    assert page.warnings == [
        "preview of @mfa_bulletin: stopped after 1 page(s) at post 120; posts 101 to 119 may be missing"
    ]


@pytest.mark.asyncio
async def test_requests_carry_the_polite_user_agent(channel_site: PreviewSite) -> None:
    await fetch(channel_site, after_id=117)
    assert channel_site.user_agents == [USER_AGENT, USER_AGENT] == ["Communique/0.1 (+preview)"] * 2


@pytest.mark.asyncio
async def test_a_500_gives_preview_unavailable(site: PreviewSite) -> None:
    site.status(LATEST, 500)
    with pytest.raises(PreviewUnavailable) as caught:
        await fetch(site)
    assert caught.value.channel == "mfa_bulletin"
    assert "HTTP 500" in caught.value.reason and "@mfa_bulletin" in str(caught.value)


@pytest.mark.asyncio
async def test_a_redirect_to_the_channel_card_gives_preview_unavailable(site: PreviewSite) -> None:
    site.status("/s/closed_ministry", 302, {"Location": "/closed_ministry"})
    site.page("/closed_ministry", "channel_card.html")
    with pytest.raises(PreviewUnavailable, match="redirects to /closed_ministry, not to a preview page"):
        await fetch(site, channel="closed_ministry")
    assert site.requests == ["/s/closed_ministry"]


@pytest.mark.asyncio
async def test_a_timeout_gives_preview_unavailable(site: PreviewSite) -> None:
    site.hanging.add(LATEST)
    with pytest.raises(PreviewUnavailable, match="timed out"):
        await fetch(site, timeout=0.2)


@pytest.mark.asyncio
async def test_a_refused_connection_gives_preview_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    async with httpx.AsyncClient(timeout=2, trust_env=False) as client:
        with pytest.raises(PreviewUnavailable, match="could not fetch"):
            await fetch_preview(client, f"http://127.0.0.1:{port}", CHANNEL)


@pytest.mark.asyncio
async def test_a_failing_older_page_keeps_the_newer_posts_and_warns_of_the_gap(site: PreviewSite) -> None:
    site.page(LATEST, "page_latest.html")
    site.status(OLDER, 502)
    page = await fetch(site, after_id=110)
    assert ids(page) == [120, 122, 123, 124, 127, 128]
    assert len(page.warnings) == 1
    assert "could not read posts before 120: HTTP 502" in page.warnings[0]
    assert "posts 111 to 119 may be missing" in page.warnings[0]


@pytest.mark.asyncio
async def test_a_mirror_that_ignores_before_does_not_make_the_walk_loop(site: PreviewSite) -> None:
    site.page(LATEST, "page_latest.html")
    site.page(OLDER, "page_latest.html")
    page = await fetch(site, after_id=None)
    assert site.requests == [LATEST, OLDER]
    assert ids(page) == [120, 122, 123, 124, 127, 128]
    assert "returned no older posts" in page.warnings[0]


@pytest.mark.asyncio
async def test_a_preview_page_with_changed_markup_is_fetched_with_its_warnings(site: PreviewSite) -> None:
    site.page(LATEST, "changed_markup.html")
    page = await fetch(site, after_id=150)
    assert ids(page) == [200, 202]
    assert len(page.warnings) == 5
