"""The overlay, action by action: what an unacked action changes on an LP's cached summary."""

from typing import Any

from edge.ref_overlay import Source, overlay_lp
from tests.edge.ref_helpers import lp


def env(seq: int, type: str, **body: Any) -> dict[str, Any]:
    return {"id": f"a{seq}", "seq": seq, "type": type, "body": body}


def test_a_consume_of_everything_leaves_a_consumed_lp() -> None:
    whole = overlay_lp("LP1", lp("LP1"), [env(1, "lp.consume", lp="LP1", work_order="WO")], {})
    assert (whole.data["qty"], whole.data["status"]) == ("0", "consumed")
    part = overlay_lp(
        "LP1", lp("LP1"), [env(1, "lp.consume", lp="LP1", work_order="WO", qty="2.5")], {}
    )
    assert (part.data["qty"], part.data["status"]) == ("7.5", "available")
    assert part.actions == ["a1"]


def test_pack_then_unpack_and_a_load() -> None:
    out = overlay_lp(
        "LP1",
        lp("LP1"),
        [
            env(1, "lp.pack", lp="LP1", parent="PAL-1"),
            env(2, "lp.unpack", lp="LP1"),
            env(3, "lp.pack", lp="LP1", parent="PAL-2"),
            env(4, "ship.load", shipment="SH-1", lp="LP1"),
        ],
        {},
    )
    assert (out.data["parent"], out.data["shipment"]) == ("PAL-2", "SH-1")
    assert out.actions == ["a1", "a2", "a3", "a4"]


def test_a_lot_hold_holds_the_lps_of_that_lot_and_product_only() -> None:
    hold = env(1, "qc.hold", lot="L1", item="P-100", reason="DAMAGED")
    assert overlay_lp("LP1", lp("LP1"), [hold], {}).data["status"] == "on_hold"
    other = overlay_lp("LP2", lp("LP2", product="P-200"), [hold], {})
    assert other.data["status"] == "available" and other.actions == []
    released = overlay_lp("LP1", lp("LP1"), [hold, env(2, "qc.release", lp="LP1", reason="OK")], {})
    assert released.data["status"] == "available"


def test_a_merge_empties_its_source_and_fills_its_target() -> None:
    merge = env(2, "lp.merge", lp="LP2", into="LP1")
    source = Source(
        lp("LP2", qty="4"), [env(1, "lp.consume", lp="LP2", qty="1", work_order="W"), merge]
    )
    into = overlay_lp("LP1", lp("LP1"), [merge], {"LP2": source})
    assert into.data["qty"] == "13", "10 + what LP2 held when merged (4 - 1)"
    gone = overlay_lp("LP2", lp("LP2", qty="4"), [merge], {})
    assert (gone.data["qty"], gone.data["merged_into"]) == ("0", "LP1")


def test_an_lp_this_edge_received_is_known_before_central_acks_it() -> None:
    receive = env(
        1, "lp.receive", lp="LP-NEW", item="P-7", qty="12", uom="kg", location="RECV", lot="L9"
    )
    out = overlay_lp("LP-NEW", None, [receive], {})
    assert out.data is not None
    assert (out.data["product"], out.data["qty"], out.data["location"]) == ("P-7", "12", "RECV")
    assert overlay_lp("LP-OTHER", None, [receive], {}).data is None


def test_a_count_changes_nothing_until_a_manager_approves_it() -> None:
    count = env(1, "count.record", session="C1", location="A-01", lps=[{"lp": "LP1", "qty": "3"}])
    out = overlay_lp("LP1", lp("LP1"), [count], {})
    assert out.data == lp("LP1") and out.actions == []
