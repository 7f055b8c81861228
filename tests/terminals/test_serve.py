"""The kiosk in a browser (`run_served`, behind `ioe kiosk --serve`): attacks on the served app
fail before any app process starts, the places are limited, and the URL to open and the warning
beyond loopback are printed. tests/terminals/test_serve_cli.py serves the real kiosk."""

import asyncio
import json
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from aiohttp.test_utils import make_mocked_request
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from harness import Proc, free_port, wait_for_port, wait_until
from terminals.kiosk.serve import is_loopback, open_url, same_origin

TOKEN = "kiosk-test-token-0123456789abcdef"

# A Textual app that says when it starts: the attacks must never make one.
TINY_APP = """
import sys
from pathlib import Path
from textual.app import App
from textual.widgets import Input, Label

class Tiny(App):
    def compose(self):
        yield Label("tiny kiosk")
        yield Input()

    def on_mount(self):
        Path(sys.argv[1]).write_text("started")

Tiny().run()
"""


@dataclass
class Served:
    """A served app: its base URL, token, process, and the file its app writes on start."""

    base: str
    token: str
    proc: Proc
    started: Path

    @property
    def ws(self) -> str:
        return self.base.replace("http://", "ws://", 1)


def serve(
    tmp_path: Path,
    command: list[str],
    host: str,
    port: int,
    token: str | None,
    max_sessions: int = 8,
) -> Proc:
    """`run_served(...)` in a process of its own, as `ioe kiosk --serve` runs it."""
    code = (
        "import sys, json; from terminals.kiosk.serve import run_served; "
        "run_served(json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3]), "
        "sys.argv[4] or None, max_sessions=int(sys.argv[5]))"
    )
    args = [sys.executable, "-c", code, json.dumps(command), host, str(port), token or ""]
    return Proc([*args, str(max_sessions)], tmp_path / f"serve-{port}.log")


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    """A tiny Textual app served with a known token on a free loopback port."""
    app = tmp_path / "tiny.py"
    app.write_text(TINY_APP)
    started = tmp_path / "it started"  # a space: the command line must be quoted for the shell
    port = free_port()
    proc = serve(tmp_path, [sys.executable, str(app), str(started)], "127.0.0.1", port, TOKEN)
    try:
        wait_for_port(port)
        yield Served(f"http://127.0.0.1:{port}", TOKEN, proc, started)
    finally:
        proc.stop()


async def _ws_status(url: str, origin: str | None) -> int:
    """The HTTP status a websocket handshake gets (101 when it opens)."""
    try:
        async with connect(url, origin=origin, open_timeout=10):  # type: ignore[arg-type]
            return 101
    except InvalidStatus as refused:
        return refused.response.status_code


async def test_the_page_needs_the_token(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        missing = await http.get("/")
        wrong = await http.get("/", params={"token": served.token[:-1] + "x"})
        page = await http.get("/", params={"token": served.token})
    assert missing.status_code == 403 and "?token=" in missing.text
    assert wrong.status_code == 403
    assert page.status_code == 200
    assert f'data-session-websocket-url="{served.ws}/ws/{served.token}"' in page.text
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["X-Frame-Options"] == "DENY"
    assert page.headers["Cache-Control"] == "no-store"
    # Everything the page loads comes from the kiosk itself: nothing from another host.
    assert "googleapis" not in page.text
    assert not re.findall(r'(?:href|src)="https?://(?!127\.0\.0\.1)', page.text)
    assert not served.started.exists()


async def test_behind_a_tls_proxy_the_page_points_its_browser_at_the_proxy(served: Served) -> None:
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "kiosk.plant"}
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        page = await http.get("/", params={"token": served.token}, headers=headers)
        named = await http.get("/", params={"token": served.token}, headers={"Host": "gw-7:8702"})
    assert f'data-session-websocket-url="wss://kiosk.plant/ws/{served.token}"' in page.text
    assert 'src="https://kiosk.plant/static/js/textual.js"' in page.text
    assert f'data-session-websocket-url="ws://gw-7:8702/ws/{served.token}"' in named.text


async def test_websockets_without_the_token_or_from_another_site_start_nothing(
    served: Served,
) -> None:
    own = served.base
    assert await _ws_status(f"{served.ws}/ws/wrong-token", own) == 403
    assert await _ws_status(f"{served.ws}/ws", own) == 404  # textual-serve's tokenless door
    assert await _ws_status(f"{served.ws}/ws/{served.token}", None) == 403
    assert await _ws_status(f"{served.ws}/ws/{served.token}", "http://evil.example") == 403
    port = served.base.rsplit(":", 1)[1]
    assert await _ws_status(f"{served.ws}/ws/{served.token}", f"http://127.0.0.2:{port}") == 403
    assert not served.started.exists(), "a refused websocket started the app"
    # the same websocket with the token from the served page's own origin does start it
    assert await _ws_status(f"{served.ws}/ws/{served.token}", own) == 101
    wait_until(served.started.exists, 30, what="the served app to start")
    log = served.proc.output()
    assert "refused GET /ws/… from 127.0.0.1: the websocket's token is wrong" in log
    assert "another site's page" in log
    assert served.token not in log


