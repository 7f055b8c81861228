"""bench/kiosk_latency.py at smoke size, as a subprocess from the repository root: a real
broker, central and edge, the real kiosk headless; its self-check passes and its figures are
printed."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, passed


def test_every_scan_is_shown_and_every_move_applied(tmp_path: Path) -> None:
    out = passed(bench("kiosk_latency.py", "--smoke", tmp_path=tmp_path))
    assert "20 scans' feedback shown, 10 moves APPLIED in the kiosk and at central" in out
    row = rf"\| {FIGURE} \| {FIGURE} \| {FIGURE} \| {FIGURE} \|"
    assert re.search(rf"\| scan -> screen \(20 scans\) {row}", out), out
    assert re.search(rf"\| location scan -> APPLIED in the log \(10 moves\) {row}", out), out
    assert re.search(r"goal p99 scan -> screen < 100 ms: (met|NOT met)", out), out
