"""The fault suite's table: runs, faults injected by kind, actions (consumptions and outputs
among them), conflicts (and how many scans were made to conflict), lost, duplicated, drain.

The table is made from one line per run (what ``--fault-log`` writes), so a soak that ran in
the background is summed up the same way: ``python -m tests.faults.report soak.jsonl``.
"""

from __future__ import annotations

import json
import statistics
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from tests.faults.faults import ALL_FAULTS
from tests.faults.runs import RunResult

RESULTS: list[RunResult] = []  # every run of this pytest session, for the summary
NOTES: set[str] = set()  # faults this machine cannot inject, and why


def run_line(result: RunResult) -> dict[str, Any]:
    """One run as a flat record: the fault log's line and the table's input."""
    f = result.findings
    return {
        "tier": result.tier,
        "seed": result.seed,
        "ok": result.ok,
        "faults": dict(result.faults),
        "acked": result.acked,
        "acked_by_type": dict(result.acked_by_type),
        "made_to_conflict": result.made_to_conflict,
        "refused": result.refused,
        "unknown": result.unknown,
        "exit_4_restarts": result.exit_4_restarts,
        "outcomes": {} if f is None else dict(f.outcomes),
        "lost": None if f is None else len(f.lost),
        "duplicated": None if f is None else len(f.duplicated),
        "phantom": None if f is None else len(f.phantoms) + len(f.refused_present),
        "drain_seconds": result.drain_seconds,
        "problems": result.problems(),
    }


def append_jsonl(path: Path, result: RunResult) -> None:
    """One line per run, for soaks that outlive a terminal."""
    with open(path, "a") as out:
        out.write(json.dumps(run_line(result)) + "\n")


def table(lines: list[dict[str, Any]]) -> str:
    """One row per tier and a total: what was injected and what the invariants found."""
    tiers = sorted({line["tier"] for line in lines})
    head = ["tier", "runs", "failed", "acked", "consume", "output", "refused", "unknown",
            "conflict", "made to conflict", "lost", "duplicated", "phantom", "exit 4 restarts",
            "drain s (median / p99 / max)"]  # fmt: skip
    rows = [" | ".join(head)]
    fault_rows = ["faults injected | " + " | ".join(ALL_FAULTS)]
    for tier in tiers + (["all"] if len(tiers) > 1 else []):
        runs = [line for line in lines if tier in ("all", line["tier"])]
        faults: Counter[str] = Counter()
        for line in runs:
            faults.update(line["faults"])
        drains = sorted(line["drain_seconds"] for line in runs if line["drain_seconds"] is not None)
        drain = "-"
        if drains:
            p99 = drains[min(len(drains) - 1, int(len(drains) * 0.99))]
            drain = f"{statistics.median(drains):.1f} / {p99:.1f} / {drains[-1]:.1f}"
        row = {
            "tier": tier,
            "runs": len(runs),
            "failed": sum(not line["ok"] for line in runs),
            "acked": sum(line["acked"] for line in runs),
            "consume": sum(line.get("acked_by_type", {}).get("lp.consume", 0) for line in runs),
            "output": sum(line.get("acked_by_type", {}).get("wo.output", 0) for line in runs),
            "refused": sum(line["refused"] for line in runs),
            "unknown": sum(line["unknown"] for line in runs),
            "conflict": sum(line["outcomes"].get("conflict", 0) for line in runs),
            "made to conflict": sum(line.get("made_to_conflict", 0) for line in runs),
            "lost": sum(line["lost"] or 0 for line in runs),
            "duplicated": sum(line["duplicated"] or 0 for line in runs),
            "phantom": sum(line["phantom"] or 0 for line in runs),
            "exit 4 restarts": sum(line.get("exit_4_restarts", 0) for line in runs),
        }
        rows.append(" | ".join(str(row[k]) for k in head[:-1]) + f" | {drain}")
        fault_rows.append(f"{tier} | " + " | ".join(str(faults[k]) for k in ALL_FAULTS))
    failed = [f"{line['tier']}:{line['seed']}" for line in lines if not line["ok"]]
    return "\n".join(
        [*rows, "", *fault_rows, "", f"failed seeds: {', '.join(failed) if failed else 'none'}"]
    )


def main(paths: list[str]) -> None:
    lines = [json.loads(text) for path in paths for text in Path(path).read_text().splitlines()]
    print(table(lines))
    for line in lines:
        if not line["ok"]:
            print(f"\n{line['tier']}:{line['seed']}: {line['problems'][:2000]}")


if __name__ == "__main__":
    main(sys.argv[1:])
