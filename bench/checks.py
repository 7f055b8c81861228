"""What every benchmark shares: it checks its own outcome before it prints a figure.

A benchmark is a test of a claim. Its set-up requests must succeed, its work must do what the
figure says it did (every action applied, every answer the expected one), and otherwise it
stops with a clear message on stderr and exit status 1, printing no figure.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

PASSED = "self-check passed"


class BenchFailure(Exception):
    """The benchmark's work did not do what its figures would claim."""


def check(condition: object, message: str) -> None:
    """Fail the benchmark with ``message`` unless ``condition`` holds."""
    if not condition:
        raise BenchFailure(message)


def expect(response: Any, status: int, doing: str) -> Any:
    """The JSON body of an HTTP response that must have ``status``; any other status fails."""
    if response.status_code != status:
        raise BenchFailure(
            f"{doing}: HTTP {response.status_code} (expected {status}): {response.text[:500]}"
        )
    return response.json() if response.content else None


def passed(summary: str) -> None:
    """Say the self-check passed (what the CI smoke runs look for), before the figures."""
    print(f"{PASSED}: {summary}", flush=True)


def run_main(main: Callable[[], None]) -> None:
    """Run a benchmark's main; a failed self-check exits 1 with its message on stderr."""
    try:
        main()
    except BenchFailure as err:
        print(f"BENCHMARK FAILED: {err}", file=sys.stderr, flush=True)
        sys.exit(1)
