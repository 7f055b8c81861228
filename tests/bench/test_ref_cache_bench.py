"""bench/ref_cache.py at smoke size, as a subprocess from the repository root: its self-check
passes and its figures are printed; with deltas signed by another key it fails loudly."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed


def test_ref_cache_bench_swaps_applies_and_looks_up(tmp_path: Path) -> None:
    out = passed(bench("ref_cache.py", "--smoke", tmp_path=tmp_path))
    assert "snapshot of 2,000 LPs swapped in, 500 deltas applied in order" in out, out
    assert "its 2 pending actions behind a backlog of 1,000" in out, out
    assert re.search(rf"swapped in in {FIGURE}s = {FIGURE} LPs/s", out), out
    assert re.search(rf"500 signed deltas in {FIGURE}s = {FIGURE} deltas/s", out), out
    assert re.search(rf"lookup, 1,000 queued : median {FIGURE} ms, p99 {FIGURE} ms", out), out


def test_ref_cache_bench_fails_when_its_deltas_are_not_central_s(tmp_path: Path) -> None:
    err = failed(bench("ref_cache.py", "--smoke", "--forge", tmp_path=tmp_path))
    assert "0 of 500 deltas applied, 500 refused" in err, err
