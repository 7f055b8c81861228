"""Seeds for the fault suite, one site per tier shared by its runs, and the summary table."""

from __future__ import annotations

import pytest

# The in-process central of tests/central, for the test of the suite's own checks.
from tests.central.conftest import _apps, central, seeded  # noqa: F401
from tests.faults.regressions import REGRESSION_SEEDS
from tests.faults.report import NOTES, RESULTS, run_line, table


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """``fault_seed``: --fault-seed if given, else the tier's regression seeds and --runs more."""
    if "fault_seed" not in metafunc.fixturenames:
        return
    config = metafunc.config
    tier = metafunc.module.TIER
    seeds = list(config.getoption("--fault-seed"))
    if not seeds:
        first = config.getoption("--first-seed")
        seeds = REGRESSION_SEEDS[tier] + [
            s for s in range(first, first + config.getoption("--runs"))
            if s not in REGRESSION_SEEDS[tier]
        ]  # fmt: skip
    metafunc.parametrize("fault_seed", seeds, ids=[f"seed-{s}" for s in seeds])


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not RESULTS:
        return
    terminalreporter.write_sep("=", "fault injection")
    for line in table([run_line(r) for r in RESULTS]).splitlines():
        terminalreporter.write_line(line)
    for note in sorted(NOTES):
        terminalreporter.write_line(note)
