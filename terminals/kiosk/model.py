"""The kiosk's view of the world, reduced from the edge's answers and events (no Textual).

The edge decides everything: the station's step, each action's state, the link to central.
This model only keeps the latest of each so the screen can show it, and is tested without
a terminal.
"""

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

# The life of an action as the kiosk shows it; a later state never goes back to an earlier one.
STATE_RANK = {"queued": 0, "sent": 1, "applied": 2, "duplicate": 2, "conflict": 2, "rejected": 2}
FINAL_STATES = frozenset({"applied", "duplicate", "conflict", "rejected"})
TROUBLE_STATES = frozenset({"conflict", "rejected"})
# The same refusal seen twice (the scan's answer and its feedback event) is flashed once.
ECHO_SECONDS = 2.0
MAX_ACTIONS = 50
# A scan's answer is shown at once; its feedback event, which says the same, is then not
# shown again (nor the other way round when the event comes first). Events of scans made
# elsewhere (the station's own scanner) have no answer here: only the last few are kept.
ECHOES_KEPT = 32
LEVEL_OF_RESULT = {"queued": "ok", "context": "info", "refused": "error"}


def now_utc() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def parse_ts(value: Any) -> datetime | None:
    """An edge timestamp (ISO 8601, `Z` or offset) as an aware datetime; None when absent."""
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def state_word(state: str, code: str | None = None) -> str:
    """The word the kiosk shows for an action's state, never colour alone."""
    word = {
        "queued": "SAVED",
        "sent": "SENT",
        "applied": "APPLIED",
        "duplicate": "APPLIED",
        "conflict": "CONFLICT",
        "rejected": "REJECTED",
    }.get(state, state.upper())
    return f"{word} {code}" if code and state in TROUBLE_STATES else word


@dataclass
class ActionLife:
    """One action of this station as it goes queued -> sent -> applied or conflict/rejected."""

    id: str
    seq: int | None = None
    type: str | None = None
    state: str = "queued"
    code: str | None = None
    message: str | None = None
    summary: str | None = None
    ts: str | None = None

    @property
    def word(self) -> str:
        """SAVED / SENT / APPLIED / CONFLICT <code> / REJECTED <code>."""
        return state_word(self.state, self.code)

    @property
    def trouble(self) -> bool:
        """Central could not apply it: the operator or a supervisor must look at it."""
        return self.state in TROUBLE_STATES


@dataclass
class Flash:
    """Something to show at once in large type: a level (ok/error/info), words, maybe a bell."""

    level: str
    title: str
    message: str
    bell: bool = False


