"""The invariants of a run, checked against central's database once the edges have drained.

Every scan acknowledged to an operator is at central exactly once (applied, conflict or
rejected); nothing refused to an operator is; every action at central that no operator was
told about comes from a scan whose answer was lost; the ledger check passes (it includes
the reservations: never more reserved of an LP than it holds). On the operators' work orders:
the scans made to conflict are conflicts with their row in the inbox; every output links
(PRODUCE) to exactly the LPs consumed on its work order before it in ledger order; and
``qty_produced`` is the sum of the work order's PRODUCE rows.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from central.db.tables import conflicts as conflict_table
from central.db.tables import license_plates as lp_table
from central.db.tables import lp_genealogy as links
from central.db.tables import processed_actions as processed
from central.db.tables import rejected_actions as rejected
from central.db.tables import stock_moves as ledger
from central.db.tables import work_orders
from central.inventory.consistency import check_database
from protocol.types import format_qty
from tests.faults.scanners import Scans
from tests.faults.site import SITE


@dataclass
class Findings:
    """What central holds of one run, against what the operators were told."""

    outcomes: Counter[str] = field(default_factory=Counter)  # acked actions by central result
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    phantoms: list[str] = field(default_factory=list)
    refused_present: list[str] = field(default_factory=list)
    ledger_problems: list[dict[str, Any]] = field(default_factory=list)
    not_conflicts: list[str] = field(default_factory=list)  # made to conflict, and did not
    genealogy: list[str] = field(default_factory=list)  # outputs linked otherwise than ruled
    produced: list[str] = field(default_factory=list)  # qty_produced != sum of PRODUCE rows

    @property
    def ok(self) -> bool:
        return not any(getattr(self, name) for name in FINDING_LISTS)


FINDING_LISTS = (
    "lost",
    "duplicated",
    "phantoms",
    "refused_present",
    "ledger_problems",
    "not_conflicts",
    "genealogy",
    "produced",
)


def _rows(db_url: str, statement: Any) -> list[tuple[Any, ...]]:
    async def run() -> list[tuple[Any, ...]]:
        engine = create_async_engine(db_url)
        try:
            async with engine.connect() as conn:
                return [tuple(row) for row in await conn.execute(statement)]
        finally:
            await engine.dispose()

    return asyncio.run(run())


def acked_at_central(db_url: str, ids: list[str]) -> set[str]:
    """Which of these action ids central has recorded (in its dedup record or refused)."""
    done = select(processed.c.action_id).where(processed.c.action_id.in_(ids))
    refused = select(rejected.c.action_id).where(rejected.c.action_id.in_(ids))
    return {row[0] for row in _rows(db_url, done.union_all(refused))} if ids else set()


def check_run(db_url: str, scans: list[Scans], since: datetime) -> Findings:
    """The invariants for the scans of one run (central received them after ``since``)."""
    findings = Findings()
    acked = {action_id: what for s in scans for action_id, what in s.acked.items()}
    ids = list(acked)
    results = dict(
        _rows(
            db_url,
            select(processed.c.action_id, processed.c.result).where(processed.c.action_id.in_(ids)),
        )
    )
    refused_ids = {
        row[0]
        for row in _rows(db_url, select(rejected.c.action_id).where(rejected.c.action_id.in_(ids)))
    }
    for action_id in ids:
        if action_id in results:
            findings.outcomes[results[action_id]] += 1
        elif action_id in refused_ids:
            findings.outcomes["rejected"] += 1
        else:
            findings.lost.append(action_id)

    per_action = (
        select(ledger.c.action_id, ledger.c.kind, func.count())
        .where(ledger.c.action_id.in_(ids))
        .group_by(ledger.c.action_id, ledger.c.kind)
        .having(func.count() > 1)
    )
    findings.duplicated += [f"{row[0]} {row[1]} x{row[2]}" for row in _rows(db_url, per_action)]
    refused_lps = sorted({lp for s in scans for lp in s.refused_lps})
    lps = refused_lps + sorted(
        {lp for _, lp in acked.values()} | {lp for s in scans for _, lp in s.unknown}
    )
    per_number = (
        select(lp_table.c.number, func.count())
        .where(lp_table.c.site == SITE, lp_table.c.number.in_(lps))
        .group_by(lp_table.c.number)
        .having(func.count() > 1)
    )
    findings.duplicated += [f"LP {row[0]} x{row[1]}" for row in _rows(db_url, per_number)]
    present = select(lp_table.c.number).where(
        lp_table.c.site == SITE, lp_table.c.number.in_(refused_lps)
    )
    findings.refused_present = [row[0] for row in _rows(db_url, present)]

    unknown = Counter((type, lp) for s in scans for type, lp in s.unknown)
    since_start = select(processed.c.action_id, processed.c.type, processed.c.envelope).where(
        processed.c.received_at >= since
    )
    for action_id, type, envelope in _rows(db_url, since_start):
        if action_id in acked:
            continue
        key = (type, str(json.loads(envelope).get("body", {}).get("lp")))
        if unknown[key] > 0:
            unknown[key] -= 1  # a scan whose answer was lost: it may exist, once
        else:
            findings.phantoms.append(f"{action_id} {key}")

    must = sorted({i for s in scans for i in s.must_conflict})
    inbox = {
        row[0]
        for row in _rows(
            db_url, select(conflict_table.c.action_id).where(conflict_table.c.action_id.in_(must))
        )
    }
    for action_id in must:
        outcome = results.get(action_id, "rejected" if action_id in refused_ids else "missing")
        if outcome != "conflict" or action_id not in inbox:
            in_inbox = "in" if action_id in inbox else "not in"
            findings.not_conflicts.append(
                f"{action_id} {acked[action_id]}: {outcome}, {in_inbox} the inbox"
            )
    numbers = sorted({s.work_order for s in scans if s.work_order is not None})
    findings.genealogy = output_link_problems(db_url, numbers)
    findings.produced = produced_problems(db_url, numbers)

    report = asyncio.run(check_database(db_url, sites=[SITE]))
    findings.ledger_problems = list(report.problems)
    if not report.ok and not findings.ledger_problems:
        findings.ledger_problems = [{"check": "failed without details"}]
    return findings


def _work_order_ids(db_url: str, numbers: list[str]) -> dict[int, str]:
    statement = select(work_orders.c.id, work_orders.c.number).where(
        work_orders.c.site == SITE, work_orders.c.number.in_(numbers)
    )
    return dict(_rows(db_url, statement)) if numbers else {}


def output_link_problems(db_url: str, numbers: list[str]) -> list[str]:
    """Outputs of these work orders whose PRODUCE links are not exactly the LPs consumed on
    their work order before them, in ledger order (from stock_moves)."""
    orders = _work_order_ids(db_url, numbers)
    if not orders:
        return []
    moves = _rows(
        db_url,
        select(ledger.c.work_order_id, ledger.c.kind, ledger.c.lp_id)
        .where(ledger.c.work_order_id.in_(orders), ledger.c.kind.in_(("CONSUME", "PRODUCE")))
        .order_by(ledger.c.id),
    )
    expected: dict[int, tuple[int, frozenset[int]]] = {}  # output LP -> (order, inputs)
    consumed: dict[int, set[int]] = {order: set() for order in orders}
    for order, kind, lp_id in moves:
        if kind == "CONSUME":
            consumed[order].add(lp_id)
        else:
            expected[lp_id] = (order, frozenset(consumed[order]))
    if not expected:
        return []
    linked: dict[int, set[int]] = {lp_id: set() for lp_id in expected}
    for from_lp, to_lp in _rows(
        db_url,
        select(links.c.from_lp_id, links.c.to_lp_id).where(
            links.c.kind == "PRODUCE", links.c.to_lp_id.in_(list(expected))
        ),
    ):
        linked[to_lp].add(from_lp)
    names = dict(
        _rows(db_url, select(lp_table.c.id, lp_table.c.number).where(lp_table.c.site == SITE))
    )
    problems = []
    for output, (order, inputs) in sorted(expected.items()):
        missing, extra = inputs - linked[output], linked[output] - inputs
        if missing or extra:
            problems.append(
                f"output {names.get(output, output)} of {orders[order]}: "
                f"unlinked {sorted(names.get(i, str(i)) for i in missing)}, "
                f"linked beyond the rule {sorted(names.get(i, str(i)) for i in extra)}"
            )
    return problems


def produced_problems(db_url: str, numbers: list[str]) -> list[str]:
    """Work orders whose qty_produced is not the sum of their PRODUCE rows."""
    orders = _work_order_ids(db_url, numbers)
    if not orders:
        return []
    booked = dict(
        _rows(
            db_url,
            select(ledger.c.work_order_id, func.sum(ledger.c.qty))
            .where(ledger.c.work_order_id.in_(orders), ledger.c.kind == "PRODUCE")
            .group_by(ledger.c.work_order_id),
        )
    )
    problems = []
    for order, produced in _rows(
        db_url,
        select(work_orders.c.id, work_orders.c.qty_produced).where(work_orders.c.id.in_(orders)),
    ):
        made, total = Decimal(str(produced)), Decimal(str(booked.get(order) or 0))
        if made != total:
            problems.append(
                f"{orders[order]}: qty_produced {format_qty(made)}, "
                f"PRODUCE rows sum {format_qty(total)}"
            )
    return problems
