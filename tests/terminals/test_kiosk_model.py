"""The kiosk's model, without a terminal: events and answers reduced to what the screen shows."""

from datetime import UTC, datetime, timedelta

from terminals.kiosk.model import KioskModel, format_age, state_word


def feedback(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {"station": "pack-2", "level": "ok", "message": "", "code": None}
    return {**base, **fields}


def test_an_action_goes_saved_sent_applied_and_never_back() -> None:
    model = KioskModel("pack-2")
    flash = model.apply_event(
        "feedback",
        feedback(message="saved: move LP1 to A-02; scan an LP", action_id="a1", operator="op-1"),
    )
    assert flash is not None and flash.title == "SAVED" and not flash.bell
    model.apply_event("action", {"id": "a1", "seq": 1, "state": "queued", "station": "pack-2"})
    assert model.actions["a1"].word == "SAVED"
    assert model.actions["a1"].summary == "move LP1 to A-02"
    model.apply_event("action", {"id": "a1", "seq": 1, "state": "sent", "station": "pack-2"})
    assert model.actions["a1"].word == "SENT"
    model.apply_event("action", {"id": "a1", "seq": 1, "state": "applied"})
    model.apply_event("action", {"id": "a1", "seq": 1, "state": "sent", "station": "pack-2"})
    assert model.actions["a1"].word == "APPLIED"  # a late notice never takes it back
    assert model.operator == "op-1"


def test_a_conflict_flashes_with_its_code_and_message_and_rings() -> None:
    model = KioskModel("pack-2")
    model.apply_event("action", {"id": "a2", "seq": 2, "state": "queued", "station": "pack-2"})
    flash = model.apply_event(
        "action",
        {"id": "a2", "seq": 2, "state": "conflict", "code": "LP_NOT_FOUND", "message": "no LP"},
    )
    assert flash is not None and flash.bell
    assert flash.title == "CONFLICT LP_NOT_FOUND"
    assert "no LP" in flash.message
    assert [life.id for life in model.trouble()] == ["a2"]


def test_other_stations_are_not_shown() -> None:
    model = KioskModel("pack-2")
    assert model.apply_event("feedback", feedback(station="dock-1", level="error")) is None
    model.apply_event("action", {"id": "x", "seq": 3, "state": "queued", "station": "dock-1"})
    model.apply_event("action", {"id": "x", "seq": 3, "state": "conflict", "code": "C"})
    assert not model.actions


def test_the_same_refusal_from_the_answer_and_the_event_rings_once() -> None:
    model = KioskModel("pack-2")
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    assert model.fresh_error("NEED_LP", moment)
    assert not model.fresh_error("NEED_LP", moment + timedelta(seconds=1))
    assert model.fresh_error("NEED_LP", moment + timedelta(seconds=5))


def test_connectivity_queue_and_the_edge_link() -> None:
    model = KioskModel("pack-2")
    model.apply_event("connectivity", {"broker_connected": False, "central_online": False})
    assert model.broker_connected is False and model.central_online is False
    now = datetime(2026, 1, 1, 12, 0, 30, tzinfo=UTC)
    model.apply_queue({"depth": 2, "oldest_pending_ts": "2026-01-01T12:00:00.000Z"})
    assert model.backlog_age_seconds(now) == 30
    assert model.edge_back() is True
    assert model.edge_lost(now) is True
    assert model.edge_lost(now + timedelta(seconds=5)) is False
    assert model.edge_down_since == now  # since the first time it was lost
    assert model.edge_back() is True and model.edge_down_since is None


def test_words_and_ages() -> None:
    assert state_word("queued") == "SAVED"
    assert state_word("rejected", "SCHEMA_INVALID") == "REJECTED SCHEMA_INVALID"
    assert state_word("applied", "IGNORED") == "APPLIED"
    assert format_age(None) == "-"
    assert format_age(5.2) == "5s"
    assert format_age(245) == "4m05s"
    assert format_age(7800) == "2h10m"


def answer(message: str, action_id: str | None = None, result: str = "queued") -> dict[str, object]:
    """A POST /scans answer as the edge gives it."""
    action = {"id": action_id, "seq": 1, "state": "queued", "ts": "t"} if action_id else None
    return {
        "station": "pack-2",
        "result": result,
        "message": message,
        "code": None,
        "expect": "scan an LP",
        "expected": ["lp"],
        "action_type": "lp.move" if action_id else None,
        "action": action,
        "state": {"name": "pack-2", "flow": "lp.move", "step": "lp", "operator": "op-1"},
    }


def test_a_scan_is_shown_from_its_answer_and_its_feedback_event_is_not_shown_again() -> None:
    model = KioskModel("pack-2")
    message = "saved: move LP1 to A-02"
    flash = model.apply_scan_answer(answer(message, "a1"))
    assert flash is not None and flash.title == "SAVED" and "move LP1 to A-02" in flash.message
    assert model.operator == "op-1"
    echo = feedback(message=message, action_id="a1", action_type="lp.move")
    assert model.apply_event("feedback", echo) is None
    # The next identical event is another scan's (made at the station's own scanner).
    assert model.apply_event("feedback", echo) is not None


def test_a_feedback_event_before_its_answer_is_shown_once() -> None:
    model = KioskModel("pack-2")
    event = feedback(level="info", message="putting away to A-02")
    assert model.apply_event("feedback", event) is not None
    assert model.apply_scan_answer(answer("putting away to A-02", result="context")) is None
    assert model.station["flow"] == "lp.move"  # the answer's state is still taken
