"""Fetch a channel's preview pages over HTTP and page back to the last post already seen.

`https://t.me/s/<name>` shows the newest posts; `?before=<id>` shows the ones before
`id`.  `fetch_preview` walks back until it reaches `after_id` (or runs out of pages or
of its page budget) and returns the new posts oldest first.  The base URL is a
parameter so that a mirror or a local server can stand in for t.me.

Failures never crash the caller: if not even the first page could be read the result is
a `PreviewUnavailable`; a later page that fails ends the walk with a warning saying
which posts may be missing.
"""

from __future__ import annotations

import httpx
from communique.monitors.preview import PreviewPage, parse_preview_page

from communique.models import Statement, channel_key

USER_AGENT = "Communique/0.1 (+preview)"


class PreviewUnavailable(Exception):
    """A channel's preview page could not be read at all (HTTP error, timeout, redirect).

    `channel` is the channel key (lower-case username), as in `Statement.channel`.
    """

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"preview of @{channel} unavailable: {reason}")
        self.channel = channel
        self.reason = reason


async def fetch_preview(
    client: httpx.AsyncClient,
    base_url: str,
    channel: str,
    *,
    after_id: int | None = None,
    max_pages: int = 5,
) -> PreviewPage:
    """Posts of `channel` newer than `after_id` (all readable ones if None), oldest first; and, in
    `seen_edited`, the posts up to `after_id` on the pages read that t.me marks "edited".

    Reads at most `max_pages` pages.  When the budget runs out before `after_id` is
    reached, the result carries a warning naming the ids that may be missing.
    Raises `PreviewUnavailable` only when the first page cannot be fetched.  Redirects
    are not followed: t.me sends channels without a public preview to their card page.
    """
    if max_pages < 1:
        raise ValueError(f"max_pages must be at least 1, not {max_pages}")
    name = channel.lstrip("@")
    key = channel_key(name)
    url = f"{base_url.rstrip('/')}/s/{name}"
    collected: dict[int, Statement] = {}
    result = PreviewPage()
    before: int | None = None
    for _ in range(max_pages):
        try:
            html = await _get_page(client, url, key, before)
        except PreviewUnavailable as exc:
            if before is None:
                raise
            result.warnings.append(
                f"preview of @{key}: could not read posts before {before}: {exc.reason}; "
                f"{_gap(after_id, before)} may be missing"
            )
            break
        page = parse_preview_page(html, channel=name, base_url=base_url)
        result.warnings.extend(page.warnings)
        for statement in page.statements:
            collected.setdefault(int(statement.ext_id), statement)
        result.edited |= page.edited
        result.has_older = page.has_older
        if page.oldest_id is None:
            break
        if before is not None and page.oldest_id >= before:
            result.warnings.append(
                f"preview of @{key}: {url}?before={before} returned no older posts "
                "(does the server ignore ?before=?); stopped paging back"
            )
            break
        result.oldest_id = page.oldest_id
        if (after_id is not None and page.oldest_id <= after_id) or not page.has_older:
            break
        before = page.oldest_id
    else:
        if after_id is not None:
            result.warnings.append(
                f"preview of @{key}: stopped after {max_pages} page(s) at post {before}; "
                f"{_gap(after_id, before)} may be missing"
            )
    newer = (s for post_id, s in sorted(collected.items()) if after_id is None or post_id > after_id)
    result.statements = list(newer)
    result.seen_edited = [s for post_id, s in sorted(collected.items())
                          if after_id is not None and post_id <= after_id and post_id in result.edited]
    return result


async def _get_page(client: httpx.AsyncClient, url: str, channel: str, before: int | None) -> str:
    """The HTML of one preview page, or `PreviewUnavailable` saying why there is none."""
    params = {"before": str(before)} if before is not None else None
    try:
        response = await client.get(
            url, params=params, headers={"User-Agent": USER_AGENT}, follow_redirects=False
        )
    except httpx.TimeoutException:
        raise PreviewUnavailable(channel, f"timed out fetching {url}") from None
    except httpx.HTTPError as exc:
        raise PreviewUnavailable(channel, f"could not fetch {url}: {type(exc).__name__}: {exc}") from None
    if response.is_redirect:
        target = response.headers.get("location", "?")
        raise PreviewUnavailable(
            channel,
            f"{url} redirects to {target}, not to a preview page "
            "(the channel is private, renamed, or has its preview disabled)",
        )
    if response.status_code != 200:
        raise PreviewUnavailable(channel, f"HTTP {response.status_code} from {response.request.url}")
    return response.text


def _gap(after_id: int | None, before: int | None) -> str:
    """The ids that were not read: between the last seen post and the oldest one read."""
    if after_id is None or before is None:
        return f"posts before {before}"
    return f"posts {after_id + 1} to {before - 1}"
