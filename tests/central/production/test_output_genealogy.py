"""An output links to every LP consumed on its work order before it: a recall from the raw LP
reaches every output, and every output traces back to it. Actions go through the action
path as the floor sends them; traces are read through the REST API."""

from typing import Any

import pytest

from protocol import AckResult
from tests.central.conftest import Central
from tests.central.production.test_reservations import add_wo

API = "/api/v1"


async def act(central: Central, type: str, body: dict[str, Any]) -> str:
    """Send one action as the floor does; it must apply. Answers its id."""
    env = central.env(type, body)
    ack = await central.send_one(env)
    assert ack.result == AckResult.APPLIED, ack
    return env["id"]


async def output(central: Central, number: str, work_order: str = "WO-1001", **body: Any) -> str:
    """wo.output of LP ``number`` (2 of the order's product at A-01)."""
    fields = {"work_order": work_order, "qty": "2", "location": "A-01", "lp": number, **body}
    return await act(central, "wo.output", fields)


async def consume(central: Central, lp: str, work_order: str = "WO-1001", **body: Any) -> str:
    """lp.consume of ``lp`` (whole unless a qty is given) into ``work_order``."""
    return await act(central, "lp.consume", {"lp": lp, "work_order": work_order, **body})


async def traced(central: Central, number: str, **params: Any) -> dict[str, Any]:
    """GET an LP's genealogy; it must answer 200."""
    response = await central.client.get(f"{API}/license-plates/{number}/genealogy", params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def reached(answer: dict[str, Any]) -> set[str]:
    """The numbers of every LP a trace reached (its listing), the start left out."""
    return {lp["number"] for lp in answer["lps"]} - {answer["lp"]}


def tree_numbers(node: dict[str, Any]) -> set[str]:
    """Every LP number in a trace tree, below its root."""
    found: set[str] = set()
    for child in node["children"]:
        found |= {child["lp"]["number"]} | tree_numbers(child)
    return found


async def check_recall(
    central: Central, raw: str, down: set[str], ups: dict[str, set[str]]
) -> None:
    """Down from ``raw`` reaches exactly ``down`` (tree and listing agree); up from each LP of
    ``ups`` reaches exactly its set."""
    answer = await traced(central, raw, direction="down")
    assert reached(answer) == tree_numbers(answer["tree"]) == down
    assert not answer["truncated"] and answer["nodes"] == len(down) + 1
    for number, expected in ups.items():
        up = await traced(central, number, direction="up")
        assert reached(up) == tree_numbers(up["tree"]) == expected, number


async def test_one_consumption_then_five_outputs(seeded: Central) -> None:
    await seeded.receive("R-1", "10", lot="RL-1")
    await consume(seeded, "R-1")
    cartons = [f"C-{n}" for n in range(1, 6)]
    for number in cartons:
        await output(seeded, number, lot="FL-1")
    await check_recall(seeded, "R-1", set(cartons), {c: {"R-1"} for c in cartons})
    down = await traced(seeded, "R-1")
    edges = [
        (c["lp"]["number"], c["edge"]["kind"], c["edge"]["work_order"])
        for c in down["tree"]["children"]
    ]
    assert edges == [(c, "PRODUCE", "WO-1001") for c in cartons]
    assert down["summary"] == {
        "lots": [
            {
                "product": "FG-1",
                "lot": "FL-1",
                "site": "plant-1",
                "uom": "ea",
                "lps": 5,
                "qty": "10",
            },
            {
                "product": "RAW-1",
                "lot": "RL-1",
                "site": "plant-1",
                "uom": "kg",
                "lps": 1,
                "qty": "0",
            },
        ],
        "on_hold": [],
        "consumed": ["R-1"],
        "shipped": [],
    }
    assert [lp["number"] for lp in down["lps"]] == ["R-1", *cartons]  # the start, then by link


async def test_interleaved_consumptions_and_outputs(seeded: Central) -> None:
    for raw in ("R-1", "R-2", "R-3"):
        await seeded.receive(raw, "10", lot=f"L-{raw}")
    await consume(seeded, "R-1")
    await output(seeded, "C-1")
    await consume(seeded, "R-2", qty="4")
    await output(seeded, "C-2")
    await consume(seeded, "R-3")
    await consume(seeded, "R-2")  # the rest of R-2: still one parent of what follows
    await output(seeded, "C-3")
    await check_recall(
        seeded,
        "R-1",
        {"C-1", "C-2", "C-3"},
        {"C-1": {"R-1"}, "C-2": {"R-1", "R-2"}, "C-3": {"R-1", "R-2", "R-3"}},
    )
    await check_recall(seeded, "R-2", {"C-2", "C-3"}, {})  # not C-1, made before R-2 was used
    await check_recall(seeded, "R-3", {"C-3"}, {})
    up = await traced(seeded, "C-3", direction="up")
    assert [c["lp"]["number"] for c in up["tree"]["children"]] == ["R-1", "R-2", "R-3"]


async def two_level_plant(central: Central) -> None:
    """Raw R-1 and R-2 into dough D-1 (WO-D); D-1 into cartons K-1..K-4 (WO-1001), packed
    onto pallet PAL-1."""
    made = await central.client.post(
        f"{API}/products",
        json={
            "site": "plant-1",
            "code": "DOUGH",
            "name": "Dough",
            "uom": "kg",
            "type": "intermediate",
        },
    )
    assert made.status_code == 201, made.text
    await add_wo(central, "WO-D", "50", product="DOUGH", status="released")
    await central.receive("R-1", "10", lot="RL-1")
    await central.receive("R-2", "10", lot="RL-2")
    await consume(central, "R-1", "WO-D")
    await consume(central, "R-2", "WO-D", qty="5")
    await output(central, "D-1", "WO-D", qty="15", lot="DL-1")
    await consume(central, "D-1")
    for n in range(1, 5):
        await output(central, f"K-{n}", lot="FL-1")
    await central.receive("PAL-1", "1", item="FG-1", uom="ea", location="A-01")
    for n in range(1, 5):
        await act(central, "lp.pack", {"lp": f"K-{n}", "parent": "PAL-1"})


async def test_a_two_level_chain_onto_a_pallet(seeded: Central) -> None:
    await two_level_plant(seeded)
    cartons = {f"K-{n}" for n in range(1, 5)}
    await check_recall(
        seeded,
        "R-1",
        {"D-1", "PAL-1", *cartons},
        {
            **{k: {"D-1", "R-1", "R-2"} for k in cartons},
            "PAL-1": {"D-1", "R-1", "R-2", *cartons},
        },
    )
    down = await traced(seeded, "R-1")
    (dough,) = down["tree"]["children"]
    assert dough["lp"]["number"] == "D-1" and dough["edge"]["work_order"] == "WO-D"
    assert {c["lp"]["number"] for c in dough["children"]} == cartons
    assert all(c["children"][0]["lp"]["number"] == "PAL-1" for c in dough["children"])
    summary = down["summary"]
    assert summary["consumed"] == ["D-1", "R-1"]
    assert [(lot["product"], lot["lot"], lot["lps"], lot["qty"]) for lot in summary["lots"]] == [
        ("DOUGH", "DL-1", 1, "0"),
        ("FG-1", None, 1, "1"),  # the pallet's own LP
        ("FG-1", "FL-1", 4, "8"),
        ("RAW-1", "RL-1", 1, "0"),
    ]
    listed = {lp["number"]: lp for lp in down["lps"]}
    assert listed["K-1"] == {
        "number": "K-1",
        "site": "plant-1",
        "product": "FG-1",
        "lot": "FL-1",
        "expiry": None,
        "qty": "2",
        "uom": "ea",
        "status": "available",
        "location": "A-01",
        "parent": "PAL-1",
    }


async def test_held_material_forced_in_and_an_output_forced_onto_a_completed_order(
    seeded: Central,
) -> None:
    """Conflicts resolved with "apply" link like applied actions: the forced consumption is
    a parent of every later output, and a forced output has every earlier input."""
    await seeded.receive("R-1", "10", lot="RL-1")
    await seeded.receive("R-2", "10", lot="RL-2")
    await act(seeded, "qc.hold", {"lp": "R-1", "reason": "mould"})
    env = seeded.env("lp.consume", {"lp": "R-1", "work_order": "WO-1001"})
    ack = await seeded.send_one(env)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "LP_ON_HOLD")
    forced = await seeded.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={"resolution": "apply", "reason": "lab cleared the sack"},
    )
    assert forced.status_code == 200, forced.text
    await output(seeded, "C-1")
    await consume(seeded, "R-2")
    await output(seeded, "C-2")
    await act(seeded, "wo.complete", {"work_order": "WO-1001"})
    late = seeded.env(
        "wo.output", {"work_order": "WO-1001", "qty": "2", "location": "A-01", "lp": "C-3"}
    )
    ack = await seeded.send_one(late)
    assert (ack.result, ack.code) == (AckResult.CONFLICT, "WO_CLOSED")
    resolved = await seeded.client.post(
        f"{API}/conflicts/{ack.conflict_id}/resolve",
        json={"resolution": "apply", "reason": "pallet found after closing"},
    )
    assert resolved.status_code == 200, resolved.text
    await check_recall(
        seeded,
        "R-1",
        {"C-1", "C-2", "C-3"},
        {"C-1": {"R-1"}, "C-2": {"R-1", "R-2"}, "C-3": {"R-1", "R-2"}},
    )
    up = await traced(seeded, "C-3", direction="up")
    cause = resolved.json()["conflict"]["resolution_cause"]
    assert {c["edge"]["action_id"] for c in up["tree"]["children"]} == {cause}
    down = await traced(seeded, "R-2")
    assert reached(down) == {"C-2", "C-3"}


@pytest.mark.parametrize("batch", [True, False])
async def test_consumption_in_the_same_batch_as_the_output(seeded: Central, batch: bool) -> None:
    await seeded.receive("R-1", "10")
    await seeded.receive("R-2", "10")
    await consume(seeded, "R-1")
    await output(seeded, "C-1")
    envs = [
        seeded.env("lp.consume", {"lp": "R-2", "work_order": "WO-1001"}),
        seeded.env(
            "wo.output", {"work_order": "WO-1001", "qty": "1", "location": "A-01", "lp": "C-2"}
        ),
    ]
    if batch:
        acks = await seeded.send(*envs)
    else:
        acks = [await seeded.send_one(env) for env in envs]
    assert [a.result for a in acks] == [AckResult.APPLIED] * 2
    up = await traced(seeded, "C-2", direction="up")
    assert [c["lp"]["number"] for c in up["tree"]["children"]] == ["R-1", "R-2"]
