"""The invariants of a run, checked against central's database once the edges have drained.

Every scan acknowledged to an operator is at central exactly once (applied, conflict or
rejected); nothing refused to an operator is; every action at central that no operator was
told about comes from a scan whose answer was lost; the ledger check passes.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import create_async_engine

from central.db.tables import license_plates as lp_table
from central.db.tables import processed_actions as processed
from central.db.tables import rejected_actions as rejected
from central.db.tables import stock_moves as ledger
from central.inventory.consistency import check_database
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

    @property
    def ok(self) -> bool:
        return not (
            self.lost
            or self.duplicated
            or self.phantoms
            or self.refused_present
            or self.ledger_problems
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

    report = asyncio.run(check_database(db_url, sites=[SITE]))
    findings.ledger_problems = list(report.problems)
    if not report.ok and not findings.ledger_problems:
        findings.ledger_problems = [{"check": "failed without details"}]
    return findings
