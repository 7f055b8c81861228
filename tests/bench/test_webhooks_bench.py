"""bench/webhooks.py at smoke size, as a subprocess from the repository root: its self-check
passes and its figures are printed; when the receiver cannot verify what it is sent, it fails
loudly, printing no figure."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed


def test_webhooks_deliver_every_event_once(database_url: str, tmp_path: Path) -> None:
    out = passed(bench("webhooks.py", "--smoke", "--db", database_url, tmp_path=tmp_path))
    assert (
        "200 events delivered once each by webhook-id, every signature verified, "
        "200 deliveries recorded delivered"
    ) in out
    assert re.search(rf"throughput\s+{FIGURE} events/s", out), out
    assert re.search(rf"commit->receipt\s+p50 {FIGURE} ms, p99 {FIGURE} ms", out), out


def test_webhooks_fail_when_the_receiver_cannot_verify(tmp_path: Path) -> None:
    err = failed(bench("webhooks.py", "--smoke", "--wrong-secret", tmp_path=tmp_path))
    assert "request(s) did not verify" in err, err
