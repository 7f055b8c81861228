"""What the queue hands out: an enqueued action, a stored record, queue statistics."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class QueuedAction:
    """What enqueue answers once the action is on disk."""

    id: str
    seq: int
    state: str
    ts: str


@dataclass(frozen=True)
class ActionRecord:
    """One stored action and its latest known outcome."""

    id: str
    seq: int
    type: str
    station: str
    operator: str
    state: str
    code: str | None
    message: str | None
    conflict_id: int | None
    ts: str
    created_at: str
    updated_at: str
    attempts: int = 0
    sent_at: str | None = None
    acked_at: str | None = None


@dataclass(frozen=True)
class QueueStats:
    """Queue health for the state topic, the local API and the kiosk."""

    depth: int
    oldest_pending_ts: str | None
    last_ack_seq: int
    next_seq: int
    counts: dict[str, int] = field(default_factory=dict)
    commits: int = 0
    disk_full: bool = False  # new actions are refused; acks and sends still go through


@dataclass(frozen=True)
class PendingAction:
    """An action still to send: its id, its seq, and its signed envelope as stored (JSON)."""

    id: str
    seq: int
    envelope: str
