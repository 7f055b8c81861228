"""What each tier's test does with a seed: run it on the tier's site, record it, judge it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.faults.report import NOTES, RESULTS, append_jsonl
from tests.faults.runs import run_once
from tests.faults.site import FaultSite


class SiteHolder:
    """The tier's site, built on first use and built anew (on a new database) after a failed
    run, so one broken run does not take the next ones down with it."""

    def __init__(self, workdir: Path, make_db_url: Callable[[Path], str], replicas: int) -> None:
        self.workdir = workdir
        self.make_db_url = make_db_url
        self.replicas = replicas
        self.site: FaultSite | None = None
        self.builds = 0

    def get(self) -> FaultSite:
        if self.site is None:
            self.builds += 1
            work = self.workdir / f"site-{self.builds}"
            work.mkdir()
            self.site = FaultSite(work, db_url=self.make_db_url(work), replicas=self.replicas)
            try:
                self.site.start()
            except BaseException:
                self.discard()
                raise
            if self.site.capabilities.disk:
                NOTES.add(f"disk_full not injected: {self.site.capabilities.disk}")
            if self.site.capabilities.clock:
                NOTES.add(f"clock_jump not injected: {self.site.capabilities.clock}")
        return self.site

    def discard(self) -> None:
        if self.site is not None:
            self.site.close()
            self.site = None


def play_seed(holder: SiteHolder, tier: str, seed: int, config: pytest.Config) -> None:
    """One seeded run; fails with what broke and the site's logs."""
    site = holder.get()
    result = run_once(site, tier, seed, window=config.getoption("--fault-window"))
    RESULTS.append(result)
    log = config.getoption("--fault-log")
    if log:
        append_jsonl(Path(log), result)
    if not result.ok:
        logs = site.logs()
        holder.discard()
        pytest.fail(
            f"seed {seed} on {tier} broke an invariant "
            f"(replay: pytest tests/faults --fault-seed {seed}; site files in {site.workdir}):\n"
            f"{result.problems()}\n{logs}",
            pytrace=False,
        )
