"""Pick task and shipment numbers: their own kinds where a station expects them, and nothing
that decoded before changes meaning."""

from pathlib import Path

import pytest

from edge.barcodes.decode import BarcodeDecoder
from edge.barcodes.rules import DEFAULT_RULES
from edge.barcodes.scan import Scan, ScanKind
from edge.config import load_config
from edge.errors import ScanError
from edge.flows import FLOWS
from tests.edge.barcodes.labels import SSCC

decode = BarcodeDecoder()
NEW_RULES = ("pick-task", "shipment", "task-number", "shipment-number")
# The decoder as it was before tasks and shipments had kinds of their own.
before = BarcodeDecoder(tuple(r for r in DEFAULT_RULES if r.name not in NEW_RULES))


@pytest.mark.parametrize(
    ("text", "kind", "value", "rule"),
    [
        ("TASK:PT-000001", "task", "PT-000001", "pick-task"),
        ("task: PT-000042 ", "task", "PT-000042", "pick-task"),
        ("SHIP:SH-000001", "shipment", "SH-000001", "shipment"),
        ("Ship:SH-1234567", "shipment", "SH-1234567", "shipment"),
    ],
)
def test_task_and_shipment_labels_read_everywhere(
    text: str, kind: str, value: str, rule: str
) -> None:
    scan = decode(text)
    assert (scan.kind, scan.value, scan.rule) == (kind, value, rule)


def test_bare_numbers_read_as_tasks_and_shipments_where_one_is_expected() -> None:
    task = decode("PT-000001", expected=["task"])
    assert task == Scan("task", "PT-000001", "PT-000001", "task-number")
    shipment = decode("SH-000007", expected=["lp", "shipment"])
    assert shipment == Scan("shipment", "SH-000007", "SH-000007", "shipment-number")
    # Anywhere else they are internal LP numbers, as they always were.
    assert decode("PT-000001") == Scan("lp", "PT-000001", "PT-000001", "internal-lp")
    assert decode("SH-000007", expected=["lp"]).kind == "lp"
    # Only central's shape: a short or lower-case number, or the other kind's, stays an LP.
    assert decode("PT-12", expected=["task"]).kind == "lp"
    assert decode("pt-000001", expected=["task"]).kind == "lp"
    assert decode("SH-000007", expected=["task"]).kind == "lp"


def test_a_task_label_scanned_where_it_matches_nothing_else_is_no_longer_refused() -> None:
    with pytest.raises(ScanError) as err:
        before("TASK:PT-000001")
    assert err.value.code == "NO_RULE_MATCHED"
    assert decode("TASK:PT-000001").kind == "task"


# What any flow of the edge's own expected before pick and load stations existed.
OLD_EXPECTED: list[tuple[ScanKind, ...]] = [
    step.expected
    for name, flow in FLOWS.items()
    if name not in ("pick.confirm", "ship.load")
    for step in flow.steps
]
TEXTS = [
    "PT-000001",
    "SH-000001",
    "PT-1234567",
    "LP-0001",
    "1720",
    "L-9",
    "LOC:A-01",
    "WO:WO-1001",
    "SH-1",
    SSCC,
    f"00{SSCC}3724",
]


@pytest.mark.parametrize("expected", [(), *OLD_EXPECTED])
def test_nothing_that_decoded_before_changes_meaning(expected: tuple[ScanKind, ...]) -> None:
    for text in TEXTS:
        assert decode(text, expected=expected) == before(text, expected=expected), (text, expected)


def test_explain_says_why_a_bare_task_number_was_an_lp() -> None:
    steps = {step["rule"]: step for step in decode.explain("PT-000001")["rules"]}
    assert steps["task-number"]["outcome"] == "skipped"
    assert steps["task-number"]["why"] == "only when the station expects task"
    assert decode.explain("PT-000001", expected=["task"])["scan"] == {
        "kind": "task",
        "value": "PT-000001",
        "rule": "task-number",
        "fields": {},
    }


def test_a_plant_reads_its_own_pick_list_labels(tmp_path: Path) -> None:
    path = tmp_path / "edge.toml"
    path.write_text(
        'site = "plant-1"\nedge_id = "edge-07"\nsecret = "0123456789abcdef0123456789abcdef"\n'
        '[[barcode_rules]]\nname = "pick-list"\nkind = "task"\n'
        "pattern = '^P/(?P<value>PT-[0-9]+)$'\n"
        '[[barcode_rules]]\nname = "truck"\nkind = "shipment"\n'
        "pattern = '^T/(?P<value>SH-[0-9]+)$'\n"
    )
    own = load_config(path, env={}).barcode_decoder()
    assert (own("P/PT-000003").kind, own("P/PT-000003").value) == ("task", "PT-000003")
    assert (own("T/SH-000004").kind, own("T/SH-000004").value) == ("shipment", "SH-000004")
