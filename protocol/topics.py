"""MQTT topic names: built and parsed here only, never by f-strings elsewhere."""

import re

from protocol.codes import RejectCode
from protocol.errors import ProtocolError
from protocol.types import NAME_PATTERN

PREFIX = "ioe/v1"
CENTRAL_STATE = f"{PREFIX}/central/state"
ACT_FILTER = f"{PREFIX}/+/+/act"
STATE_FILTER = f"{PREFIX}/+/+/state"
ACK_FILTER = f"{PREFIX}/+/+/ack"
REF_FILTER = f"{PREFIX}/+/ref/#"
REF_REQUEST_FILTER = f"{PREFIX}/+/+/ref-request"
REF_SNAPSHOT_FILTER = f"{PREFIX}/+/+/ref-snapshot"
SHARED_GROUP = "central"

_NAME = re.compile(NAME_PATTERN)
_ACT = re.compile(r"^ioe/v1/([^/]+)/([^/]+)/act$")
_STATE = re.compile(r"^ioe/v1/([^/]+)/([^/]+)/state$")
_REF_REQUEST = re.compile(r"^ioe/v1/([^/]+)/([^/]+)/ref-request$")


def _check(kind: str, value: str) -> str:
    if not _NAME.match(value) or value in ("central", "ref"):
        raise ProtocolError(RejectCode.BAD_TOPIC, f"{kind} {value!r} cannot be used in a topic")
    return value


def act_topic(site: str, edge: str) -> str:
    """Where an edge publishes its action batches."""
    return f"{PREFIX}/{_check('site', site)}/{_check('edge', edge)}/act"


def ack_topic(site: str, edge: str) -> str:
    """Where central answers an edge's batches."""
    return f"{PREFIX}/{_check('site', site)}/{_check('edge', edge)}/ack"


def state_topic(site: str, edge: str) -> str:
    """An edge's retained presence topic (also its last will)."""
    return f"{PREFIX}/{_check('site', site)}/{_check('edge', edge)}/state"


def ref_topic(site: str, kind: str) -> str:
    """Reference-data deltas for one site."""
    return f"{PREFIX}/{_check('site', site)}/ref/{_check('kind', kind)}"


def ref_filter(site: str) -> str:
    """Every reference-data topic of one site (what a broker ACL lets its edges read)."""
    return f"{PREFIX}/{_check('site', site)}/ref/#"


def ref_request_topic(site: str, edge: str) -> str:
    """Where an edge asks central for a reference-data snapshot."""
    return f"{PREFIX}/{_check('site', site)}/{_check('edge', edge)}/ref-request"


def ref_snapshot_topic(site: str, edge: str) -> str:
    """Where central sends an edge the pages of its snapshot."""
    return f"{PREFIX}/{_check('site', site)}/{_check('edge', edge)}/ref-snapshot"


def shared(topic_filter: str, group: str = SHARED_GROUP) -> str:
    """A shared-subscription filter, so central replicas split one stream."""
    return f"$share/{group}/{topic_filter}"


def _parse(pattern: re.Pattern[str], topic: str) -> tuple[str, str]:
    match = pattern.match(topic)
    if not match:
        raise ProtocolError(RejectCode.BAD_TOPIC, f"unexpected topic {topic!r}")
    return _check("site", match.group(1)), _check("edge", match.group(2))


def parse_act_topic(topic: str) -> tuple[str, str]:
    """(site, edge) of an act topic, or ProtocolError BAD_TOPIC."""
    return _parse(_ACT, topic)


def parse_state_topic(topic: str) -> tuple[str, str]:
    """(site, edge) of an edge state topic, or ProtocolError BAD_TOPIC."""
    return _parse(_STATE, topic)


def parse_ref_request_topic(topic: str) -> tuple[str, str]:
    """(site, edge) of a snapshot request topic, or ProtocolError BAD_TOPIC."""
    return _parse(_REF_REQUEST, topic)
