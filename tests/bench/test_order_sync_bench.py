"""bench/order_sync.py at smoke size, as a subprocess from the repository root: its
self-check passes and its figures are printed; when its orders cannot be taken in it fails
loudly, printing no figure."""

import re
from pathlib import Path

from tests.bench.test_smoke import FIGURE, bench, failed, passed


def test_order_sync_creates_once_and_rewrites_nothing(database_url: str, tmp_path: Path) -> None:
    out = passed(bench("order_sync.py", "--smoke", "--db", database_url, tmp_path=tmp_path))
    assert (
        "50 orders and 100 POs created once each by the first sync, all unchanged and nothing "
        "rewritten by the re-sync, 1 round(s)"
    ) in out
    assert "order sync of 50 orders x 2 POs in 1 pages of 100 over HTTP" in out
    for name in ("first sync", "no-change re-sync"):
        assert re.search(rf"{name}\s+median {FIGURE} s, best {FIGURE} s", out), out


def test_order_sync_fails_when_its_orders_are_not_taken_in(tmp_path: Path) -> None:
    err = failed(bench("order_sync.py", "--smoke", "--product-site", "plant-2", tmp_path=tmp_path))
    assert "the first sync reported 50 error(s)" in err and "UNKNOWN_PRODUCT" in err, err
