"""A fake outside order system for tests and benchmarks: a real HTTP server in a thread that
serves its orders in pages as docs/central-orders.md#order-sync describes, and can be told
to fail the next requests (5xx answers, or connections dropped without an answer)."""

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse


class OrderSource:
    """Orders and shipments to serve, ``page_size`` orders a page; ``changed`` (external
    number -> time) lets ``since`` leave out orders not changed after it."""

    def __init__(self, page_size: int = 100, token: str | None = None) -> None:
        self.orders: list[dict[str, Any]] = []
        self.shipments: list[dict[str, Any]] = []
        self.changed: dict[str, datetime] = {}
        self.page_size = page_size
        self.token = token  # when set, requests must carry it as a bearer token
        self.fail_next = 0  # answer this many next requests with 503
        self.drop_next = 0  # close this many next connections without an answer
        self.fail_cursor: str | None = None  # answer every request for this page with 503
        self.requests: list[dict[str, str]] = []  # the query of every request, in order
        self.lock = threading.Lock()

    def answer(self, query: dict[str, str], authorization: str | None) -> tuple[int, Any]:
        """The status and JSON body for one request (None: drop the connection)."""
        with self.lock:
            self.requests.append(query)
            if self.drop_next:
                self.drop_next -= 1
                return 0, None
            if self.fail_next or (self.fail_cursor and query.get("cursor") == self.fail_cursor):
                self.fail_next = max(0, self.fail_next - 1)
                return 503, {"error": "the order system is restarting"}
            if self.token and authorization != f"Bearer {self.token}":
                return 401, {"error": "who are you?"}
            orders = self.orders
            if "since" in query:
                since = datetime.fromisoformat(query["since"].replace("Z", "+00:00"))
                orders = [o for o in orders if self.changed.get(o["number"], since) > since]
            start = int(query.get("cursor", "0"))
            page = orders[start : start + self.page_size]
            after = start + self.page_size
            return 200, {
                "orders": page,
                "shipments": self.shipments if start == 0 else [],
                "next_cursor": str(after) if after < len(orders) else None,
            }


def _handler(source: OrderSource) -> type[BaseHTTPRequestHandler]:
    """A request handler bound to ``source``."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            query = {k: v[-1] for k, v in parse_qs(urlparse(self.path).query).items()}
            status, body = source.answer(query, self.headers.get("Authorization"))
            if status == 0:
                self.close_connection = True
                self.connection.close()
                return
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            """Quiet: tests and benchmarks read the source's own request log."""

    return Handler


@contextmanager
def serve_orders(source: OrderSource) -> Iterator[str]:
    """Serve ``source`` on a free local port; yields its URL (``http://127.0.0.1:N/orders``)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(source))
    server.daemon_threads = True
    thread = threading.Thread(
        target=server.serve_forever, args=(0.05,), name="order-source", daemon=True
    )
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/orders"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
