"""bench/ref_latency.py at smoke size, as a subprocess from the repository root: its
self-check passes and its figures are printed; when the edges cannot verify the deltas (they
trust another key) it fails loudly, printing no figure."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed


def test_every_change_reaches_every_edge(tmp_path: Path) -> None:
    out = passed(bench("ref_latency.py", "--smoke", "--broker", "embedded", tmp_path=tmp_path))
    assert "40 changes each applied by all 20 edges' caches with the committed data" in out
    assert re.search(rf"each edge: p50 {FIGURE} ms, p99 {FIGURE} ms", out), out


def test_deltas_the_edges_cannot_verify_fail_the_run(tmp_path: Path) -> None:
    args = ("--smoke", "--broker", "embedded", "--wrong-key")
    err = failed(bench("ref_latency.py", *args, tmp_path=tmp_path))
    assert "edge 0 refused" in err, err
