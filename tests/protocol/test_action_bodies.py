"""Bodies of the plant actions: what each type accepts, and the refusals a device gets back."""

import pytest

from protocol import ProtocolError, RejectCode
from protocol.envelope import normalize_body


@pytest.mark.parametrize(
    ("type", "body", "wire"),
    [
        ("lp.split", {"lp": "LP-1", "qty": "2.5"}, {"lp": "LP-1", "qty": "2.5"}),
        ("lp.merge", {"lp": "LP-1", "into": "LP-2"}, {"lp": "LP-1", "into": "LP-2"}),
        ("lp.pack", {"lp": "C-1", "parent": "PAL-1"}, {"lp": "C-1", "parent": "PAL-1"}),
        ("lp.unpack", {"lp": "C-1"}, {"lp": "C-1"}),
        ("wo.start", {"work_order": "WO-1"}, {"work_order": "WO-1"}),
        ("wo.complete", {"work_order": "WO-1"}, {"work_order": "WO-1"}),
        (
            "qc.hold",
            {"lot": "L-7", "item": "FLOUR", "reason": "mould"},
            {"lot": "L-7", "item": "FLOUR", "reason": "mould"},
        ),
        (
            "qc.release",
            {"lp": "LP-1", "reason": "lab cleared"},
            {"lp": "LP-1", "reason": "lab cleared"},
        ),
        (
            "count.record",
            {
                "session": "CNT-1",
                "location": "A-01",
                "lps": [{"lp": "LP-1", "qty": "0"}, {"lp": "LP-2", "qty": "4.250"}],
            },
            {
                "session": "CNT-1",
                "location": "A-01",
                "lps": [{"lp": "LP-1", "qty": "0"}, {"lp": "LP-2", "qty": "4.25"}],
            },
        ),
    ],
)
def test_plant_bodies_travel_in_canonical_form(type: str, body: dict, wire: dict) -> None:
    assert normalize_body(type, body) == wire


@pytest.mark.parametrize(
    ("type", "body", "words"),
    [
        ("lp.split", {"lp": "LP-1", "qty": "0"}, "qty: Input should be greater than"),
        ("lp.merge", {"lp": "LP-1"}, "into"),
        ("qc.hold", {"lp": "LP-1", "lot": "L-7", "reason": "x"}, "exactly one of lp or lot"),
        ("qc.hold", {"reason": "x"}, "exactly one of lp or lot"),
        ("qc.hold", {"lp": "LP-1", "item": "FLOUR", "reason": "x"}, "item narrows a lot hold"),
        ("qc.hold", {"lp": "LP-1", "reason": ""}, "reason"),
        ("count.record", {"session": "CNT-1", "location": "A-01", "lps": []}, "lps"),
        (
            "count.record",
            {"session": "CNT-1", "location": "A-01", "lps": [{"lp": "LP-1", "qty": "-1"}]},
            "lps.0.qty: Input should be greater",
        ),
        ("wo.start", {"work_order": "WO-1", "qty": "1"}, "qty"),
    ],
)
def test_bad_plant_bodies_are_refused_with_a_reason(type: str, body: dict, words: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        normalize_body(type, body)
    assert caught.value.code == RejectCode.BODY_INVALID
    assert words in caught.value.message
