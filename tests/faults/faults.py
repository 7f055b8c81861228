"""The faults, and a seeded schedule of them: what is broken, where, when and for how long.

Each fault is injected by ``apply`` and undone by ``heal``; a fault whose target is already
broken the same way (an edge that is already dead, a disk that is already full) is skipped
and not counted. The schedule is a pure function of the seed, so a failing run is replayed
with ``--fault-seed``.
"""

from __future__ import annotations

import random
import time
from collections import Counter
from dataclasses import dataclass

from tests.faults.site import FaultSite

EDGE_FAULTS = ("edge_kill", "link_drop", "link_stall", "link_delay", "link_cut", "disk_full",
               "clock_jump")  # fmt: skip
SITE_FAULTS = ("central_kill", "broker_kill", "broker_wipe", "db_down")
ALL_FAULTS = SITE_FAULTS + EDGE_FAULTS


@dataclass(frozen=True)
class Fault:
    kind: str
    target: int  # the edge's or the central replica's index; 0 for the broker and database
    at: float  # seconds into the run
    duration: float  # seconds until it is healed
    amount: float = 0.0  # seconds of delay, or of clock offset

    def apply(self, site: FaultSite) -> bool:
        """Inject the fault; False when its target is already in that state."""
        kind = self.kind
        if kind == "central_kill":
            return site.kill_central(site.centrals[self.target])
        if kind in ("broker_kill", "broker_wipe"):
            return site.broker.kill(wipe=kind == "broker_wipe")
        if kind == "db_down":
            if site.sqlite_lock is not None:
                return site.sqlite_lock.hold()
            assert site.db_link is not None
            if site.db_link.refusing:
                return False
            site.db_link.drop(refuse=True)
            return True
        edge = site.edges[self.target]
        if kind == "edge_kill":
            return site.kill_edge(edge)
        if kind == "link_drop":
            edge.link.drop(refuse=True)
            return True
        if kind == "link_stall":
            edge.link.stall()
            return True
        if kind == "link_delay":
            if edge.link.latency:
                return False
            edge.link.delay(self.amount)
            return True
        if kind == "link_cut":
            edge.link.arm_cut()
            return True
        if kind == "disk_full":
            return site.fill_disk(edge)
        if kind == "clock_jump":
            return site.set_clock(edge, int(self.amount))
        raise ValueError(kind)

    def heal(self, site: FaultSite) -> None:
        kind = self.kind
        if kind == "central_kill":
            site.restart_later(site.centrals[self.target])
        elif kind in ("broker_kill", "broker_wipe"):
            site.broker.start()
        elif kind == "db_down":
            if site.sqlite_lock is not None:
                site.sqlite_lock.let_go()
            else:
                assert site.db_link is not None
                site.db_link.accept_again()
        else:
            edge = site.edges[self.target]
            if kind == "edge_kill":
                site.restart_later(edge)
            elif kind == "link_drop":
                edge.link.accept_again()
            elif kind == "link_stall":
                edge.link.flow()
            elif kind == "link_delay":
                edge.link.delay(0)
            elif kind == "link_cut":
                edge.link.disarm_cut()
            elif kind == "disk_full":
                site.free_disk(edge)
            elif kind == "clock_jump":
                site.set_clock(edge, 0)


def schedule(
    seed: int, kinds: tuple[str, ...], *, edges: int, centrals: int, window: float
) -> list[Fault]:
    """Two to five faults at random moments of the run's scanning window."""
    rng = random.Random(seed)
    faults = []
    for _ in range(rng.randint(2, 5)):
        kind = rng.choice(kinds)
        if kind in EDGE_FAULTS:
            target = rng.randrange(edges)
        elif kind == "central_kill":
            target = rng.randrange(centrals)
        else:
            target = 0
        amount = 0.0
        if kind == "link_delay":
            amount = round(rng.uniform(0.05, 0.5), 2)
        elif kind == "clock_jump":
            amount = rng.choice((-1, 1)) * rng.randint(60, 2 * 86400)
        at = round(rng.uniform(0, window * 0.75), 2)
        faults.append(Fault(kind, target, at, round(rng.uniform(0.2, 2.0), 2), amount))
    return faults


class Injector:
    """Plays a schedule against a site in real time, and heals whatever is still broken."""

    def __init__(self, site: FaultSite) -> None:
        self.site = site
        self.active: list[Fault] = []
        self.injected: Counter[str] = Counter()

    def play(self, faults: list[Fault], window: float) -> None:
        events = sorted(
            [(f.at, 0, n, f) for n, f in enumerate(faults)]
            + [(f.at + f.duration, 1, n, f) for n, f in enumerate(faults)]
        )
        start = time.monotonic()
        for at, phase, _, fault in events:
            time.sleep(max(0.0, start + at - time.monotonic()))
            if phase == 0:
                if fault.apply(self.site):
                    self.active.append(fault)
                    self.injected[fault.kind] += 1
            elif fault in self.active:
                self.active.remove(fault)
                fault.heal(self.site)
        time.sleep(max(0.0, start + window - time.monotonic()))

    def heal_all(self) -> None:
        """Heal what is still broken, then wait until every restarted process is up."""
        while self.active:
            self.active.pop().heal(self.site)
        self.site.await_restarts()
