"""One seeded run: a released work order per edge, operators scan at every edge (into it too)
while a schedule of faults plays; then every fault is healed, the queues must drain, and the
invariants are checked at central."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime

from harness import wait_until
from tests.faults.faults import ALL_FAULTS, Injector, schedule
from tests.faults.invariants import FINDING_LISTS, Findings, acked_at_central, check_run
from tests.faults.scanners import Operator
from tests.faults.site import FaultSite, ProcessDown

DRAIN_TIMEOUT = 120.0


@dataclass
class RunResult:
    tier: str
    seed: int
    faults: Counter[str] = field(default_factory=Counter)
    acked: int = 0
    acked_by_type: Counter[str] = field(default_factory=Counter)
    made_to_conflict: int = 0  # acked scans that central must turn into conflicts
    refused: int = 0
    unknown: int = 0
    exit_4_restarts: int = 0  # central started again after exiting 4 (its database down)
    drain_seconds: float | None = None
    findings: Findings | None = None
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.findings is not None and self.findings.ok

    def problems(self) -> str:
        """What went wrong, for the assertion message."""
        lines = [] if self.error is None else [self.error]
        f = self.findings
        if f is not None:
            for name in FINDING_LISTS:
                items = getattr(f, name)
                if items:
                    lines.append(f"{name} ({len(items)}): {items[:5]}")
        return "\n".join(lines)


def available_faults(site: FaultSite) -> tuple[str, ...]:
    """Every fault this machine can inject at this site."""
    skip = set()
    if site.capabilities.disk is not None:
        skip.add("disk_full")
    if site.capabilities.clock is not None:
        skip.add("clock_jump")
    return tuple(kind for kind in ALL_FAULTS if kind not in skip)


def run_once(site: FaultSite, tier: str, seed: int, *, window: float) -> RunResult:
    """Scan under a seeded fault schedule for ``window`` seconds; heal; drain; check."""
    result = RunResult(tier, seed)
    faults = schedule(
        seed,
        available_faults(site),
        edges=len(site.edges),
        centrals=len(site.centrals),
        window=window,
    )
    try:
        work_orders = site.release_work_orders(f"{tier[0].upper()}{seed}")
    except Exception as exc:  # the site could not take a run: reported with the seed
        result.error = f"{type(exc).__name__}: {exc}"
        return result
    since = datetime.now(UTC)  # central runs on this machine's clock
    cuts_before = sum(edge.link.cuts_done for edge in site.edges)
    restarts_before = site.supervisor_restarts
    operators = [
        Operator(
            edge, seed=seed * 100 + n, prefix=f"F{tier[0]}{seed}E{n}-", work_order=work_orders[n]
        )
        for n, edge in enumerate(site.edges)
    ]
    for operator in operators:
        operator.start()
    injector = Injector(site)
    try:
        try:
            injector.play(faults, window)
        finally:
            for operator in operators:
                operator.halt.set()
            for operator in operators:
                operator.join(30)
            injector.heal_all()
        dead = site.dead()
        if dead:
            raise ProcessDown("ended without being killed: " + "; ".join(dead))
        scans = [operator.scans for operator in operators]
        ids = [action_id for s in scans for action_id in s.acked]
        result.acked = len(ids)
        result.acked_by_type = Counter(type for s in scans for type, _ in s.acked.values())
        result.made_to_conflict = sum(len(s.must_conflict) for s in scans)
        result.refused = sum(s.refused for s in scans)
        result.unknown = sum(len(s.unknown) for s in scans)
        started = time.monotonic()
        missing: list[str] = ids

        def drained() -> bool:
            nonlocal missing
            if any(site.queue(edge)["depth"] for edge in site.edges):
                return False
            found = acked_at_central(site.db_url, missing)
            missing = [i for i in missing if i not in found]
            return not missing

        try:
            wait_until(drained, DRAIN_TIMEOUT, interval=0.2, what="the edges' queues to drain")
        except TimeoutError:
            depths = {edge.edge_id: site.queue(edge) for edge in site.edges}
            raise TimeoutError(
                f"not drained after {DRAIN_TIMEOUT}s: {len(missing)} acked actions missing "
                f"at central; queues {depths}"
            ) from None
        result.drain_seconds = time.monotonic() - started
        result.findings = check_run(site.db_url, scans, since)
    except Exception as exc:  # any failure of the run is a finding, reported with the seed
        result.error = f"{type(exc).__name__}: {exc}"
    result.faults = injector.injected
    result.exit_4_restarts = site.supervisor_restarts - restarts_before
    cut = sum(edge.link.cuts_done for edge in site.edges) - cuts_before
    result.faults["link_cut"] = cut  # armed cuts that found a message to cut
    if not cut:
        del result.faults["link_cut"]
    return result
