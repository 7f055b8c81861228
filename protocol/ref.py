"""Reference data from central to the edges: deltas, heads and snapshots, signed by central.

An edge answers lookups from its own cache (LPs, products, locations, work orders, pick tasks,
holds, shipments), so a station offline still knows what it scans. Central publishes each
kind's changes on ``ioe/v1/{site}/ref/{kind}`` as ``RefDelta`` messages. Per (site, kind) the
deltas form a chain: each names the id of the one before (``prev``), so an edge that missed
one sees the gap. A retained ``RefHead`` on ``ioe/v1/{site}/ref/head`` tells an edge coming
back how far every chain has got. An edge that starts empty or sees a gap asks for a snapshot
on its own ``ref-request`` topic (HMAC-signed with its key, like its actions) and gets the
pages on its ``ref-snapshot`` topic.

Everything central sends is signed with central's Ed25519 key (the one its state is signed
with, under another domain tag), so no other client of the broker can feed an edge made-up
reference data. Items are whole current states (an upsert replaces), so a delta applied twice
changes nothing.
"""

import hashlib
import hmac
import json
from typing import Any, Literal, TypeVar

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from protocol.canonical import canonical_json
from protocol.errors import SignatureRefused
from protocol.wire import dumps

REF_VERSION = 1
REF_KINDS = ("product", "location", "work_order", "task", "hold", "lp", "shipment")
# The kinds of the first reference data, which a request with no ``kinds`` asks for: edges
# made before later kinds (shipment) send that, and could not read pages of a kind they do
# not know. An edge names every later kind it wants.
FIRST_KINDS = ("product", "location", "work_order", "task", "hold", "lp")
HEAD = "head"  # the retained topic ioe/v1/{site}/ref/head
# Prefixed to the signed bytes so a reference signature can never be taken for anything else.
REF_DOMAIN = b"ioe/v1/ref\n"
REQUEST_DOMAIN = b"ioe/v1/ref-request\n"

RefKind = Literal["product", "location", "work_order", "task", "hold", "lp", "shipment"]


class RefItem(BaseModel):
    """One record's current state (``upsert``), or its removal (``delete``, ``data`` None).

    ``key`` per kind: product code, location code, work order number, task number, hold id
    (as text), LP number, shipment number. ``data`` shapes are in docs/events.md#reference-data."""

    model_config = ConfigDict(extra="forbid")

    op: Literal["upsert", "delete"]
    key: str = Field(min_length=1, max_length=128)
    data: dict[str, Any] | None = None


class RefDelta(BaseModel):
    """Changes of one kind at one site, published on ``ioe/v1/{site}/ref/{kind}``.

    ``id`` is the outbox event id of the newest change it carries; ``prev`` the ``id`` of the
    previous delta of the same (site, kind), 0 for the first. An edge whose last applied id
    for the kind is below ``prev`` has missed one."""

    model_config = ConfigDict(extra="forbid")

    v: int = REF_VERSION
    site: str
    kind: RefKind
    id: int = Field(ge=1)
    prev: int = Field(ge=0)
    items: list[RefItem]
    at: str  # when central published it (ISO 8601, UTC)


class RefHead(BaseModel):
    """How far each kind's chain has got at a site (retained on ``ioe/v1/{site}/ref/head``)."""

    model_config = ConfigDict(extra="forbid")

    v: int = REF_VERSION
    site: str
    heads: dict[str, int]  # kind -> id of its newest delta (0: none yet)
    at: str


class RefSnapshotRequest(BaseModel):
    """An edge asks for the whole current state (on ``ioe/v1/{site}/{edge}/ref-request``),
    signed with its key like its actions; ``kinds`` empty means ``FIRST_KINDS``."""

    model_config = ConfigDict(extra="forbid")

    v: int = REF_VERSION
    id: str = Field(min_length=1, max_length=64)  # the request's id, echoed in each page
    site: str
    edge: str
    kinds: list[RefKind] = Field(default_factory=list)
    ts: str


