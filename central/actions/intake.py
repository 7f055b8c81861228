"""Checks before anything applies: which edge sent it, may it use this topic, is it signed.

A refusal becomes a ``Rejection``: recorded in rejected_actions (never in the dedup table, so
a forged envelope carrying a real id cannot block the real action; bounded by
``central/actions/rejected.py``) and acked ``rejected``.
"""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from central.edges.registry import EdgeRecord
from central.security.events import SecurityEvent, refused_envelope
from protocol import Ack, AckResult, Envelope, RejectCode, verify
from protocol.envelope import readable_seq
from protocol.wire import element_text

MAX_RAW_CHARS = 64 * 1024


@dataclass
class Rejection:
    """One refused element (or whole message), with what could still be read from it."""

    code: str
    message: str
    raw: str
    action_id: str | None = None
    site: str | None = None
    edge: str | None = None
    seq: int | None = None

    def ack(self) -> Ack:
        """The rejected ack for this refusal."""
        return Ack(
            id=self.action_id,
            seq=self.seq,
            result=AckResult.REJECTED,
            code=self.code,
            message=self.message,
        )

    def row(self, *, via: str, received_at: datetime) -> dict[str, Any]:
        """The rejected_actions row kept for inspection (text made storable: no NUL)."""
        return {
            "action_id": storable(_clip(self.action_id)),
            "site": storable(_clip(self.site)),
            "edge": storable(_clip(self.edge)),
            "seq": readable_seq({"seq": self.seq}),
            "code": storable(self.code),
            "message": storable(self.message),
            "raw": storable(self.raw[:MAX_RAW_CHARS]),
            "via": via,
            "received_at": received_at,
        }


def _clip(value: str | None, size: int = 64) -> str | None:
    """Cut a free-form identifier to its column's width."""
    return value[:size] if value is not None else None


def storable(text: str | None) -> str | None:
    """Text a database column can hold: PostgreSQL text cannot hold NUL, so it is escaped
    as JSON writes it (\\u0000); everything else is kept as received."""
    return text.replace("\x00", "\\u0000") if text is not None else None


def raw_text(raw: Any) -> str:
    """A refused element as text for inspection, cut to MAX_RAW_CHARS."""
    return element_text(raw)[:MAX_RAW_CHARS]


def readable(raw: Any, name: str) -> str | None:
    """A string field of a raw element when it is one a database can hold, else None."""
    value = raw.get(name) if isinstance(raw, dict) else None
    return value if isinstance(value, str) and "\x00" not in value else None


def authenticate(
    raw: dict[str, Any],
    env: Envelope,
    *,
    known: dict[tuple[str, str], EdgeRecord],
    topic_site: str | None,
    topic_edge: str | None,
    at: datetime,
) -> Rejection | None:
    """Edge known, edge matching the topic, edge not revoked, signature right (by a key
    accepted ``at``); None when all hold."""

    def refuse(code: RejectCode, message: str) -> Rejection:
        """A refusal that still names the envelope's id, edge and seq."""
        return Rejection(code.value, message, raw_text(raw), env.id, env.site, env.edge, env.seq)

    if (env.site, env.edge) not in known:
        return refuse(
            RejectCode.UNKNOWN_EDGE,
            f"edge {env.site}/{env.edge} is not registered at central; provision it first",
        )
    if topic_edge is not None and (topic_site, topic_edge) != (env.site, env.edge):
        return refuse(
            RejectCode.WRONG_EDGE,
            f"an envelope of {env.site}/{env.edge} arrived on "
            f"the topic of {topic_site}/{topic_edge}",
        )
    record = known[(env.site, env.edge)]
    if record.revoked_at is not None:
        return refuse(
            RejectCode.EDGE_REVOKED,
            f"edge {env.site}/{env.edge} was revoked at {record.revoked_at:%Y-%m-%d %H:%M} UTC; "
            "its actions are refused until it is provisioned again",
        )
    if not signed_by(raw, record, at=at):
        return refuse(
            RejectCode.BAD_SIGNATURE,
            f"signature does not match the secret of {env.site}/{env.edge}; the "
            "envelope was altered, or the edge holds an old secret",
        )
    return None


def signed_by(raw: Any, record: EdgeRecord, *, at: datetime) -> bool:
    """True when the edge's current key, or its previous one while still accepted, signed it."""
    if verify(raw, record.secret):
        return True
    previous = record.previous_accepted(at)
    return previous is not None and verify(raw, previous)


def signed_seq(
    raw: Any, known: dict[tuple[str, str], EdgeRecord], topic_edge: str | None, *, at: datetime
) -> tuple[EdgeRecord, int] | None:
    """(edge, seq) of a refused element that its own edge did sign: that seq was used up."""
    site, edge, seq = readable(raw, "site"), readable(raw, "edge"), readable_seq(raw)
    record = known.get((site, edge)) if site and edge else None
    if record is None or seq is None or (topic_edge is not None and topic_edge != edge):
        return None
    return (record, seq) if signed_by(raw, record, at=at) else None


def security_events(
    raws: list[Any],
    acks: list[Ack],
    *,
    source: str,
    topic_site: str | None,
    topic_edge: str | None,
) -> list[SecurityEvent]:
    """The security events among a message's answered refusals (``acks`` in ``raws`` order):
    about the topic's edge when the message came on one, else about the edge it names."""
    events = []
    for raw, ack in zip(raws, acks, strict=True):
        if ack.result is not AckResult.REJECTED:
            continue
        site = topic_site if topic_edge is not None else readable(raw, "site")
        edge = topic_edge if topic_edge is not None else readable(raw, "edge")
        event = refused_envelope(
            ack.code, source=source, detail=ack.message or "", site=site, edge=edge
        )
        if event is not None:
            events.append(event)
    return events
