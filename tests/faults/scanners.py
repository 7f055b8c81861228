"""Operators scanning at each edge while the faults play, and what each scan was told.

A scan the edge answered 201 was acknowledged to the operator: it must reach central exactly
once. A scan answered with an error, or that never reached the edge (connection refused),
was refused: it must not exist at central. A scan whose answer was lost (the edge killed
mid-request) is unknown: it may exist at central, at most once.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field

import httpx

from tests.faults.site import EdgeNode

MOVE_SHARE = 0.25  # of scans that move an LP this operator received before


@dataclass
class Scans:
    """What one operator at one edge was told."""

    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (type, LP)
    refused_lps: set[str] = field(default_factory=set)  # receipts refused: LP numbers
    refused: int = 0
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (type, LP)
    statuses: dict[int, int] = field(default_factory=dict)  # refusals by HTTP status


class Operator(threading.Thread):
    """Scans receipts of new LPs and moves of earlier ones until told to stop."""

    def __init__(self, edge: EdgeNode, *, seed: int, prefix: str) -> None:
        super().__init__(daemon=True, name=f"operator-{edge.edge_id}")
        self.edge = edge
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.scans = Scans()
        self.halt = threading.Event()
        self._received: list[str] = []

    def run(self) -> None:
        with httpx.Client(timeout=15) as http:
            n = 0
            while not self.halt.is_set():
                n += 1
                if self._received and self.rng.random() < MOVE_SHARE:
                    lp = self.rng.choice(self._received)
                    to = self.rng.choice(("A-01", "A-02"))
                    self._scan(http, "lp.move", lp, {"lp": lp, "to_location": to})
                else:
                    lp = f"{self.prefix}{n:05d}"
                    body = {"item": "RAW-1", "qty": "5", "uom": "kg", "location": "RECV", "lp": lp}
                    self._scan(http, "lp.receive", lp, body)
                self.halt.wait(self.rng.uniform(0.02, 0.08))

    def _scan(self, http: httpx.Client, type: str, lp: str, body: dict[str, str]) -> None:
        action = {"type": type, "station": "station-1", "operator": "op-1", "body": body}
        scans = self.scans
        try:
            response = http.post(f"{self.edge.url}/api/v1/actions", json=action)
        except httpx.ConnectError:
            scans.refused += 1  # the request never reached the edge
            if type == "lp.receive":
                scans.refused_lps.add(lp)
            return
        except httpx.HTTPError:
            scans.unknown.append((type, lp))
            return
        if response.status_code == 201:
            scans.acked[response.json()["id"]] = (type, lp)
            if type == "lp.receive":
                self._received.append(lp)
            return
        scans.refused += 1
        scans.statuses[response.status_code] = scans.statuses.get(response.status_code, 0) + 1
        if type == "lp.receive":
            scans.refused_lps.add(lp)
