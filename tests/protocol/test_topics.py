"""Topic names are built and parsed in one place and refuse unsafe names."""

import pytest

from protocol import ProtocolError
from protocol.topics import (
    ACT_FILTER,
    CENTRAL_STATE,
    ack_topic,
    act_topic,
    parse_act_topic,
    parse_state_topic,
    shared,
    state_topic,
)


def test_topic_shapes_match_the_contract() -> None:
    assert act_topic("plant-1", "edge-07") == "ioe/v1/plant-1/edge-07/act"
    assert ack_topic("plant-1", "edge-07") == "ioe/v1/plant-1/edge-07/ack"
    assert state_topic("plant-1", "edge-07") == "ioe/v1/plant-1/edge-07/state"
    assert CENTRAL_STATE == "ioe/v1/central/state"
    assert shared(ACT_FILTER) == "$share/central/ioe/v1/+/+/act"


def test_parse_roundtrip() -> None:
    assert parse_act_topic(act_topic("p", "e")) == ("p", "e")
    assert parse_state_topic(state_topic("p", "e")) == ("p", "e")


@pytest.mark.parametrize(
    "site,edge",
    [("a/b", "e"), ("p", "+"), ("p", "#"), ("", "e"), ("central", "e"), ("p", "x" * 65)],
)
def test_unsafe_names_refused(site: str, edge: str) -> None:
    with pytest.raises(ProtocolError):
        act_topic(site, edge)


def test_parse_refuses_other_topics() -> None:
    with pytest.raises(ProtocolError):
        parse_act_topic("ioe/v1/p/e/ack")
    with pytest.raises(ProtocolError):
        parse_act_topic("ioe/v1/central/state")
