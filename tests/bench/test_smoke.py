"""Every benchmark at smoke size, as a subprocess from the repository root: its self-check must
pass and its figures must be printed; and a benchmark whose work goes wrong must fail loudly.

A benchmark that silently measures the wrong thing (every action a conflict, say) reports a
figure all the same; these runs keep a broken benchmark from passing the build.
"""

import os
import re
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from types import SimpleNamespace

import pytest

from bench import plant_scale
from bench.checks import PASSED, BenchFailure
from bench.plant_history import History, Sizes
from bench.plant_orders import OrderBook
from harness import REPO
from tests.conftest import MQTT_URL, PG_URL, _fresh_pg_database

FIGURE = r"[\d,]+(?:\.\d+)?"


def bench(script: str, *args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python bench/<script> args`` from the repository root, temporary files in
    ``tmp_path``."""
    return subprocess.run(
        [sys.executable, f"bench/{script}", *args],
        cwd=REPO,
        env={**os.environ, "TMPDIR": str(tmp_path), "PYTHONUNBUFFERED": "1"},
        capture_output=True,
        text=True,
        timeout=240,
    )


def passed(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a run that exited 0 with its self-check passed, before any figure."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert result.stdout.startswith(f"{PASSED}: "), result.stdout
    return result.stdout


def failed(result: subprocess.CompletedProcess[str]) -> str:
    """The stderr of a run whose self-check failed: exit 1, a message, no figure."""
    assert result.returncode == 1, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert PASSED not in result.stdout and "actions/s" not in result.stdout, result.stdout
    assert "BENCHMARK FAILED: " in result.stderr, result.stderr
    return result.stderr


@pytest.fixture(params=["embedded+sqlite", "mosquitto+postgresql"])
def replay_tier(
    request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]
) -> tuple[str, str]:
    """(--broker, --db) for bench/replay.py. The Mosquitto is the run's own (`--broker
    mosquitto`): on a shared broker other centrals' shared subscriptions would take some of
    the batches."""
    if request.param == "embedded+sqlite":
        return "embedded", f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    if not (MQTT_URL and PG_URL):
        pytest.skip("Mosquitto+PostgreSQL tier: IOE_TEST_MQTT_URL or IOE_TEST_DATABASE_URL unset")
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("Mosquitto+PostgreSQL tier: mosquitto binary not installed")
    return "mosquitto", _fresh_pg_database(_pg_databases)


def test_replay_drains_every_action_applied(replay_tier: tuple[str, str], tmp_path: Path) -> None:
    broker, db = replay_tier
    out = passed(bench("replay.py", "--smoke", "--broker", broker, "--db", db, tmp_path=tmp_path))
    assert "2,000 of 2,000 actions acked applied" in out
    assert "central holds 2,000 LPs and 2,000 ledger rows, consistent, 10,000 kg on hand" in out
    assert re.search(rf"queued 2000 actions offline at {FIGURE}/s", out), out
    assert re.search(rf"drain: 2000 actions in {FIGURE}s = {FIGURE} actions/s", out), out
    assert re.search(rf"ceiling through the same broker: {FIGURE} msgs/s", out), out
    assert re.search(rf"ratio actions/s : ceiling msgs/s = {FIGURE}", out), out


def test_replay_fails_when_its_actions_do_not_apply(tmp_path: Path) -> None:
    """The product at another site: every action a PRODUCT_NOT_FOUND conflict, as every
    replay was before this check, must fail the run instead of printing a drain rate."""
    args = ("--actions", "200", "--ceiling-messages", "100", "--product-site", "plant-2")
    err = failed(bench("replay.py", *args, tmp_path=tmp_path))
    assert "'applied': 0" in err and "'conflict': 200" in err, err
    assert "PRODUCT_NOT_FOUND" in err, err


def test_replay_with_a_low_stock_threshold_checks_it_followed_the_stock(tmp_path: Path) -> None:
    """A threshold set on empty stock alerts at once; the drain's first batch re-arms it."""
    args = ("--actions", "400", "--ceiling-messages", "100", "--low-stock", "1")
    out = passed(bench("replay.py", *args, tmp_path=tmp_path))
    assert "400 of 400 actions acked applied" in out, out
    assert "low-stock threshold 1 kg re-armed" in out, out


def test_conflict_storm_drains_each_replay_as_expected(
    replay_tier: tuple[str, str], tmp_path: Path
) -> None:
    broker, db = replay_tier
    args = ("--smoke", "--broker", broker, "--db", db)
    out = passed(bench("conflict_storm.py", *args, tmp_path=tmp_path))
    assert (
        "3 replays of 1,000 actions: 1,000 applied; 1,000 conflict LP_ALREADY_EXISTS; 500 "
        "applied and 500 conflict; the conflict inbox holds exactly those 1,500 under the ids "
        "the edges were told, with their envelopes; central holds 3,000 LPs and 3,000 ledger "
        "rows (1,500 seeded), consistent"
    ) in out
    for mix in ("all applied", "all conflict", "half conflict"):
        assert re.search(rf"{mix}\s+drain: 1000 actions in {FIGURE}s = {FIGURE} actions/s", out)
    for mix in ("all conflict", "half conflict"):
        assert re.search(rf"drain time, {mix} / all applied: {FIGURE}x", out), out


def test_conflict_storm_fails_when_its_conflicts_apply(tmp_path: Path) -> None:
    args = ("--actions", "200", "--skip-seed")
    err = failed(bench("conflict_storm.py", *args, tmp_path=tmp_path))
    assert "conflict: action" in err and "should be conflict LP_ALREADY_EXISTS" in err, err
    assert "got state applied" in err, err


def test_batch_costs_applies_and_conflicts_as_expected(database_url: str, tmp_path: Path) -> None:
    """All applied, all conflict and half conflict, 3 batches of 200 each, measured in turn."""
    out = passed(bench("batch_costs.py", "--smoke", "--db", database_url, tmp_path=tmp_path))
    assert (
        "900 of 1,800 acks applied and 900 conflict LP_ALREADY_EXISTS, each as expected; the "
        "conflict inbox holds exactly those 900 with their envelopes; central holds 1,800 LPs "
        "and 1,800 ledger rows (900 seeded), consistent"
    ) in out
    for mix in ("all applied ({'applied': 600})", "all conflict ({'conflict': 600})"):
        assert mix in out, out
    assert "half conflict ({'applied': 300, 'conflict': 300})" in out, out
    central = rf"central process_message\s+median\s+{FIGURE} ms\s+\({FIGURE} act"
    assert len(re.findall(central, out)) == 3, out
    assert len(re.findall(rf"sum of the steps\s+median\s+{FIGURE} ms", out)) == 3, out
    for mix in ("all conflict", "half conflict"):
        assert re.search(rf"central per batch, {mix} / all applied: {FIGURE}x", out), out


def test_batch_costs_fails_when_its_actions_do_not_apply(tmp_path: Path) -> None:
    err = failed(bench("batch_costs.py", "--smoke", "--product-site", "plant-2", tmp_path=tmp_path))
    assert "every ack should say applied" in err and "PRODUCT_NOT_FOUND" in err, err


def test_batch_costs_fails_when_its_conflicts_apply(tmp_path: Path) -> None:
    """Without the LPs they collide with, the conflict batches apply: the run must fail."""
    args = ("--smoke", "--mix", "conflict", "--skip-seed")
    err = failed(bench("batch_costs.py", *args, tmp_path=tmp_path))
    assert "every ack should say conflict LP_ALREADY_EXISTS" in err, err
    assert "'result': 'applied'" in err, err


def test_queue_enqueue_queues_every_action(tmp_path: Path) -> None:
    out = passed(bench("queue_enqueue.py", "--smoke", tmp_path=tmp_path))
    assert "100 and 1,000 actions queued, seqs gap-free" in out
    assert re.search(rf"one at a time :\s+{FIGURE} actions/s\s+\(100 actions, 100 trans", out)
    assert re.search(rf"concurrent    :\s+{FIGURE} actions/s\s+\(1,000 actions", out), out


def test_scan_latency_queues_every_scan(tmp_path: Path) -> None:
    out = passed(bench("scan_latency.py", "--smoke", tmp_path=tmp_path))
    assert "1 station and 8 stations, 48 LP scans each through real serial drivers" in out, out
    assert "every scan queued exactly one lp.move of its LP, in scan order per station" in out
    figures = rf"\s+{FIGURE}\s+{FIGURE}\s+{FIGURE}\n"
    for when in ("before", "after"):
        assert re.search(rf"raw commit, back to back, {when}\s+200{figures}", out), out
        assert re.search(rf"raw commit, paced 20-50 ms, {when}\s+48{figures}", out), out
    for stations in ("1 station", "8 stations"):
        assert re.search(rf"scan to durable, {stations}\s+48{figures}", out), out
        assert f"where the time goes, {stations} (p50 / p99 ms):" in out, out
    gaps = rf"1 station [+-]{FIGURE} ms, 8 stations [+-]{FIGURE} ms\n"
    for baseline in ("back to back", "paced"):
        assert re.search(rf"p99\(scan\) - p99\(raw commit, {baseline}\): {gaps}", out), out
    verdict = (
        r"goal, p99 within 2 ms of the raw commit's: back to back: (NOT )?met; paced: (NOT )?met"
    )
    assert re.search(verdict, out), out


def test_scan_latency_fails_when_its_scans_make_no_action(tmp_path: Path) -> None:
    """An idle timeout shorter than the pause between scans drops the put-away before every
    LP: each scan only collects its LP, none is queued, and the run must fail."""
    err = failed(bench("scan_latency.py", "--smoke", "--idle-timeout", "0.01", tmp_path=tmp_path))
    assert "every LP scan should queue one lp.move: 48 of 48 did not" in err, err
    assert "no scan for 0.01 s" in err, err


def test_plant_scale_answers_every_query(database_url: str, tmp_path: Path) -> None:
    args = ["--smoke"] if database_url.startswith("sqlite") else ["--smoke", "--db", database_url]
    out = passed(bench("plant_scale.py", *args, "--no-http", tmp_path=tmp_path))
    # 5,000 ledger rows of the history and a SHIP row for each of the 14 LPs shipped
    assert "the consistency check answered ok 3 times on 1,000 LPs and 5,014 ledger rows" in out
    for query in (
        "LP lookup",
        "available, by product",
        "genealogy down, 10 levels",
        "control tower",
        "control tower topology",
    ):
        assert re.search(rf"{query}\s+10\s+{FIGURE}\s+{FIGURE}\s+{FIGURE}", out), out
    assert not list(tmp_path.glob("ioe-plant-*")), "the smoke run's temporary database stays"


def test_plant_history_and_answers_are_checked() -> None:
    """A history short of an LP's ledger, or an answer off by a unit, fails the benchmark."""
    history = History(Sizes.at(0.005), seed=7)
    history.verify()
    history.lps[0].qty += 1
    with pytest.raises(BenchFailure, match="1 generated LPs disagree with their ledger"):
        history.verify()
    rows = [SimpleNamespace(on_hand=Decimal(3)), SimpleNamespace(on_hand=Decimal(4))]
    assert plant_scale.Bench._sum_ok(rows, Decimal(7), "product") == 2
    with pytest.raises(BenchFailure, match="do not sum to 8"):
        plant_scale.Bench._sum_ok(rows, Decimal(8), "product")


def test_the_order_side_and_the_control_tower_answers_are_checked() -> None:
    """A shipped LP left holding stock, or a control tower count off by one, fails it."""
    history = History(Sizes.at(0.005), seed=7)
    book = OrderBook(history, 0.005, seed=7)
    book.verify()
    bench = plant_scale.Bench(history, book, repeat=1, seed=7)
    want = bench.tower["plant-1"]
    bench.check_tower("plant-1", want)
    with pytest.raises(BenchFailure, match=r"control tower of plant-1: \['pick_tasks'\]"):
        bench.check_tower("plant-1", {**want, "pick_tasks": {"pending": 0, "overdue": 0}})
    lp = history.lps[book.rows["shipment_lps"][0]["lp_id"] - 1]
    lp.qty = 1
    with pytest.raises(BenchFailure, match="a loaded LP is not shipped"):
        book.verify()


@pytest.fixture(params=["sqlite", "postgresql"])
def flood_db(request: pytest.FixtureRequest, tmp_path: Path, _pg_databases: list[str]) -> str:
    """--db for bench/flood.py, which always floods a Mosquitto of its own."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("flood benchmark: mosquitto binary not installed")
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'central.db'}"
    if not PG_URL:
        pytest.skip("PostgreSQL tier: IOE_TEST_DATABASE_URL unset")
    return _fresh_pg_database(_pg_databases)


def test_flood_leaves_the_real_edge_and_rest_untouched(flood_db: str, tmp_path: Path) -> None:
    """1,000 junk messages a second under 1,000 made-up edge ids for 4 s: the real edge's
    actions all apply once, no REST call fails, central's memory stays put."""
    out = passed(bench("flood.py", "--smoke", "--db", flood_db, tmp_path=tmp_path))
    assert re.search(r"\d+ edge actions during the flood, all applied exactly once", out), out
    assert re.search(r"REST calls, none failed; central's RSS grew", out), out
    assert re.search(
        rf"flood: {FIGURE} junk messages under 1,000 made-up edge ids in {FIGURE}s = "
        rf"{FIGURE} msgs/s reached",
        out,
    ), out
    assert re.search(rf"central dropped: {FIGURE} rate-limited, {FIGURE} lane full", out), out
    assert re.search(rf"REST flood : p50 {FIGURE} ms  p99 {FIGURE} ms", out), out
    assert re.search(rf"central RSS: before {FIGURE} MB, peak {FIGURE} MB, after", out), out


def test_flood_fails_when_the_edge_actions_do_not_apply(tmp_path: Path) -> None:
    """The product at another site: every edge action a conflict must fail the run."""
    if not (shutil.which("mosquitto") or Path("/usr/sbin/mosquitto").exists()):
        pytest.skip("flood benchmark: mosquitto binary not installed")
    err = failed(bench("flood.py", "--smoke", "--product-site", "plant-2", tmp_path=tmp_path))
    assert "every edge action should be applied" in err and "'conflict'" in err, err


def test_outbox_cost_writes_events_with_and_none_without(database_url: str, tmp_path: Path) -> None:
    """The same replay with the outbox on and off, 2 rounds of 3 batches per mode."""
    out = passed(bench("outbox_cost.py", "--smoke", "--db", database_url, tmp_path=tmp_path))
    assert (
        "1,400 + 1,400 receipts applied, LPs and ledger rows consistent; 1,400 lp.created "
        "events numbered with events, 0 without"
    ) in out, out
    for mode in ("   events", "no events"):
        assert re.search(rf"{mode}: median {FIGURE} ms a batch = {FIGURE} actions/s", out), out
    assert "events numbered by the relay beside the processor" in out, out
    assert re.search(rf"cost of the outbox: a batch takes {FIGURE}x as long with events", out)


def test_outbox_cost_fails_when_its_receipts_do_not_apply(tmp_path: Path) -> None:
    err = failed(bench("outbox_cost.py", "--smoke", "--product-site", "plant-2", tmp_path=tmp_path))
    assert "actions not applied" in err and "PRODUCT_NOT_FOUND" in err, err
