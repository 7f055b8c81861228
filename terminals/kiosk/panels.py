"""The running totals of the station's job (`job` of GET /stations/{s}/progress), as lines.

A plain rendering of the edge's progress answer: each figure named, every state a word.
"""

from typing import Any

from rich.text import Text
from textual.widgets import Static


class JobPanel(Static):
    """The station's current job: what is done, what is left, what waits for central."""

    def show(self, progress: dict[str, Any]) -> None:
        """Render the progress answer's ``job`` and its stale mark."""
        text = Text()
        job = progress.get("job")
        if progress.get("stale"):
            since = progress.get("stale_since") or "unknown"
            reasons = ", ".join(progress.get("stale_reasons") or [])
            text.append(f"STALE since {since} ({reasons})\n", style="bold black on yellow")
        if not isinstance(job, dict):
            text.append("no job yet: " + "the station has no work order, shipment or session")
            self.update(text)
            return
        text.append(f"{str(job.get('kind', 'job')).upper()}", style="bold")
        for key, value in job.items():
            if key == "kind" or isinstance(value, list | dict):
                continue
            text.append(f"  {key.replace('_', ' ')} {value if value is not None else '-'}")
        for line in job.get("lines") or []:
            if isinstance(line, dict):
                text.append("\n  " + "  ".join(f"{k} {v}" for k, v in line.items()))
        for key in ("missing", "tasks"):
            items = job.get(key)
            if isinstance(items, list) and items:
                shown = [
                    item if isinstance(item, str) else str(item.get("number", item))
                    for item in items[:10]
                ]
                text.append(f"\n  {key}: " + ", ".join(shown))
        self.update(text)
