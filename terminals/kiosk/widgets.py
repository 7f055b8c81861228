"""The kiosk's always-visible parts: status bar, link banner, what is expected next, the flash
of the last scan, and each action's life. Every state is a word as well as a colour."""

from datetime import datetime

from rich.text import Text
from textual.widgets import Static

from terminals.kiosk.model import ActionLife, Flash, KioskModel, format_age, parse_ts

# Colours by meaning; the words carry the meaning on a monochrome screen too.
STYLE = {
    "ok": "bold black on green",
    "info": "bold black on cyan",
    "warn": "bold black on yellow",
    "error": "bold white on red",
    "muted": "dim",
}
LIFE_STYLE = {
    "queued": "bold yellow",
    "sent": "bold cyan",
    "applied": "bold green",
    "duplicate": "bold green",
    "conflict": "bold white on red",
    "rejected": "bold white on red",
}


def _clock(value: datetime | str | None) -> str:
    """HH:MM:SS of an edge time in local time, for a glance."""
    moment = parse_ts(value) if isinstance(value, str) else value
    return moment.astimezone().strftime("%H:%M:%S") if moment else "--:--:--"


class StatusBar(Static):
    """Edge link, broker, central, queue depth, oldest unsynced action, operator, station."""

    def show(self, model: KioskModel) -> None:
        """Redraw from the model."""
        text = Text()

        def part(label: str, value: str, level: str) -> None:
            if text:
                text.append(" | ", style="dim")
            text.append(f"{label} " if label else "")
            text.append(value, style=STYLE[level])

        part("EDGE", "UP" if model.edge_up else "DOWN", "ok" if model.edge_up else "error")
        broker = {True: ("UP", "ok"), False: ("DOWN", "error"), None: ("?", "warn")}
        central = {True: ("ONLINE", "ok"), False: ("OFFLINE", "warn"), None: ("?", "warn")}
        part("BROKER", *broker[model.broker_connected if model.edge_up else None])
        part("CENTRAL", *central[model.central_online if model.edge_up else None])
        depth = model.queue.get("depth")
        age = model.backlog_age_seconds()
        waiting = "warn" if model.queue.get("backlog_warning") else "ok"
        part("QUEUE", "-" if depth is None else str(depth), "ok" if not depth else "info")
        part("OLDEST", format_age(age), waiting if age is not None else "muted")
        operator = model.operator or "nobody signed in"
        if model.operator_is_supervisor:
            operator += " (supervisor)"
        part("OP", operator, "info" if model.operator else "warn")
        part("", model.station_name, "info")
        self.update(text)


class LinkBanner(Static):
    """Shown only while the edge does not answer: says so, since when, and that it retries."""

    def show(self, model: KioskModel) -> None:
        """Show or hide from the model."""
        self.display = not model.edge_up
        if not model.edge_up and model.edge_down_since is None:
            self.update(Text("connecting to the edge...", style=STYLE["warn"]))
        elif not model.edge_up:
            since = _clock(model.edge_down_since)
            self.update(
                Text(
                    f"EDGE UNREACHABLE since {since}: scans are NOT saved. Reconnecting...",
                    style=STYLE["error"],
                )
            )


class ExpectBanner(Static):
    """What the station expects next, in the largest text the terminal has."""

    def show(self, model: KioskModel) -> None:
        """Redraw from the model."""
        station = model.station
        expect = station.get("expect") or "waiting for the station..."
        text = Text()
        text.append("NEXT: ", style="bold")
        text.append(str(expect).upper(), style="bold")
        self.update(text)


class ContextLine(Static):
    """The station's context: flow, step, operator, work order, location, what it collected."""

    def show(self, model: KioskModel) -> None:
        """Redraw from the model."""
        station = model.station
        parts = [f"flow {station.get('flow') or station.get('action') or '-'}"]
        if station.get("step"):
            parts.append(f"step {station['step']}")
        for key in ("work_order", "location", "qty"):
            if station.get(key):
                parts.append(f"{key.replace('_', ' ')} {station[key]}")
        collected = station.get("collected") or {}
        parts.extend(
            f"{key} {value}"
            for key, value in collected.items()
            if station.get(key) != value  # the station's own context is named once
        )
        self.update(" | ".join(parts))


class FeedbackFlash(Static):
    """The last scan's outcome, coloured and in words, large enough to read from a metre."""

    def show_flash(self, flash: Flash) -> None:
        """Show one outcome until the next."""
        for level in ("ok", "info", "error"):
            self.set_class(flash.level == level, f"-{level}")
        text = Text()
        sign = {"ok": "OK ", "info": "i ", "error": "X "}.get(flash.level, "")
        text.append(f"{sign}{flash.title}", style="bold")
        if flash.message:
            text.append(f"  {flash.message}")
        self.update(text)


class ActionLog(Static):
    """Each recent action of this station and where it is in its life, newest first."""

    def show(self, model: KioskModel, limit: int = 8) -> None:
        """Redraw from the model."""
        lives = model.recent_actions(limit)
        if not lives:
            self.update(Text("no actions from this kiosk yet", style="dim"))
            return
        text = Text()
        for index, life in enumerate(lives):
            if index:
                text.append("\n")
            text.append_text(life_line(life))
        self.update(text)


def life_line(life: ActionLife) -> Text:
    """One action's line: time, its state word (coloured), what it was, why it failed."""
    text = Text()
    text.append(f"{_clock(life.ts)[:5]} ", style="dim")
    text.append(f" {life.word} ", style=LIFE_STYLE.get(life.state, "bold"))
    text.append(f" {life.summary or life.type or life.id[:8]}")
    if life.trouble and life.message:
        text.append(f": {life.message}", style="bold")
    return text
