"""bench/sse_fanout.py at smoke size, as a subprocess from the repository root: its
self-check passes and its figures are printed; when its clients receive nothing it fails
loudly, printing no figure."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed


def test_sse_fanout_delivers_every_event_once_to_every_client(
    database_url: str, tmp_path: Path
) -> None:
    out = passed(bench("sse_fanout.py", "--smoke", "--db", database_url, tmp_path=tmp_path))
    assert "5 clients each received all 100 events once, in commit order, ids gapless" in out
    assert re.search(rf"delivered\s+{FIGURE} events/s to clients", out), out
    assert re.search(rf"p50\s+{FIGURE} ms\s+p99\s+{FIGURE} ms", out), out


def test_sse_fanout_fails_when_its_clients_receive_nothing(tmp_path: Path) -> None:
    args = ("--smoke", "--stream-types", "wo.started", "--timeout", "3")
    err = failed(bench("sse_fanout.py", *args, tmp_path=tmp_path))
    assert "client 0 received 0 of 100 events" in err, err
