"""lp.move: LP then location, or a location then many LPs (put-away)."""

from edge.flows import Refusal, Setup
from edge.flows.move import Move
from tests.edge.flows.helpers import DONE, actions, scan, walk


def test_an_lp_then_its_location_is_one_move() -> None:
    flow = Move()
    answers, data = walk(flow, scan("lp", "LP1"), scan("location", "A-02"))
    assert flow.step(flow.start()).kinds == ("lp", "location")
    assert answers[0].message == "LP LP1"
    assert actions(answers) == [("lp.move", {"lp": "LP1", "to_location": "A-02"})]
    assert data == {}  # one move, then a fresh start


def test_a_location_first_puts_away_every_lp_until_done() -> None:
    flow = Move()
    answers, data = walk(
        flow,
        scan("location", "A-01"),
        scan("lp", "LP1"),
        scan("lp", "LP2"),
        scan("location", "B-07"),
        scan("lp", "LP3"),
    )
    assert actions(answers) == [
        ("lp.move", {"lp": "LP1", "to_location": "A-01"}),
        ("lp.move", {"lp": "LP2", "to_location": "A-01"}),
        ("lp.move", {"lp": "LP3", "to_location": "B-07"}),
    ]
    assert flow.step(data).prompt == "scan an LP to put away to B-07 (CMD:done when finished)"
    [done], data = walk(flow, DONE, data=data)
    assert done.message == "move finished (location B-07)" and data == {}


def test_a_second_lp_before_the_location_is_refused() -> None:
    flow = Move()
    [_, refused], data = walk(flow, scan("lp", "LP1"), scan("lp", "LP2"))
    assert refused == Refusal(
        "NEED_LOCATION", "LP LP2 does not fit here: scan the location to move LP1 to"
    )
    assert data == {"lp": "LP1"}


def test_a_station_location_makes_every_lp_a_put_away_to_it() -> None:
    flow = Move(Setup(location="DOCK"))
    answers, data = walk(flow, scan("lp", "LP1"), DONE)
    assert actions(answers) == [("lp.move", {"lp": "LP1", "to_location": "DOCK"})]
    assert data == {"location": "DOCK"}


def test_a_quantity_is_refused_saying_what_is_expected() -> None:
    [refused], _ = walk(Move(), scan("qty", "5"))
    assert isinstance(refused, Refusal) and refused.code == "NEED_LP"
    assert refused.message == (
        "quantity 5 does not fit here: scan an LP to move, or the location to put LPs away to"
    )