@dataclass
class KioskModel:
    """Everything the kiosk knows, for one station of one edge."""

    station_name: str
    station: dict[str, Any] = field(default_factory=dict)
    actions: "OrderedDict[str, ActionLife]" = field(default_factory=OrderedDict)
    feedback: dict[str, Any] | None = None
    broker_connected: bool | None = None
    central_online: bool | None = None
    queue: dict[str, Any] = field(default_factory=dict)
    progress: dict[str, Any] | None = None
    edge_up: bool = False
    edge_down_since: datetime | None = None
    supervisors: dict[str, bool] = field(default_factory=dict)
    # The wall clock; a fixed one makes the screen reproducible (the snapshot tests).
    clock: Callable[[], datetime] = now_utc
    _errors_shown: dict[str, datetime] = field(default_factory=dict)
    _answers_shown: "deque[tuple[Any, ...]]" = field(
        default_factory=lambda: deque(maxlen=ECHOES_KEPT)
    )
    _events_shown: "deque[tuple[Any, ...]]" = field(
        default_factory=lambda: deque(maxlen=ECHOES_KEPT)
    )

    # -- the edge link -------------------------------------------------------------------

    def edge_lost(self, when: datetime | None = None) -> bool:
        """The edge stopped answering; True when this is news (it was up)."""
        was_up = self.edge_up
        self.edge_up = False
        if self.edge_down_since is None:
            self.edge_down_since = when or self.clock()
        return was_up

    def edge_back(self) -> bool:
        """The edge answers again; True when it had been down."""
        was_down = not self.edge_up
        self.edge_up = True
        self.edge_down_since = None
        return was_down

    # -- answers -------------------------------------------------------------------------

    @property
    def operator(self) -> str | None:
        """Who is signed in at the station (or its standing operator)."""
        value = self.station.get("operator")
        return str(value) if value else None

    @property
    def operator_is_supervisor(self) -> bool:
        """The signed-in operator's badge is a supervisor's (as the edge said)."""
        return bool(self.operator and self.supervisors.get(self.operator))

    def apply_station(self, snapshot: dict[str, Any]) -> None:
        """A fresh `GET /stations/{s}` answer replaces what the kiosk knew of the station."""
        self.station = dict(snapshot)

    def apply_queue(self, status: dict[str, Any]) -> None:
        """A `GET /queue` answer: depth, oldest pending action, connectivity."""
        self.queue = dict(status)
        if "broker_connected" in status:
            self.broker_connected = bool(status["broker_connected"])
        if "central_online" in status:
            self.central_online = bool(status["central_online"])

    def apply_progress(self, progress: dict[str, Any]) -> None:
        """A `GET /stations/{s}/progress` answer; recent actions join the life log."""
        self.progress = dict(progress)
        for recent in reversed(progress.get("recent") or []):
            action_id = recent.get("action_id")
            if not action_id:
                continue
            life = self._life(str(action_id))
            life.type = recent.get("type") or life.type
            life.summary = recent.get("summary") or life.summary
            life.ts = recent.get("ts") or life.ts
            self._advance(life, recent.get("state"), recent.get("code"), recent.get("message"))

    def apply_scan_answer(self, answer: dict[str, Any]) -> Flash | None:
        """The POST /scans answer: the station's new state, the action it queued, and what to
        flash (the same as its feedback event says, shown as soon as the answer is here)."""
        state = answer.get("state")
        if isinstance(state, dict):
            self.apply_station(state)
        action = answer.get("action")
        if isinstance(action, dict) and action.get("id"):
            life = self._life(str(action["id"]))
            life.seq = action.get("seq", life.seq)
            life.type = answer.get("action_type") or life.type
            life.ts = action.get("ts") or life.ts
            if life.summary is None:
                life.summary = _summary(str(answer.get("message") or ""))
            self._advance(life, action.get("state"), None, None)
        feedback = _feedback_of(answer)
        if feedback is None:
            return None
        key = _echo_key(feedback)
        if key in self._events_shown:
            self._events_shown.remove(key)  # its feedback event came first and was shown
            return None
        self._answers_shown.append(key)
        return self._feedback(feedback)

    # -- events --------------------------------------------------------------------------

    def apply_event(self, kind: str, data: dict[str, Any]) -> Flash | None:
        """One event of the edge's stream; what to flash, if anything."""
        if kind == "connectivity":
            if "broker_connected" in data:
                self.broker_connected = bool(data["broker_connected"])
            if "central_online" in data:
                self.central_online = bool(data["central_online"])
            return None
        if kind == "feedback" and data.get("station") == self.station_name:
            key = _echo_key(data)
            if key in self._answers_shown:
                self._answers_shown.remove(key)  # the scan's answer showed it already
                return None
            self._events_shown.append(key)
            return self._feedback(data)
        if kind == "action":
            return self._action(data)
        if kind == "warning" and data.get("station") == self.station_name:
            code = str(data.get("code") or "WARNING")
            if self.fresh_error(code):
                return Flash("error", f"NOT SAVED {code}", str(data.get("message") or ""), True)
        return None

    def _feedback(self, data: dict[str, Any]) -> Flash | None:
        self.feedback = dict(data)
        for key in ("expect", "expected", "flow", "step", "operator"):
            if key in data:
                self.station[key] = data[key]
        action_id = data.get("action_id")
        message = str(data.get("message") or "")
        if action_id:
            life = self._life(str(action_id))
            life.type = data.get("action_type") or life.type
            life.summary = _summary(message)
        level = str(data.get("level") or "info")
        code = data.get("code")
        if level == "error":
            if not self.fresh_error(str(code or "ERROR")):
                return None
            return Flash("error", f"REFUSED {code}" if code else "REFUSED", message, True)
        title = "SAVED" if action_id else "OK"
        shown = message.removeprefix("saved: ") if action_id else message
        return Flash("ok" if level == "ok" else "info", title, shown)

    def _action(self, data: dict[str, Any]) -> Flash | None:
        action_id = str(data.get("id") or "")
        if not action_id:
            return None
        station = data.get("station")
        if action_id not in self.actions and station != self.station_name:
            return None  # another station's action (acks carry no station: known ids only)
        life = self._life(action_id)
        life.seq = data.get("seq", life.seq)
        life.type = data.get("type") or life.type
        before = life.state
        self._advance(life, data.get("state"), data.get("code"), data.get("message"))
        if life.trouble and before != life.state:
            what = life.summary or life.type or "action"
            return Flash("error", life.word, f"{what}: {life.message or ''}".rstrip(": "), True)
        return None

    # -- helpers -------------------------------------------------------------------------

    def fresh_error(self, code: str, when: datetime | None = None) -> bool:
        """True unless the same error was flashed a moment ago (answer and event agree)."""
        moment = when or self.clock()
        last = self._errors_shown.get(code)
        self._errors_shown[code] = moment
        return last is None or (moment - last).total_seconds() > ECHO_SECONDS

    def _life(self, action_id: str) -> ActionLife:
        life = self.actions.get(action_id)
        if life is None:
            life = self.actions[action_id] = ActionLife(id=action_id)
            while len(self.actions) > MAX_ACTIONS:
                self.actions.popitem(last=False)
        return life

    @staticmethod
    def _advance(life: ActionLife, state: Any, code: Any, message: Any) -> None:
        if not isinstance(state, str) or state not in STATE_RANK:
            return
        if STATE_RANK[state] < STATE_RANK.get(life.state, 0):
            return  # an older notice arriving late never takes a state back
        life.state = state
        if code:
            life.code = str(code)
        if message:
            life.message = str(message)

    def recent_actions(self, limit: int = 10) -> list[ActionLife]:
        """The station's latest actions, newest first."""
        return list(reversed(self.actions.values()))[:limit]

    def trouble(self) -> list[ActionLife]:
        """Actions central could not apply (conflict, rejected), newest first."""
        return [life for life in reversed(self.actions.values()) if life.trouble]

    def backlog_age_seconds(self, when: datetime | None = None) -> float | None:
        """Age of the oldest unsynced action, from the queue's answer."""
        oldest = parse_ts(self.queue.get("oldest_pending_ts"))
        if oldest is None:
            return None
        return max(0.0, ((when or self.clock()) - oldest).total_seconds())


