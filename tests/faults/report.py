"""The fault suite's table: runs, faults injected by kind, actions, lost, duplicated, drain."""

from __future__ import annotations

import json
import statistics
from collections import Counter
from pathlib import Path

from tests.faults.faults import ALL_FAULTS
from tests.faults.runs import RunResult

RESULTS: list[RunResult] = []  # every run of this pytest session, for the summary
NOTES: set[str] = set()  # faults this machine cannot inject, and why


def table(results: list[RunResult]) -> str:
    """One row per tier and a total: what was injected and what the invariants found."""
    rows = []
    for tier in sorted({r.tier for r in results}) + ["all"]:
        runs = [r for r in results if tier in ("all", r.tier)]
        if not runs or (tier == "all" and len({r.tier for r in results}) < 2):
            continue
        faults: Counter[str] = Counter()
        for r in runs:
            faults.update(r.faults)
        found = [r.findings for r in runs if r.findings is not None]
        drains = sorted(r.drain_seconds for r in runs if r.drain_seconds is not None)
        rows.append(
            {
                "tier": tier,
                "runs": len(runs),
                "failed": sum(not r.ok for r in runs),
                "faults": faults,
                "acked": sum(r.acked for r in runs),
                "refused": sum(r.refused for r in runs),
                "unknown": sum(r.unknown for r in runs),
                "conflict": sum(f.outcomes["conflict"] for f in found),
                "lost": sum(len(f.lost) for f in found),
                "duplicated": sum(len(f.duplicated) for f in found),
                "phantom": sum(len(f.phantoms) + len(f.refused_present) for f in found),
                "drain": (f"{statistics.median(drains):.1f} / {drains[-1]:.1f}" if drains else "-"),
            }
        )
    head = ["tier", "runs", "failed", "acked", "refused", "unknown", "conflict", "lost",
            "duplicated", "phantom", "drain s (median / max)"]  # fmt: skip
    lines = [" | ".join(head)]
    for row in rows:
        lines.append(" | ".join(str(row[k]) for k in head[:-1]) + f" | {row['drain']}")
    lines.append("")
    lines.append("faults injected: " + " | ".join(ALL_FAULTS))
    for row in rows:
        counts = row["faults"]
        lines.append(f"{row['tier']}: " + " | ".join(str(counts[k]) for k in ALL_FAULTS))
    failed = [f"{r.tier}:{r.seed}" for r in results if not r.ok]
    lines.append(f"failed seeds: {', '.join(failed) if failed else 'none'}")
    return "\n".join(lines)


def append_jsonl(path: Path, result: RunResult) -> None:
    """One line per run, for soaks that outlive a terminal."""
    f = result.findings
    line = {
        "tier": result.tier,
        "seed": result.seed,
        "ok": result.ok,
        "faults": dict(result.faults),
        "acked": result.acked,
        "refused": result.refused,
        "unknown": result.unknown,
        "outcomes": {} if f is None else dict(f.outcomes),
        "lost": None if f is None else len(f.lost),
        "duplicated": None if f is None else len(f.duplicated),
        "phantom": None if f is None else len(f.phantoms) + len(f.refused_present),
        "drain_seconds": result.drain_seconds,
        "problems": result.problems(),
    }
    with open(path, "a") as out:
        out.write(json.dumps(line) + "\n")
