"""Request and response models of the local API, so its OpenAPI schema tells the whole story."""

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ScanIn(BaseModel):
    """A raw scan, exactly as the scanner would have sent it."""

    data: str = Field(max_length=4096)


class ActionIn(BaseModel):
    """An action to enqueue for a station, e.g. from a kiosk form."""

    type: str
    station: str
    operator: str
    body: dict[str, Any]


class HealthOut(BaseModel):
    """Liveness: the API answers and the queue can be read."""

    status: str
    site: str
    edge: str


class StepOut(BaseModel):
    """One step of a flow: the kinds of scan it takes and what the station asks for."""

    name: str
    prompt: str
    kinds: list[str]
    done: bool = Field(description="CMD:done means something at this step")


class FlowOut(BaseModel):
    """A flow a station may run (switch with ACT:<name>), with its steps."""

    name: str = Field(description="the action type the flow makes, e.g. lp.move")
    title: str
    steps: list[StepOut]


class ScannerStateOut(BaseModel):
    """A scanner driver: where it is and why."""

    kind: str = Field(description="simulated, serial or evdev")
    status: Literal["connected", "waiting", "error", "stopped", "idle"] = Field(
        description="connected: reading its device; waiting: the device is not there (the "
        "driver looks again by itself); error: there but unusable, see reason; stopped: the "
        "edge is shutting down or the input ended; idle: not started"
    )
    device: str | None = None
    reason: str | None = None
    since: str = Field("", description="edge time of the last status change")


class StationOut(BaseModel):
    """A station: who scans, which flow and step, what it expects next, what it has so far."""

    name: str
    operator: str | None = Field(
        description="who is signed in; null at a sign-in station until someone scans OP:<id>"
    )
    require_sign_in: bool = Field(False, description="actions need the signed-in operator")
    action: str = Field(description="the flow the station is in (same as flow)")
    location: str | None = None
    work_order: str | None = None
    qty: str | None = None
    flow: str | None = None
    step: str | None = Field(None, description="the step the flow is at, e.g. location")
    expect: str | None = Field(None, description="what to scan next, in the operator's words")
    expected: list[str] = Field(
        default_factory=list, description="the scan kinds the step takes (edge/barcodes kinds)"
    )
    collected: dict[str, str] = Field(
        default_factory=dict, description="what the unfinished sequence holds so far"
    )
    locale: str | None = None
    idle_timeout_seconds: float | None = None
    quality_reasons: list[str] = Field(default_factory=list)
    flows: list[FlowOut] | None = Field(
        None, description="the flows this station allows, with their steps (not in scan answers)"
    )
    scanner: ScannerStateOut | None = Field(
        None, description="the station's scanner driver (null: no scanner, or a scan answer)"
    )


class ScannerOut(ScannerStateOut):
    """A station's scanner driver: where it is and why."""

    station: str


class QueuedActionOut(BaseModel):
    """An action on the edge's disk: its id, its seq and the device time of the scan."""

    id: str
    seq: int
    state: str
    ts: str


class ScanOut(BaseModel):
    """What a scan did: changed the context, queued an action, or was refused (and why)."""

    station: str
    result: Literal["context", "queued", "refused"]
    message: str
    code: str | None = Field(None, description="why a scan was refused, e.g. NEED_LOCATION")
    expect: str = Field(description="what the station expects next, in the operator's words")
    expected: list[str] = Field(default_factory=list, description="the scan kinds it takes")
    action_type: str | None = None
    action: QueuedActionOut | None = None
    state: StationOut


class ActionOut(BaseModel):
    """One stored action and its latest known outcome (central's code, message, conflict)."""

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


class QueueOut(BaseModel):
    """Queue figures, connectivity and the backlog warning."""

    depth: int = Field(description="actions not final yet (queued or sent)")
    oldest_pending_ts: str | None
    last_ack_seq: int
    next_seq: int
    counts: dict[str, int] = Field(description="actions by state")
    commits: int = Field(description="transactions committed since the queue was opened")
    disk_full: bool = Field(
        False,
        description="the edge's disk is full: a new scan would be refused (507) now, checked "
        "against the free space when read; queued actions keep syncing",
    )
    broker_connected: bool
    central_online: bool
    in_flight: int | None = Field(None, description="actions sent and waiting for their ack")
    refused_acks: int | None = Field(
        None, description="ack messages ignored since start: unsigned, badly signed, another edge's"
    )
    refused_central_states: int | None = Field(
        None, description="central state messages ignored since start: unsigned or badly signed"
    )
    backlog_age_seconds: float | None
    backlog_warn_seconds: float
    backlog_warning: bool


class EventOut(BaseModel):
    """The data of one server-sent event: the edge time plus the fields of its kind.

    ``scan``: station, result, message, code, kind, value, state; ``feedback`` (after every
    scan, and when an idle sequence is dropped): station, level (ok, error, info), sound (ok,
    error, prompt), message, code, expect, expected, flow, step, operator, action_id and
    action_type when an action was queued; ``action``: id, seq, state,
    and type and station when queued and when first sent, code and message once central
    answered;
    ``connectivity``: broker_connected, central_online, in_flight; ``warning``: code and
    message or oldest_pending_ts.
    """

    model_config = ConfigDict(extra="allow")

    ts: str