def _summary(message: str) -> str | None:
    """The action's short line from its feedback message ("saved: move LP1 to A-02; ...")."""
    text = message.split("; ")[0] if message else ""
    text = text.removeprefix("saved: ")
    return text or None


def format_age(seconds: float | None) -> str:
    """A short human age: 12s, 4m05s, 2h10m; a dash when there is nothing."""
    if seconds is None:
        return "-"
    whole = int(seconds)
    if whole < 60:
        return f"{whole}s"
    if whole < 3600:
        return f"{whole // 60}m{whole % 60:02d}s"
    return f"{whole // 3600}h{(whole % 3600) // 60:02d}m"


def _feedback_of(answer: dict[str, Any]) -> dict[str, Any] | None:
    """A scan's answer as the feedback event the edge publishes for it."""
    level = LEVEL_OF_RESULT.get(str(answer.get("result")))
    if level is None:
        return None
    state = answer.get("state") if isinstance(answer.get("state"), dict) else {}
    action = answer.get("action") if isinstance(answer.get("action"), dict) else {}
    assert isinstance(state, dict) and isinstance(action, dict)
    feedback = {
        "station": answer.get("station"),
        "level": level,
        "message": answer.get("message"),
        "code": answer.get("code"),
        "action_id": action.get("id"),
        "action_type": answer.get("action_type"),
    }
    for key in ("expect", "expected"):
        if key in answer:
            feedback[key] = answer[key]
    for key in ("flow", "step", "operator"):
        if key in state:
            feedback[key] = state[key]
    return feedback


def _echo_key(feedback: dict[str, Any]) -> tuple[Any, ...]:
    """What a scan's answer and its feedback event have in common."""
    return (
        feedback.get("level"),
        feedback.get("message"),
        feedback.get("code"),
        feedback.get("action_id") or None,
    )
