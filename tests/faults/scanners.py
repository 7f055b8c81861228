"""Operators scanning at each edge while the faults play, and what each scan was told.

A scan the edge answered 201 was acknowledged to the operator: it must reach central exactly
once. A scan answered with an error, or that never reached the edge (connection refused),
was refused: it must not exist at central. A scan whose answer was lost (the edge killed
mid-request) is unknown: it may exist at central, at most once. Scans made to conflict
(consuming what this operator already consumed whole, or a product not on the BOM) must be
conflicts at central, never applied.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from itertools import accumulate

import httpx

from tests.faults.site import EdgeNode

# Shares of the scans (the rest receive new LPs, so receipts still dominate).
MOVE_SHARE = 0.20  # move an LP this operator received before
CONSUME_SHARE = 0.12  # consume part of a received RAW-1 LP, or what is left of it, into the WO
OUTPUT_SHARE = 0.08  # report output on the WO as a new LP
CONFLICT_SHARE = 0.06  # a scan that must conflict (see Operator)
OTHER_PRODUCT_SHARE = 0.06  # receive RAW-2, which is on no BOM


@dataclass
class Scans:
    """What one operator at one edge was told."""

    acked: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (type, LP)
    refused_lps: set[str] = field(default_factory=set)  # LPs made by refused scans
    refused: int = 0
    unknown: list[tuple[str, str]] = field(default_factory=list)  # (type, LP)
    statuses: dict[int, int] = field(default_factory=dict)  # refusals by HTTP status
    must_conflict: set[str] = field(default_factory=set)  # acked ids central must refuse
    work_order: str | None = None  # the work order this operator consumes into and reports on


class Operator(threading.Thread):
    """Scans receipts of new LPs, moves of earlier ones, consumption of them into the
    operator's work order and output on it, until told to stop; and now and then a scan that
    central must turn into a conflict: consuming an LP this operator already consumed whole
    (acknowledged), or consuming a RAW-2 LP (not on the work order's BOM)."""

    def __init__(
        self, edge: EdgeNode, *, seed: int, prefix: str, work_order: str | None = None
    ) -> None:
        super().__init__(daemon=True, name=f"operator-{edge.edge_id}")
        self.edge = edge
        self.rng = random.Random(seed)
        self.prefix = prefix
        self.scans = Scans(work_order=work_order)
        self.halt = threading.Event()
        self._received: list[str] = []  # LPs to move (in stock, as far as this operator knows)
        self._left: dict[str, int] = {}  # RAW-1 LPs to consume from: kg left in each
        self._used_up: list[str] = []  # LPs consumed whole, acknowledged
        self._other: list[str] = []  # RAW-2 LPs received, acknowledged

    def run(self) -> None:
        with httpx.Client(timeout=15) as http:
            n = 0
            while not self.halt.is_set():
                n += 1
                self._scan_one(http, n)
                self.halt.wait(self.rng.uniform(0.02, 0.08))

    def _scan_one(self, http: httpx.Client, n: int) -> None:
        """One scan, by share; a share with nothing to scan yet receives a RAW-1 LP instead."""
        r = self.rng.random()
        wo = self.scans.work_order
        bands = (MOVE_SHARE, CONSUME_SHARE, OUTPUT_SHARE, CONFLICT_SHARE, OTHER_PRODUCT_SHARE)
        band = next((i for i, edge in enumerate(accumulate(bands)) if r < edge), len(bands))
        if band == 0 and self._received:
            lp = self.rng.choice(self._received)
            to = self.rng.choice(("A-01", "A-02"))
            self._scan(http, "lp.move", lp, {"lp": lp, "to_location": to})
        elif band == 1 and wo is not None and self._left:
            self._consume(http, wo)
        elif band == 2 and wo is not None:
            lp = f"{self.prefix}O{n:05d}"
            body = {"work_order": wo, "qty": "1", "location": "A-01", "lp": lp}
            self._scan(http, "wo.output", lp, body)
        elif band == 3 and wo is not None and (self._used_up or self._other):
            lp = self.rng.choice(self._used_up + self._other)
            self._scan(http, "lp.consume", lp, {"lp": lp, "work_order": wo}, conflict=True)
        else:
            self._receive(http, n, "RAW-2" if band == 4 else "RAW-1")

    def _receive(self, http: httpx.Client, n: int, item: str) -> None:
        lp = f"{self.prefix}{n:05d}"
        body = {"item": item, "qty": "5", "uom": "kg", "location": "RECV", "lp": lp}
        if self._scan(http, "lp.receive", lp, body) == "acked":
            self._received.append(lp)
            if item == "RAW-1":
                self._left[lp] = 5
            else:
                self._other.append(lp)

    def _consume(self, http: httpx.Client, wo: str) -> None:
        """Part of an LP (1 or 2 kg) or what is left of it (whole: no qty)."""
        lp = self.rng.choice(sorted(self._left))
        left = self._left[lp]
        qty = self.rng.choice((1, 2, left))
        body = {"lp": lp, "work_order": wo} | ({} if qty >= left else {"qty": str(qty)})
        told = self._scan(http, "lp.consume", lp, body)
        if told == "refused":
            return  # not at central: the LP holds what it held
        if told == "unknown" or qty >= left:  # unknown: what it holds is not known any more
            del self._left[lp]
            self._received.remove(lp)
            if told == "acked":
                self._used_up.append(lp)
            return
        self._left[lp] = left - qty

    def _scan(
        self,
        http: httpx.Client,
        type: str,
        lp: str,
        body: dict[str, str],
        *,
        conflict: bool = False,
    ) -> str:
        """Post one scan to the edge: "acked", "refused" or "unknown" (answer lost)."""
        action = {"type": type, "station": "station-1", "operator": "op-1", "body": body}
        scans = self.scans
        makes_lp = type in ("lp.receive", "wo.output")
        try:
            response = http.post(f"{self.edge.url}/api/v1/actions", json=action)
        except httpx.ConnectError:
            scans.refused += 1  # the request never reached the edge
            if makes_lp:
                scans.refused_lps.add(lp)
            return "refused"
        except httpx.HTTPError:
            scans.unknown.append((type, lp))
            return "unknown"
        if response.status_code == 201:
            action_id = response.json()["id"]
            scans.acked[action_id] = (type, lp)
            if conflict:
                scans.must_conflict.add(action_id)
            return "acked"
        scans.refused += 1
        scans.statuses[response.status_code] = scans.statuses.get(response.status_code, 0) + 1
        if makes_lp:
            scans.refused_lps.add(lp)
        return "refused"