class RefSnapshotPage(BaseModel):
    """One page of a snapshot (on ``ioe/v1/{site}/{edge}/ref-snapshot``).

    ``as_of`` holds the heads the snapshot is consistent with: after the last page the edge's
    last applied id per kind is ``as_of[kind]``, and deltas with ``prev`` at or below it apply.
    Pages of one request are numbered 1..``pages``; each kind of the request is in them even
    when it has no items."""

    model_config = ConfigDict(extra="forbid")

    v: int = REF_VERSION
    request: str
    site: str
    edge: str
    as_of: dict[str, int]
    page: int = Field(ge=1)
    pages: int = Field(ge=1)
    kind: RefKind
    items: list[RefItem]


Signed = TypeVar("Signed", RefDelta, RefHead, RefSnapshotPage)


def _signed_bytes(message: dict[str, Any]) -> bytes:
    return REF_DOMAIN + canonical_json({k: v for k, v in message.items() if k != "sig"})


def sign_ref(message: RefDelta | RefHead | RefSnapshotPage, seed: bytes) -> bytes:
    """The payload central publishes: the message plus ``sig``, hex Ed25519 over its bytes."""
    body: dict[str, Any] = message.model_dump(mode="json")
    body["sig"] = Ed25519PrivateKey.from_private_bytes(seed).sign(_signed_bytes(body)).hex()
    return dumps(body)


def read_ref(payload: bytes, public_key: bytes, model: type[Signed]) -> Signed:
    """A reference message, only if central signed it; SignatureRefused otherwise."""
    message = _object(payload, "REF")
    given = message.get("sig")
    if not isinstance(given, str):
        raise SignatureRefused("REF_UNSIGNED", "the reference message has no signature")
    try:
        signature = bytes.fromhex(given)
        Ed25519PublicKey.from_public_bytes(public_key).verify(signature, _signed_bytes(message))
    except (ValueError, InvalidSignature) as err:
        raise SignatureRefused(
            "REF_BAD_SIGNATURE", "the signature does not match central's key"
        ) from err
    try:
        return model.model_validate({k: v for k, v in message.items() if k != "sig"})
    except ValidationError as err:
        raise SignatureRefused("REF_MALFORMED", f"does not fit the schema: {err}") from err


def _request_sig(message: dict[str, Any], secret: str) -> str:
    signed = REQUEST_DOMAIN + canonical_json({k: v for k, v in message.items() if k != "sig"})
    return hmac.new(secret.encode("utf-8"), signed, hashlib.sha256).hexdigest()


def sign_request(request: RefSnapshotRequest, secret: str) -> bytes:
    """The payload an edge publishes to ask for a snapshot, signed with its key."""
    body: dict[str, Any] = request.model_dump(mode="json")
    body["sig"] = _request_sig(body, secret)
    return dumps(body)


def read_request(payload: bytes, secret: str) -> RefSnapshotRequest:
    """A snapshot request, only if the edge's key signed it; SignatureRefused otherwise."""
    message = _object(payload, "REF_REQUEST")
    given = message.get("sig")
    if not isinstance(given, str):
        raise SignatureRefused("REF_REQUEST_UNSIGNED", "the request has no signature")
    if not hmac.compare_digest(given, _request_sig(message, secret)):
        raise SignatureRefused("REF_REQUEST_BAD_SIGNATURE", "the signature does not match")
    try:
        return RefSnapshotRequest.model_validate({k: v for k, v in message.items() if k != "sig"})
    except ValidationError as err:
        raise SignatureRefused("REF_REQUEST_MALFORMED", f"does not fit the schema: {err}") from err


def _object(payload: bytes, prefix: str) -> dict[str, Any]:
    try:
        message = json.loads(payload)
    except (ValueError, UnicodeDecodeError) as err:
        raise SignatureRefused(f"{prefix}_MALFORMED", f"not JSON: {err}") from err
    if not isinstance(message, dict):
        raise SignatureRefused(f"{prefix}_MALFORMED", "a reference message is a JSON object")
    return message
