"""The observers and the real work running beside the flood in bench/flood.py: central's RSS,
a REST client timing its calls, and actions fed to the real edge. Each is a thread that
records what it saw; the benchmark reads the records and judges them."""

from __future__ import annotations

import math
import threading
import time
import uuid

import httpx


def percentile(values: list[float], pct: float) -> float:
    """The nearest-rank percentile of ``values`` (NaN for none)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return ordered[rank - 1]


class _Loop:
    """A daemon thread running ``step`` until stopped."""

    def __init__(self, name: str) -> None:
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(30)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self.step()

    def step(self) -> None:
        raise NotImplementedError


class RssSampler(_Loop):
    """Central's resident memory (VmRSS from /proc) every 100 ms: latest and peak, in bytes."""

    def __init__(self, pid: int) -> None:
        super().__init__("rss-sampler")
        self.path = f"/proc/{pid}/status"
        self.peak = 0
        self._latest = self._read()

    def _read(self) -> int:
        with open(self.path) as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmRSS in {self.path}")

    def latest(self) -> int:
        self._latest = self._read()
        return self._latest

    def step(self) -> None:
        self.peak = max(self.peak, self.latest())
        time.sleep(0.1)


class RestTimer(_Loop):
    """A client of central's REST API, as an operator's screen would be: it alternates
    GET /api/v1/license-plates?limit=10 and GET /healthz, one call every 20 ms, and records
    each call's latency under the current ``phase``; any error or non-200 is recorded."""

    CALLS = (("/api/v1/license-plates", True), ("/healthz", False))

    def __init__(self, central_url: str, token: str, site: str) -> None:
        super().__init__("rest-timer")
        self.phase = "quiet"
        self.site = site
        self.errors: list[str] = []
        self._samples: list[tuple[str, float]] = []
        self._count = 0
        self._http = httpx.Client(
            base_url=central_url, timeout=10, headers={"Authorization": f"Bearer {token}"}
        )

    def step(self) -> None:
        path, paged = self.CALLS[self._count % len(self.CALLS)]
        self._count += 1
        params = {"site": self.site, "limit": 10} if paged else None
        phase = self.phase
        started = time.perf_counter()
        try:
            response = self._http.get(path, params=params)
        except httpx.HTTPError as err:
            self.errors.append(f"{path}: {type(err).__name__}: {err}")
        else:
            if response.status_code != 200:
                self.errors.append(f"{path}: HTTP {response.status_code} {response.text[:200]}")
            else:
                self._samples.append((phase, (time.perf_counter() - started) * 1000))
        time.sleep(0.02)

    def latencies(self, phase: str) -> list[float]:
        """Milliseconds of the successful calls made during ``phase``."""
        return [ms for p, ms in self._samples if p == phase]

    def all_latencies(self) -> list[float]:
        return [ms for _, ms in self._samples]


class ActionFeeder(_Loop):
    """Receipts posted to the real edge's local API at ``rate`` per second (as a kiosk
    would), each with an LP number of its own; the ids the edge answered are kept."""

    def __init__(
        self,
        edge_url: str,
        headers: dict[str, str],
        site: str,
        item: str,
        location: str,
        qty: str,
        rate: float,
    ) -> None:
        super().__init__("action-feeder")
        self.ids: list[str] = []
        self.errors: list[str] = []
        self.slowest_ms = 0.0
        self.interval = 1.0 / rate
        self.item, self.location, self.qty = item, location, qty
        self._prefix = uuid.uuid4().hex[:6].upper()
        self._http = httpx.Client(base_url=edge_url, timeout=10, headers=headers)

    def step(self) -> None:
        body = {
            "item": self.item,
            "qty": self.qty,
            "uom": "kg",
            "location": self.location,
            "lp": f"F{self._prefix}{len(self.ids) + len(self.errors):06d}",
        }
        action = {"type": "lp.receive", "station": "station-1", "operator": "op-1", "body": body}
        started = time.perf_counter()
        try:
            response = self._http.post("/api/v1/actions", json=action)
        except httpx.HTTPError as err:
            self.errors.append(f"{type(err).__name__}: {err}")
        else:
            if response.status_code == 201:
                self.ids.append(response.json()["id"])
            else:
                self.errors.append(f"HTTP {response.status_code} {response.text[:200]}")
        elapsed = time.perf_counter() - started
        self.slowest_ms = max(self.slowest_ms, elapsed * 1000)
        time.sleep(max(0.0, self.interval - elapsed))
