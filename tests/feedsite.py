"""A news site on 127.0.0.1 serving feeds to the poller under test, good and hostile.

It honours conditional requests (If-None-Match / If-Modified-Since -> 304) and can misbehave
on demand: any status, redirects, a slow answer, a body that trickles in forever, a huge body with or without
Content-Length.  Every request's headers are recorded.

    site.serve("/en.xml", body, headers={"ETag": '"v1"'})   # -> "http://127.0.0.1:PORT/en.xml"
    site.serve("/down.xml", status=503)
    site.requests_to("/en.xml")[-1]["If-None-Match"]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from loopback import serving

CHUNK = 64 * 1024


@dataclass
class Route:
    body: bytes = b""
    status: int = 200
    content_type: str = "application/rss+xml; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering: a slow server
    trickle: float = 0.0  # seconds between single bytes of the body: a server that never finishes
    stream: int = 0  # bytes of filler sent with no Content-Length, until the client hangs up


class FeedSite(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.lock = threading.Lock()
        self.in_flight = self.most_in_flight = 0  # requests being answered now, and at most so far

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}{path}"

    def serve(self, path: str, body: bytes = b"", **route: object) -> str:
        self.routes[path] = Route(body, **route)  # type: ignore[arg-type]
        return self.url(path)

    def requests_to(self, path: str) -> list[dict[str, str]]:
        with self.lock:
            return [headers for target, headers in self.requests if target == path]

    def handle_error(self, request: object, client_address: object) -> None:
        """Clients hanging up on a huge or endless body are expected here."""


class _Handler(BaseHTTPRequestHandler):
    server: FeedSite

    def do_GET(self) -> None:
        with self.server.lock:
            self.server.requests.append((self.path, dict(self.headers)))
            self.server.in_flight += 1
            self.server.most_in_flight = max(self.server.most_in_flight, self.server.in_flight)
        try:
            self._answer()
        finally:
            with self.server.lock:
                self.server.in_flight -= 1

    def _answer(self) -> None:
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404)
            return
        time.sleep(route.delay)
        etag, modified = route.headers.get("ETag"), route.headers.get("Last-Modified")
        if (etag and self.headers.get("If-None-Match") == etag) or (
                modified and self.headers.get("If-Modified-Since") == modified):
            self.send_response(304)
            self.end_headers()
            return
        if "Date" in route.headers:  # a route that sets its own clock: no second Date header
            self.send_response_only(route.status)
        else:
            self.send_response(route.status)
        self.send_header("Content-Type", route.content_type)
        for name, value in route.headers.items():
            self.send_header(name, value)
        if not route.stream:
            self.send_header("Content-Length", str(len(route.body)))
        self.end_headers()
        if route.stream:
            for _ in range(route.stream // CHUNK):
                self.wfile.write(b" " * CHUNK)
        elif route.trickle:
            for byte in route.body:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(route.trickle)
        else:
            self.wfile.write(route.body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(name="site")
def site_fixture() -> Iterator[FeedSite]:
    with serving(FeedSite()) as server:
        yield server
