"""A small driver for Debian's headless Chromium over the DevTools protocol, for browser tests.

It opens a page, reads what a textual-serve terminal shows, types into it and takes
screenshots. textual-serve's page renders with xterm.js on a WebGL/canvas renderer, so the
rows are not in the DOM, and its xterm ``Terminal`` lives in a closure; a script installed
before the page's own catches the page's terminal object when the page stores its ``fitAddon``
on it, and the rows are then read through xterm's public buffer API.
"""

import asyncio
import base64
import contextlib
import itertools
import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

CHROMIUM_MISSING = "chromium is not installed: apt install chromium"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"

# Runs before the page's scripts: textual-serve's terminal class does `this.fitAddon = ...`
# right after making its xterm Terminal; a setter on Object.prototype sees that assignment,
# keeps the object as window.__ioeTerminal and gives it the property as its own.
CATCH_TERMINAL = """
Object.defineProperty(Object.prototype, "fitAddon", {
  configurable: true,
  set(value) {
    Object.defineProperty(this, "fitAddon", {value, writable: true, configurable: true});
    if (this.terminal && this.websocket_url !== undefined) window.__ioeTerminal = this;
  },
});
"""

READ_SCREEN = """
(() => {
  const holder = window.__ioeTerminal;
  if (!holder) return null;
  const term = holder.terminal, buffer = term.buffer.active, rows = [];
  for (let y = 0; y < term.rows; y++) {
    const line = buffer.getLine(buffer.viewportY + y);
    rows.push(line ? line.translateToString(true) : "");
  }
  return rows.join("\\n");
})()
"""


def chromium_binary() -> str | None:
    """Debian's chromium (or a chromium-browser) on PATH, if any."""
    return shutil.which("chromium") or shutil.which("chromium-browser")


class DevToolsError(RuntimeError):
    """Chromium answered a DevTools command with an error."""


class Page:
    """One browser tab driven over its DevTools websocket."""

    def __init__(self, ws: ClientConnection) -> None:
        self._ws = ws
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._events: asyncio.Queue[tuple[str, dict[str, Any]]] = asyncio.Queue()
        self._reader = asyncio.create_task(self._read(), name="devtools-reader")

    async def _read(self) -> None:
        """Route answers to their callers and keep events for whoever waits for them."""
        async for raw in self._ws:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"], None)
                if future is not None and not future.done():
                    future.set_result(message)
            else:
                await self._events.put((message["method"], message.get("params", {})))

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Run one DevTools command; its result, or DevToolsError."""
        ident = next(self._ids)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[ident] = future
        await self._ws.send(json.dumps({"id": ident, "method": method, "params": params}))
        answer = await asyncio.wait_for(future, 30)
        if "error" in answer:
            raise DevToolsError(f"{method}: {answer['error']}")
        return answer.get("result", {})

    async def wait_event(self, method: str, timeout: float = 30) -> dict[str, Any]:
        """The next event named ``method`` (others before it are dropped)."""
        async with asyncio.timeout(timeout):
            while True:
                name, params = await self._events.get()
                if name == method:
                    return params

    async def open(self, url: str, width: int = 1280, height: int = 800) -> None:
        """Navigate to ``url`` at a tablet-like size and wait for the page to load."""
        await self.send("Page.enable")
        await self.send("Page.addScriptToEvaluateOnNewDocument", source=CATCH_TERMINAL)
        await self.send(
            "Emulation.setDeviceMetricsOverride",
            width=width,
            height=height,
            deviceScaleFactor=1,
            mobile=False,
        )
        answer = await self.send("Page.navigate", url=url)
        if answer.get("errorText"):
            raise DevToolsError(f"navigating to {url}: {answer['errorText']}")
        await self.wait_event("Page.loadEventFired")

    async def evaluate(self, expression: str) -> Any:
        """The value of a JS expression in the page."""
        answer = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        if "exceptionDetails" in answer:
            raise DevToolsError(f"{expression!r}: {answer['exceptionDetails']}")
        return answer["result"].get("value")

    async def screen(self) -> str | None:
        """The terminal's visible rows as text; None until the terminal exists."""
        value = await self.evaluate(READ_SCREEN)
        return value if isinstance(value, str) else None

    async def wait_for_text(
        self, *texts: str, timeout: float = 60, ignore_case: bool = False
    ) -> str:
        """The screen once it shows every one of ``texts``; TimeoutError with it otherwise.

        ``ignore_case``: for text an app may show in capitals (a banner).
        """
        deadline = time.monotonic() + timeout
        shown: str | None = None
        fold = str.casefold if ignore_case else str
        while time.monotonic() < deadline:
            shown = await self.screen()
            if shown is not None and all(fold(text) in fold(shown) for text in texts):
                return shown
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the page did not show {texts!r} in {timeout}s; it shows:\n{shown}")

    async def wait_for_match(self, pattern: str, timeout: float = 60) -> re.Match[str]:
        """The first match of the regular expression ``pattern`` on the screen, once there."""
        deadline = time.monotonic() + timeout
        shown: str | None = None
        while time.monotonic() < deadline:
            shown = await self.screen()
            found = re.search(pattern, shown or "")
            if found is not None:
                return found
            await asyncio.sleep(0.2)
        raise TimeoutError(f"the page did not show /{pattern}/ in {timeout}s; it shows:\n{shown}")

    async def type(self, text: str) -> None:
        """Type ``text`` into the terminal as a keyboard (or a keyboard-wedge scanner) would."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        await self.send("Input.insertText", text=text)

    async def press_enter(self) -> None:
        """Press and release Enter in the focused terminal."""
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", type="rawKeyDown", **key)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **key)

    async def burst(self, *scans: str) -> None:
        """Scans as a wedge scanner types them: every scan and its Enter sent at once, without
        waiting for the page to answer one command before the next (DevTools runs them in
        the order sent)."""
        await self.evaluate("document.querySelector('.xterm-helper-textarea').focus()")
        enter = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        commands: list[tuple[str, dict[str, Any]]] = []
        for scan in scans:
            commands += [
                ("Input.insertText", {"text": scan}),
                ("Input.dispatchKeyEvent", {"type": "rawKeyDown", **enter}),
                ("Input.dispatchKeyEvent", {"type": "keyUp", **enter}),
            ]
        # Tasks start in the order made, so their messages leave in that order.
        await asyncio.gather(*(self.send(method, **params) for method, params in commands))

    async def screenshot(self, path: Path) -> bytes:
        """A PNG of the page, written to ``path``; its bytes."""
        answer = await self.send("Page.captureScreenshot", format="png")
        data = base64.b64decode(answer["data"])
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return data

    async def close(self) -> None:
        """Stop reading and close the tab's websocket."""
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader
        await self._ws.close()