class LookupOut(BaseModel):
    """A record from the edge's reference cache, and how far to trust it."""

    kind: Literal["lp", "product", "location", "work_order", "shipment"]
    key: str = Field(description="what was looked up (a GTIN finds its product)")
    data: dict[str, Any] = Field(description="the record (docs/events.md#reference-data)")
    as_of: str | None = Field(description="when central was last heard for this kind")
    stale: bool = Field(description="the record may be out of date (see stale_reasons)")
    stale_reasons: list[str]
    pending: bool = Field(
        default=False, description="an LP changed by this edge's actions central has not acked"
    )
    pending_actions: list[str] = Field(default_factory=list)
    cached: dict[str, Any] | None = Field(
        default=None, description="central's own summary, when pending actions change it"
    )


class TasksOut(BaseModel):
    """Open pick tasks (assigned or not), ordered by wave and sequence."""

    station: str | None
    tasks: list[dict[str, Any]]
    as_of: str | None
    stale: bool
    stale_reasons: list[str]


class RefKindOut(BaseModel):
    """How far one kind of the cache has followed central."""

    last_id: int = Field(description="the id of the last delta (or snapshot) applied")
    head: int = Field(description="how far central said the kind has got (its retained head)")
    as_of: str | None
    records: int
    stale: bool
    stale_reasons: list[str]


class RefStatusOut(BaseModel):
    """The reference cache: each kind's position and what the follower counted."""

    kinds: dict[str, RefKindOut]
    snapshot_pending: list[str]
    applied: int = Field(description="deltas applied")
    repeats: int = Field(description="deltas dropped as already applied")
    gaps: int = Field(description="deltas that showed a missed one (each asks for a snapshot)")
    refused: int = Field(description="messages dropped: not signed by central, or misplaced")
    snapshot_requests: int
    snapshots: int = Field(description="snapshots swapped in")


class OperatorOut(BaseModel):
    """An operator id as this edge knows it: whether its badge is a supervisor's."""

    id: str
    supervisor: bool = Field(description="listed in edge.toml's supervisors")


class ResolutionOut(BaseModel):
    """A resolution this edge forwarded and central confirmed."""

    resolution: str = Field(description="apply, apply_with_changes or void")
    by: str = Field(description="the supervisor's operator id")
    at: str = Field(description="edge time central confirmed it")
    status: str = Field(description="central's conflict status after it")


class RefusedActionOut(BaseModel):
    """One of this edge's actions central answered conflict or rejected."""

    action_id: str
    seq: int
    type: str
    station: str
    operator: str
    state: Literal["conflict", "rejected"]
    code: str | None
    message: str | None
    conflict_id: int | None = Field(description="central's conflict inbox id (conflicts only)")
    body: dict[str, Any]
    ts: str
    acked_at: str | None
    resolution: ResolutionOut | None


class ConflictsOut(BaseModel):
    """This edge's refused actions (of a station, or all), newest first, from its own queue."""

    station: str | None
    conflicts: list[RefusedActionOut]


class CentralConflictOut(BaseModel):
    """Central's answer about one conflict, forwarded as central gave it."""

    conflict_id: int
    central: dict[str, Any] = Field(
        description="central's JSON: GET /conflicts/{id}, or POST /conflicts/{id}/resolve"
    )


class ResolveIn(BaseModel):
    """A supervisor's resolution of one of this edge's conflicts, forwarded to central."""

    model_config = ConfigDict(extra="forbid")

    supervisor: str = Field(min_length=1, max_length=64, description="the supervisor's id")
    resolution: Literal["apply", "apply_with_changes", "void"] = Field(
        description="apply anyway, apply a changed body (apply with a body does that), or void"
    )
    reason: str = Field(min_length=1, max_length=400)
    body: dict[str, Any] | None = Field(default=None, description="the changed action body")


class RecentActionOut(BaseModel):
    """One of the station's last actions, with a short line saying what it did."""

    action_id: str
    type: str
    state: str
    code: str | None
    message: str | None
    summary: str = Field(description='e.g. "move LP-1 to A-02"')
    ts: str


class ProgressOut(BaseModel):
    """A station's running totals for its current job, and its recent actions.

    ``job`` by flow (null when the flow has no context yet): ``consume``, ``output``, ``load``,
    ``count``, ``pick``, or ``{"kind": <flow title>, "done": N}`` (actions of the flow saved
    at the station today). Quantities are decimal strings; a figure the reference cache does
    not hold is null, never zero (docs/edge.md#kiosk-support).
    """

    station: str
    flow: str
    as_of: str | None = Field(description="the oldest time central was heard for the figures")
    stale: bool
    stale_reasons: list[str]
    stale_since: str | None = Field(description="since when the figures may be stale")
    job: dict[str, Any] | None
    recent: list[RecentActionOut]
