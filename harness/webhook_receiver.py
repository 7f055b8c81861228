"""A webhook receiver for tests and benchmarks: a real HTTP server that verifies every
request's Standard Webhooks signature with the ``standardwebhooks`` package (the spec's
reference verification), records it (in memory, and in a SQLite file when given one), and
answers as its script says: a status, a delay, a ``Retry-After``.

The script picks an answer per arrival of each ``webhook-id``: ``{"default": {"status": 200},
"nth": [{"status": 500}], "messages": {"evt_3": [{"status": 410}]}}`` answers the first
arrival of every message 500 and later ones 200, and evt_3's first arrival 410. A rule is
``{"status": int, "delay": seconds, "retry_after": "header value"}``.

In a thread (``with Receiver(...).running() as url``) or as a process of its own
(``python -m harness.webhook_receiver --port N --record FILE``), controlled over HTTP:
``PUT /_receiver`` ``{"secrets": [...], "script": {...}}`` and ``GET /_receiver`` (what it got).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sqlite3
import threading
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook, WebhookVerificationError

CONTROL = "/_receiver"


@dataclass
class Received:
    """One request as it arrived, and what the receiver made of it."""

    n: int
    at: float  # time.time() at arrival
    path: str
    message_id: str | None
    timestamp: str | None
    signature: str | None
    body: str
    verified: bool  # the signature verified with one of the receiver's secrets
    verified_with: int | None  # which one (its index)
    error: str | None  # why it did not verify
    arrival: int  # 0 for the first arrival of this webhook-id, 1 for its first repeat, ...
    status: int  # what the receiver answered

    def event(self) -> dict[str, Any]:
        """The body as JSON."""
        return dict(json.loads(self.body))


class _Server(ThreadingHTTPServer):
    """A threaded server whose listen queue holds a worker's concurrent connections (the
    standard library's 5 makes the rest retry their SYN a second later)."""

    daemon_threads = True
    request_queue_size = 256


class Receiver:
    """The receiving end: secrets to verify with, a script to answer by, what arrived."""

    def __init__(
        self,
        secrets: list[str] | None = None,
        script: dict[str, Any] | None = None,
        record: Path | None = None,
    ) -> None:
        self.secrets = list(secrets or [])
        self.script: dict[str, Any] = script or {}
        self.received: list[Received] = []
        self.arrivals: dict[str, int] = {}
        self.lock = threading.Lock()
        self.db: sqlite3.Connection | None = None
        if record is not None:
            self.db = sqlite3.connect(record, check_same_thread=False, isolation_level=None)
            # A record for the test to read, not a ledger: no fsync per request (it would be
            # the receiver's bottleneck), WAL so readers never block it.
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=OFF")
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS received (n INTEGER PRIMARY KEY, at REAL, path TEXT, "
                "message_id TEXT, timestamp TEXT, signature TEXT, body TEXT, verified INTEGER, "
                "verified_with INTEGER, error TEXT, arrival INTEGER, status INTEGER)"
            )

    def configure(
        self, secrets: list[str] | None = None, script: dict[str, Any] | None = None
    ) -> None:
        """Change the secrets and/or the script from now on."""
        with self.lock:
            if secrets is not None:
                self.secrets = list(secrets)
            if script is not None:
                self.script = script

    def _rule(self, message_id: str, arrival: int) -> dict[str, Any]:
        rules = self.script.get("messages", {}).get(message_id) or self.script.get("nth", [])
        if arrival < len(rules):
            return dict(rules[arrival])
        return dict(self.script.get("default", {"status": 200}))

    def take(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[dict[str, Any], Received]:
        """Verify and record one request; the rule to answer it by."""
        text = body.decode("utf-8", errors="replace")
        lowered = {k.lower(): v for k, v in headers.items()}
        message_id = lowered.get("webhook-id")
        with self.lock:
            secrets = list(self.secrets)
        verified_with, error = None, "no secret configured"
        for index, secret in enumerate(secrets):
            try:
                Webhook(secret).verify(text, lowered)
            except WebhookVerificationError as err:
                error = str(err)
                continue
            verified_with, error = index, None
            break
        with self.lock:
            key = message_id or ""
            arrival = self.arrivals.get(key, 0)
            self.arrivals[key] = arrival + 1
            rule = self._rule(key, arrival)
            got = Received(
                n=len(self.received) + 1,
                at=time.time(),
                path=path,
                message_id=message_id,
                timestamp=lowered.get("webhook-timestamp"),
                signature=lowered.get("webhook-signature"),
                body=text,
                verified=verified_with is not None,
                verified_with=verified_with,
                error=error,
                arrival=arrival,
                status=int(rule.get("status", 200)),
            )
            self.received.append(got)
            if self.db is not None:
                row = asdict(got)
                self.db.execute(
                    f"INSERT INTO received ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                    list(row.values()),
                )
        return rule, got

    def handler(self) -> type[BaseHTTPRequestHandler]:
        """A request handler bound to this receiver."""
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as real receivers do
            # Headers and body go out in two writes: without TCP_NODELAY the body waits for
            # the sender's delayed ACK (~40 ms a request), which real servers do not do.
            disable_nagle_algorithm = True

            def _answer(self, status: int, body: Any, extra: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in (extra or {}).items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def _body(self) -> bytes:
                return self.rfile.read(int(self.headers.get("Content-Length") or 0))

            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                rule, got = receiver.take(self.path, dict(self.headers), self._body())
                if rule.get("delay"):
                    time.sleep(float(rule["delay"]))
                extra = {"Retry-After": str(rule["retry_after"])} if "retry_after" in rule else {}
                try:
                    self._answer(got.status, {"n": got.n}, extra)
                except OSError:  # the sender gave up waiting
                    pass

            def do_PUT(self) -> None:  # noqa: N802
                if self.path != CONTROL:
                    self._answer(404, {})
                    return
                asked = json.loads(self._body() or b"{}")
                receiver.configure(asked.get("secrets"), asked.get("script"))
                self._answer(200, {"ok": True})

            def do_GET(self) -> None:  # noqa: N802
                with receiver.lock:
                    got = [asdict(r) for r in receiver.received]
                self._answer(200, got)

            def log_message(self, *args: Any) -> None:
                """Quiet: the receiver keeps its own record."""

        return Handler

    @contextlib.contextmanager
    def running(self, port: int = 0) -> Iterator[str]:
        """Serve in a thread; yields the base URL."""
        server = _Server(("127.0.0.1", port), self.handler())
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()


def read_record(path: Path) -> list[Received]:
    """What a receiver process recorded in its SQLite file, in arrival order."""
    with contextlib.closing(sqlite3.connect(path)) as db:
        db.row_factory = sqlite3.Row
        rows = db.execute("SELECT * FROM received ORDER BY n").fetchall()
    return [
        Received(**{**dict(r), "verified": bool(r["verified"])})  # type: ignore[arg-type]
        for r in rows
    ]


def main() -> None:
    """Run a receiver process until killed."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--record", type=Path, required=True, help="SQLite file of what arrived")
    parser.add_argument("--script", default="{}", help="JSON answer script")
    args = parser.parse_args()
    receiver = Receiver(script=json.loads(args.script), record=args.record)
    server = _Server(("127.0.0.1", args.port), receiver.handler())
    server.serve_forever()


if __name__ == "__main__":
    main()
