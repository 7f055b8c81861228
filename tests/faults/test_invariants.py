"""The fault suite's judge can fail: each breach of an invariant, made by hand in a real
central database, is found and named (a suite whose checks could not fail would prove
nothing)."""

import asyncio
from datetime import UTC, datetime

from protocol import new_action_id
from tests.central.conftest import Central
from tests.faults.invariants import check_run
from tests.faults.scanners import Scans


async def test_a_clean_run_passes_and_each_breach_is_found(seeded: Central) -> None:
    since = datetime.now(UTC)
    told = await seeded.receive("LP-TOLD")  # acknowledged to its operator, at central once
    await seeded.receive("LP-LOST-ANSWER")  # its answer was lost: may exist, once
    scans = Scans(
        acked={str(told.id): ("lp.receive", "LP-TOLD")},
        unknown=[("lp.receive", "LP-LOST-ANSWER")],
        refused_lps={"LP-REFUSED"},
    )
    clean = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert clean.ok, clean
    assert clean.outcomes == {"applied": 1}

    lost = new_action_id()
    scans.acked[lost] = ("lp.receive", "LP-NEVER-ARRIVED")
    await seeded.receive("LP-REFUSED")  # the operator was told no, yet it is at central
    await seeded.receive("LP-NOBODY-SCANNED")  # at central, and no operator was told
    async with seeded.engine.begin() as conn:  # the receipt's ledger row written twice
        await conn.exec_driver_sql(
            "INSERT INTO stock_moves (site, lp_id, product_id, location_id, kind, qty, "
            "occurred_at, recorded_at, cause, action_id) SELECT site, lp_id, product_id, "
            "location_id, kind, qty, occurred_at, recorded_at, cause, action_id FROM stock_moves "
            f"WHERE action_id = '{told.id}'"
        )

    found = await asyncio.to_thread(check_run, seeded.settings.db_url, [scans], since)
    assert not found.ok
    assert found.lost == [lost]
    assert found.refused_present == ["LP-REFUSED"]
    assert sorted(p.split(" ", 1)[1] for p in found.phantoms) == [
        "('lp.receive', 'LP-NOBODY-SCANNED')",
        "('lp.receive', 'LP-REFUSED')",
    ]
    assert found.duplicated == [f"{told.id} RECEIPT x2"]
    assert found.ledger_problems  # LP-TOLD holds 10 kg, its ledger now sums 20
