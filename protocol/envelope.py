"""The action envelope: what an edge sends for every operator action."""

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, StrictInt, ValidationError

from protocol.actions import Body, body_model_for
from protocol.canonical import INT64_MAX, wire_value_problem
from protocol.codes import RejectCode
from protocol.errors import ProtocolError
from protocol.ids import new_action_id
from protocol.signing import sign
from protocol.types import UUID_PATTERN, Name
from protocol.wire import Unreadable

MAJOR_VERSION = 1
TS_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$"


def format_ts(moment: datetime) -> str:
    """Wire form of a timestamp: UTC, millisecond precision, trailing Z."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_ts(text: str) -> datetime:
    """Parse a wire timestamp into an aware UTC datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


class Envelope(BaseModel):
    """A checked envelope. ``body`` stays the wire dict (it is what was signed)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    v: StrictInt
    id: str = Field(pattern=UUID_PATTERN)
    type: str = Field(min_length=1, max_length=64)
    site: Name
    edge: Name
    station: Name
    operator: Name
    seq: StrictInt = Field(ge=1)
    ts: str = Field(pattern=TS_PATTERN)
    body: dict[str, Any]
    sig: str = Field(pattern=r"^[0-9a-fA-F]{64}$")

    _parsed: Body | None = PrivateAttr(default=None)

    @property
    def parsed_body(self) -> Body:
        """The typed body, validated by check_envelope."""
        if self._parsed is None:
            model = body_model_for(self.type)
            if model is None:
                raise ProtocolError(RejectCode.UNKNOWN_ACTION_TYPE, f"unknown type {self.type!r}")
            self._parsed = model.model_validate(self.body)
        return self._parsed

    @property
    def occurred_at(self) -> datetime:
        """The device's clock at the scan."""
        return parse_ts(self.ts)


def _short(err: ValidationError) -> str:
    """One line naming each bad field, for an ack message a person can read."""
    parts = []
    for item in err.errors()[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "(root)"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)


def readable_id(raw: Any) -> str | None:
    """The id of a raw element when it is a string that can be stored and acked, else None."""
    value = raw.get("id") if isinstance(raw, dict) else None
    if isinstance(value, str) and wire_value_problem(value) is None and len(value) <= 64:
        return value
    return None


def readable_seq(raw: Any) -> int | None:
    """The seq of a raw element when it is a positive 64-bit integer, else None."""
    value = raw.get("seq") if isinstance(raw, dict) else None
    return value if type(value) is int and 1 <= value <= INT64_MAX else None


def check_envelope(raw: Any) -> Envelope:
    """Validate one envelope from the wire (version, schema, type, body); signature is separate.

    Raises ProtocolError with the most specific RejectCode, carrying the id and seq when
    they could be read so the refusal can still be acked against the right action.
    """
    if isinstance(raw, Unreadable):
        raise ProtocolError(raw.code, raw.message, action_id=raw.action_id, seq=raw.seq)
    if not isinstance(raw, dict):
        raise ProtocolError(RejectCode.NOT_AN_OBJECT, "each batch element must be a JSON object")
    action_id, seq = readable_id(raw), readable_seq(raw)
    problem = wire_value_problem(raw)
    if problem is not None:
        raise ProtocolError(problem.code, problem.message, action_id=action_id, seq=seq)
    version = raw.get("v")
    if type(version) is not int:
        raise ProtocolError(
            RejectCode.SCHEMA_INVALID,
            "field v must be an integer version",
            action_id=action_id,
            seq=seq,
        )
    if version != MAJOR_VERSION:
        raise ProtocolError(
            RejectCode.UNSUPPORTED_VERSION,
            f"envelope version {version} is not supported; this central speaks v{MAJOR_VERSION}",
            action_id=action_id,
            seq=seq,
        )
    try:
        envelope = Envelope.model_validate(raw)
    except ValidationError as err:
        raise ProtocolError(
            RejectCode.SCHEMA_INVALID, _short(err), action_id=action_id, seq=seq
        ) from err
    model = body_model_for(envelope.type)
    if model is None:
        raise ProtocolError(
            RejectCode.UNKNOWN_ACTION_TYPE,
            f"unknown action type {envelope.type!r}",
            action_id=action_id,
            seq=seq,
        )
    try:
        envelope._parsed = model.model_validate(envelope.body)
    except ValidationError as err:
        raise ProtocolError(
            RejectCode.BODY_INVALID, f"{envelope.type}: {_short(err)}", action_id=action_id, seq=seq
        ) from err
    return envelope


def normalize_body(action_type: str, body: dict[str, Any]) -> dict[str, Any]:
    """Validate a body and return its wire form (decimal strings, ISO dates, no nulls)."""
    model = body_model_for(action_type)
    if model is None:
        raise ProtocolError(RejectCode.UNKNOWN_ACTION_TYPE, f"unknown action type {action_type!r}")
    try:
        parsed = model.model_validate(body)
    except ValidationError as err:
        raise ProtocolError(RejectCode.BODY_INVALID, f"{action_type}: {_short(err)}") from err
    return parsed.model_dump(mode="json", exclude_none=True)


def build_envelope(
    *,
    type: str,
    site: str,
    edge: str,
    station: str,
    operator: str,
    seq: int,
    body: dict[str, Any],
    secret: str,
    id: str | None = None,
    ts: datetime | str | None = None,
) -> dict[str, Any]:
    """Make a signed wire envelope (a plain dict) from its parts; the body is validated."""
    return seal_envelope(
        type=type,
        site=site,
        edge=edge,
        station=station,
        operator=operator,
        seq=seq,
        wire_body=normalize_body(type, body),
        secret=secret,
        id=id,
        ts=ts,
    )


def seal_envelope(
    *,
    type: str,
    site: str,
    edge: str,
    station: str,
    operator: str,
    seq: int,
    wire_body: dict[str, Any],
    secret: str,
    id: str | None = None,
    ts: datetime | str | None = None,
) -> dict[str, Any]:
    """Sign an envelope whose body is already in wire form (``normalize_body`` made it)."""
    if isinstance(ts, datetime):
        ts = format_ts(ts)
    envelope: dict[str, Any] = {
        "v": MAJOR_VERSION,
        "id": id or new_action_id(),
        "type": type,
        "site": site,
        "edge": edge,
        "station": station,
        "operator": operator,
        "seq": seq,
        "ts": ts or format_ts(datetime.now(UTC)),
        "body": wire_body,
    }
    envelope["sig"] = sign(envelope, secret)
    return envelope