async def test_kiosks_beyond_the_most_served_are_refused_until_one_closes(tmp_path: Path) -> None:
    app = tmp_path / "tiny.py"
    app.write_text(TINY_APP)
    port = free_port()
    marks = [tmp_path / f"started-{n}" for n in range(3)]
    # each session's app marks its own file: the command picks the first free one
    pick = (
        "import sys, pathlib, runpy; marks = [pathlib.Path(p) for p in sys.argv[2:]]; "
        "free = next(m for m in marks if not m.exists()); free.write_text('claimed'); "
        "sys.argv = [sys.argv[1], str(free)]; runpy.run_path(sys.argv[0], run_name='__main__')"
    )
    command = [sys.executable, "-c", pick, str(app), *map(str, marks)]
    proc = serve(tmp_path, command, "127.0.0.1", port, TOKEN, max_sessions=1)
    ws = f"ws://127.0.0.1:{port}/ws/{TOKEN}"
    own = f"http://127.0.0.1:{port}"
    try:
        wait_for_port(port)
        async with connect(ws, origin=own, open_timeout=10):  # type: ignore[arg-type]
            wait_until(lambda: marks[0].exists(), 30, what="the first kiosk")
            assert await _ws_status(ws, own) == 503
            assert not marks[1].exists(), "a refused session started a kiosk"
        assert "refused a kiosk session from 127.0.0.1: 1 open" in proc.output()
        # the first page closed: its place is free again once its kiosk has ended
        async with asyncio.timeout(30):
            while await _ws_status(ws, own) != 101:
                await asyncio.sleep(0.2)
        wait_until(lambda: marks[1].exists(), 30, what="a kiosk in the freed place")
    finally:
        proc.stop()


async def test_textual_serve_downloads_are_not_served(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.base, timeout=10) as http:
        download = await http.get("/download/anything", params={"token": served.token})
        listing = await http.get("/static/")
        script = await http.get("/static/js/textual.js")
    assert download.status_code == 404
    assert listing.status_code in (403, 404)  # no directory listing
    assert script.status_code == 200  # textual-serve's own page script, public by nature


def _request(headers: dict[str, str]) -> object:
    return make_mocked_request("GET", "/ws/t", headers=headers)


@pytest.mark.parametrize(
    ("origin", "headers", "same"),
    [
        ("http://127.0.0.1:8702", {"Host": "127.0.0.1:8702"}, True),
        ("http://tablet-gw:8702", {"Host": "TABLET-GW:8702"}, True),
        ("http://127.0.0.1:8703", {"Host": "127.0.0.1:8702"}, False),
        ("https://evil.example", {"Host": "127.0.0.1:8702"}, False),
        ("null", {"Host": "127.0.0.1:8702"}, False),
        # behind a TLS proxy that keeps Host, and one that rewrites it
        ("https://kiosk.plant", {"Host": "kiosk.plant", "X-Forwarded-Proto": "https"}, True),
        (
            "https://kiosk.plant",
            {
                "Host": "127.0.0.1:8702",
                "X-Forwarded-Host": "kiosk.plant",
                "X-Forwarded-Proto": "https",
            },
            True,
        ),
        ("http://kiosk.plant", {"Host": "kiosk.plant", "X-Forwarded-Proto": "https"}, False),
    ],
)
def test_origin_matching(origin: str, headers: dict[str, str], same: bool) -> None:
    assert same_origin(origin, _request(headers)) is same  # type: ignore[arg-type]


def test_loopback_and_the_url_to_open() -> None:
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("10.1.2.3")
    assert open_url("127.0.0.1", 8702, "t") == "http://127.0.0.1:8702/?token=t"
    assert open_url("::1", 8702, "t") == "http://[::1]:8702/?token=t"


def test_a_made_token_is_printed_in_a_url_that_opens_the_page(tmp_path: Path) -> None:
    port = free_port()
    proc = serve(tmp_path, [sys.executable, "-c", "pass"], "127.0.0.1", port, None)
    try:
        wait_for_port(port)
        wait_until(lambda: "open http" in proc.output(), 10, what="the URL")
        line = next(ln for ln in proc.output().splitlines() if "open http" in ln)
        url = line.split("open ", 1)[1].strip()
        token = url.split("?token=", 1)[1]
        assert len(token) >= 32
        assert httpx.get(url, timeout=10).status_code == 200
        assert "warning" not in proc.output()
    finally:
        proc.stop()


def test_serving_beyond_loopback_warns_that_the_token_is_the_only_protection(
    tmp_path: Path,
) -> None:
    port = free_port()
    proc = serve(tmp_path, [sys.executable, "-c", "pass"], "0.0.0.0", port, TOKEN)
    try:
        wait_for_port(port)
        wait_until(lambda: "reverse proxy with TLS" in proc.output(), 10, what="the warning")
        out = proc.output()
        assert "the token is the only protection" in out
        assert TOKEN not in out  # a token given by the operator is not echoed
    finally:
        proc.stop()