def _devtools_port(profile: Path, proc: subprocess.Popen[bytes], timeout: float) -> int:
    """The DevTools port Chromium chose, from the DevToolsActivePort file it writes."""
    marker = profile / "DevToolsActivePort"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"chromium exited with {proc.returncode} before DevTools was up")
        if marker.exists():
            first = marker.read_text().splitlines()[:1]
            if first and first[0].isdigit():
                return int(first[0])
        time.sleep(0.05)
    raise TimeoutError(f"chromium did not open DevTools in {timeout}s")


def _launch(workdir: Path, binary: str) -> tuple[subprocess.Popen[bytes], Path]:
    """Start headless Chromium on a fresh profile; its process and profile directory."""
    profile = workdir / "chromium-profile"
    profile.mkdir(parents=True, exist_ok=True)
    (profile / "DevToolsActivePort").unlink(missing_ok=True)  # a port from an earlier run
    args = [
        binary,
        "--headless=new",
        "--remote-debugging-port=0",
        f"--user-data-dir={profile}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
        "--disable-background-networking",
        "--window-size=1280,800",
        "about:blank",
    ]
    if os.geteuid() == 0:
        args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
    with open(workdir / "chromium.log", "ab") as log:  # the child keeps its own descriptor
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    return proc, profile


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if Chromium does not leave in time."""
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(15)


@contextlib.asynccontextmanager
async def chromium(workdir: Path, binary: str) -> AsyncIterator[Page]:
    """A headless Chromium with one tab, stopped (its profile and log left in ``workdir``) after."""
    proc, profile = _launch(workdir, binary)
    page: Page | None = None
    try:
        port = await asyncio.to_thread(_devtools_port, profile, proc, 60)
        async with httpx.AsyncClient(timeout=10) as http:
            targets = (await http.get(f"http://127.0.0.1:{port}/json/list")).json()
        tab = next(t for t in targets if t.get("type") == "page")
        ws = await connect(tab["webSocketDebuggerUrl"], max_size=None)
        page = Page(ws)
        yield page
    finally:
        if page is not None:
            await page.close()
        await asyncio.to_thread(_stop, proc)
