"""bench/kiosk_latency.py at smoke size, as a subprocess from the repository root: a real
broker, central and edge, the real kiosk headless; its self-check passes and its figures are
printed on both tiers; when its moves conflict at central it fails loudly, printing no
figure."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed, replay_tier

__all__ = ["replay_tier"]  # the tiers of the other process benches: (--broker, --db)


def test_every_scan_is_shown_and_every_move_applied(
    replay_tier: tuple[str, str], tmp_path: Path
) -> None:
    broker, db = replay_tier
    args = ("--smoke", "--broker", broker, "--db", db)
    out = passed(bench("kiosk_latency.py", *args, tmp_path=tmp_path))
    assert "20 scans' feedback shown, 10 moves APPLIED in the kiosk and at central" in out
    row = rf"\| {FIGURE} \| {FIGURE} \| {FIGURE} \| {FIGURE} \|"
    assert re.search(rf"\| scan -> screen \(20 scans\) {row}", out), out
    assert re.search(rf"\| location scan -> APPLIED in the log \(10 moves\) {row}", out), out
    assert re.search(r"goal p99 scan -> screen < 100 ms: (met|NOT met)", out), out


def test_moves_central_cannot_apply_fail_the_run(tmp_path: Path) -> None:
    args = ("--smoke", "--locations", "Z-98,Z-99")
    err = failed(bench("kiosk_latency.py", *args, tmp_path=tmp_path))
    assert "conflicted" in err or "refused" in err, err
