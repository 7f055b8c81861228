"""The kiosk's job panels: a station's running totals, from the edge's progress answer.

`JobPanel` is what the kiosk mounts; the per-kind panels live beside it, one module per
family of flows, like the edge's own flows.
"""

from terminals.kiosk.panels.base import KindPanel
from terminals.kiosk.panels.counting import CountPanel
from terminals.kiosk.panels.job import DonePanel, JobPanel, NoJobPanel, stale_line
from terminals.kiosk.panels.production import ConsumePanel, OutputPanel
from terminals.kiosk.panels.shipping import LoadPanel, PickPanel

__all__ = [
    "ConsumePanel",
    "CountPanel",
    "DonePanel",
    "JobPanel",
    "KindPanel",
    "LoadPanel",
    "NoJobPanel",
    "OutputPanel",
    "PickPanel",
    "stale_line",
]
