"""The kiosk's job panels render the edge's progress answers, at 80x24 and at 120x40.

The answers are JSON files in `progress/`, shaped as the edge's
`GET /api/v1/stations/{station}/progress` answers them. Assertions read what is on screen
(the compositor's rendered lines) or the widgets' own values (Digits, table cells).
"""

from __future__ import annotations

import copy
import json
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult
from textual.widgets import ContentSwitcher, DataTable, Digits, Label

from terminals.kiosk.figures import Figure, Ratio, plain, signed
from terminals.kiosk.panels import (
    ConsumePanel,
    CountPanel,
    DonePanel,
    JobPanel,
    LoadPanel,
    OutputPanel,
    PickPanel,
    stale_line,
)
from tests.terminals.panel_host import Host, rows, screen_text, shown, visible_digits

PROGRESS = Path(__file__).parent / "progress"
SIZES = [(80, 24), (120, 40)]


def progress(name: str) -> dict[str, Any]:
    """One recorded progress answer."""
    answer: dict[str, Any] = json.loads((PROGRESS / f"{name}.json").read_text())
    return answer


@pytest.mark.parametrize("size", SIZES)
async def test_consume_shows_bom_lines_with_done_over_and_pending_in_words(
    size: tuple[int, int],
) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("consume_stale"))
        assert panel.kind == "consume"
        table = panel.query_one("#consume-lines", DataTable)
        assert rows(table) == [
            ["FLOUR-T55", "10", "7", "+3", "0", "kg", "done (pending)"],
            ["SUGAR", "2", "2.5", "0", "0", "kg", "OVER +0.5"],
            ["BUTTER", "4", "1", "0", "3", "kg", "to go"],
            ["SALT", "50", "50.0", "0", "0", "g", "done"],
            ["MILK", "3", "1", "?", "?", "l", "pending, quantity unknown"],
            ["EGGS", "none", "?", "+12", "", "", "not in the BOM"],
        ]
        assert visible_digits(panel.query_one(ConsumePanel)) == ["3", "5"]
        text = screen_text(app)
        assert "work order WO-1001 · making DOUGH · in_progress" in text
        assert "BOM lines complete / lines" in text
        assert "OVER +0.5" in text and "done (pending)" in text
        assert "+1 pending of LPs this edge does not know (not in the table)" in text
        since = datetime.fromisoformat("2026-11-22T13:02:05.120Z").astimezone()
        assert "! may be stale since " in text  # with the date: that day is not today
        assert f"{since:%Y-%m-%d %H:%M:%S} (central offline)" in text


@pytest.mark.parametrize("size", SIZES)
async def test_output_shows_produced_of_planned_in_digits_and_pending(
    size: tuple[int, int],
) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("output_pending"))
        output = panel.query_one(OutputPanel)
        assert panel.kind == "output"
        assert output.query_one(Ratio).value == ("12", "40")
        assert visible_digits(output) == ["12", "40"]
        text = screen_text(app)
        assert "+24 ea pending" in text
        assert "remaining 4 ea" in text
        assert "may be stale" not in text


async def test_a_short_panel_shows_figures_as_plain_bold_lines() -> None:
    # A kiosk at 80x24 with its status, log and footer leaves the panel a few rows only.
    app = Host(panel_height=9)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, progress("output_pending"))
        assert panel.has_class("-compact")
        assert visible_digits(panel.query_one(OutputPanel)) == []
        text = screen_text(app)
        assert "12 / 40" in text
        assert "+24 ea pending" in text and "remaining 4 ea" in text
        panel.show(progress("receive_done"))
        await pilot.pause()
        lines = screen_text(app).splitlines()
        assert lines[1:4] == ["receive", "17", "done today at this station"]


async def test_a_panel_sized_by_its_content_is_compact_under_a_low_limit() -> None:
    # The kiosk gives the panel `height: auto` and a limit (8 rows at 80x24, more when wide).
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = app.query_one(JobPanel)
        panel.styles.height = "auto"
        panel.styles.max_height = 8
        await shown(app, pilot, progress("load_known"))
        assert panel.region.height == 8 and panel.has_class("-compact")
        text = screen_text(app)
        assert "LPs loaded / planned  3 / 12" in text
        assert "+2 pending" in text and "LP-25 +1 more" in text
        # More room: the panel fills it and shows its figures in Digits again.
        panel.styles.max_height = "100%"
        await pilot.pause()
        await pilot.pause()
        assert not panel.has_class("-compact")
        assert visible_digits(panel.query_one(LoadPanel)) == ["3", "12"]


async def test_the_panel_leaves_compact_mode_when_it_grows() -> None:
    app = Host(panel_height=9)
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, progress("output_pending"))
        panel.styles.height = 20
        await pilot.pause()
        assert not panel.has_class("-compact")
        assert visible_digits(panel.query_one(OutputPanel)) == ["12", "40"]


@pytest.mark.parametrize("size", SIZES)
async def test_load_shows_loaded_of_planned_and_the_missing_lps(size: tuple[int, int]) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("load_known"))
        load = panel.query_one(LoadPanel)
        assert panel.kind == "load"
        assert visible_digits(load) == ["3", "12"]
        text = screen_text(app)
        assert "shipment SHP-0042 · loading" in text
        assert "+2 pending" in text
        assert "7 missing:" in text
        if size[0] >= 120:  # room for all of them
            assert "LP-20, LP-21, LP-22, LP-23, LP-24, LP-25, LP-26" in text
            assert "more" not in text
        else:
            assert "LP-20, LP-21, LP-22, LP-23, LP-24, LP-25 +1 more" in text


async def test_load_counts_missing_lps_beyond_the_list_the_edge_sent() -> None:
    answer = progress("load_known")
    answer["job"].update(planned=80, missing=[f"LP-{n}" for n in range(50)])
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(app, pilot, answer)
        text = screen_text(app)
        assert "75 missing:" in text
        assert "LP-5 +69 more" in text


async def test_load_of_a_shipment_unknown_at_the_edge_shows_what_this_station_loaded() -> None:
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, progress("load_unknown"))
        load = panel.query_one(LoadPanel)
        assert visible_digits(load) == ["4"]
        assert not load.query_one(Ratio).display
        text = screen_text(app)
        assert "LPs loaded at this station" in text
        assert "the shipment's plan is not known at this edge" in text
        assert "+4 pending" in text
        assert "never synced with central (no link to the broker)" in text


async def test_load_with_every_planned_lp_loaded_says_so() -> None:
    answer = progress("load_known")
    answer["job"].update(loaded=10, pending=2, missing=[])
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(app, pilot, answer)
        text = screen_text(app)
        assert "every planned LP is loaded or pending" in text
        assert "missing" not in text


@pytest.mark.parametrize("size", SIZES)
async def test_count_shows_counted_lps_and_the_variance_signed_and_in_words(
    size: tuple[int, int],
) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("count_variance"))
        count = panel.query_one(CountPanel)
        assert visible_digits(count) == ["4"]
        text = screen_text(app)
        assert "count CNT-4 at A-01" in text
        assert "variance so far +0.5 (over)" in text
        assert "1 LP not in the variance" in text
        assert rows(count.query_one("#count-lines", DataTable)) == [
            ["LP-1", "12", "10", "+2 over", "kg", "applied"],
            ["LP-2", "8.5", "10", "-1.5 short", "kg", "sent"],
            ["LP-3", "5", "5", "0 exact", "kg", "queued"],
            ["LP-9", "3", "?", "expected unknown", "kg", "queued"],
        ]
        assert "-1.5 short" in text and "+2 over" in text


async def test_count_variance_short_and_exact_in_words() -> None:
    answer = progress("count_variance")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, answer)
        variance = panel.query_one("#count-variance", Label)
        assert variance.has_class("-warn")
        answer["job"]["variance"] = "-1.50"
        await shown(app, pilot, answer)
        assert "variance so far -1.5 (short)" in screen_text(app)
        assert variance.has_class("-bad") and not variance.has_class("-warn")
        answer["job"]["variance"] = "0.00"
        answer["job"]["lines"] = answer["job"]["lines"][:3]
        await shown(app, pilot, answer)
        assert "variance so far 0 (exact)" in screen_text(app)
        assert "not in the variance" not in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_pick_highlights_the_next_task_and_marks_pending_picks(
    size: tuple[int, int],
) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("pick_pending"))
        table = panel.query_one(PickPanel).query_one("#pick-tasks", DataTable)
        assert rows(table) == [
            ["", "T-101", "SUGAR", "A-01", "2", "0", "pending"],
            ["NEXT ▶", "T-102", "FLOUR-T55", "A-02", "5", "0", "open"],
            ["", "T-103", "BUTTER", "B-07", "1", "0", "open"],
        ]
        assert table.show_cursor and table.cursor_row == 1
        assert not table.can_focus  # the scan input keeps the focus
        text = screen_text(app)
        assert "3 open tasks, 1 pending · next: T-102" in text
        assert "NEXT ▶  T-102" in text
        assert "may be stale since" in text and "central's changes on their way" in text


async def test_pick_marks_the_task_being_picked_and_says_when_nothing_is_left() -> None:
    answer = progress("pick_pending")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        answer["job"]["task"] = answer["job"]["tasks"][2]
        panel = await shown(app, pilot, answer)
        table = panel.query_one("#pick-tasks", DataTable)
        assert [str(row[0]) for row in map(table.get_row_at, range(3))] == ["", "NEXT ▶", "NOW"]
        answer["job"].update(tasks=[answer["job"]["tasks"][0]], next=None, task=None)
        await shown(app, pilot, answer)
        assert rows(table) == [["", "T-101", "SUGAR", "A-01", "2", "0", "pending"]]
        assert not table.show_cursor
        assert "1 open task, 1 pending · nothing left to pick" in screen_text(app)


@pytest.mark.parametrize("size", SIZES)
async def test_other_flows_show_their_count_of_today(size: tuple[int, int]) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("receive_done"))
        assert panel.kind == "done"
        assert visible_digits(panel.query_one(DonePanel)) == ["17"]
        text = screen_text(app)
        assert "receive" in text and "done today at this station" in text


@pytest.mark.parametrize("size", SIZES)
async def test_no_job_yet_says_what_to_scan(size: tuple[int, int]) -> None:
    app = Host()
    async with app.run_test(size=size) as pilot:
        panel = await shown(app, pilot, progress("no_job"), expect="scan a work order (WO:...)")
        assert panel.kind == "none"
        assert "no job yet: scan a work order (WO:...)" in screen_text(app)
        await shown(app, pilot, progress("no_job"))
        assert "no job yet" in screen_text(app)
        assert "scan a work order" not in screen_text(app)


async def test_wide_panels_put_figures_and_details_side_by_side() -> None:
    for size, side_by_side in [((120, 40), True), ((80, 24), False)]:
        app = Host()
        async with app.run_test(size=size) as pilot:
            panel = await shown(app, pilot, progress("count_variance"))
            assert panel.has_class("-wide") is side_by_side
            figures = panel.query_one("#job-count .figures").region
            details = panel.query_one("#job-count .details").region
            if side_by_side:
                assert details.x >= figures.right and details.y == figures.y
            else:
                assert details.y >= figures.bottom


async def test_updates_change_the_same_widgets_in_place() -> None:
    answer = progress("output_pending")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, answer)
        output = panel.query_one(OutputPanel)
        ratio = output.query_one(Ratio)
        digits = list(ratio.query(Digits))
        for produced, pending, remaining in [
            ("16", "24", "0"),
            ("40", "0", "0"),
            ("44", "0", "-4"),
        ]:
            answer["job"].update(produced=produced, pending=pending, remaining=remaining)
            await shown(app, pilot, answer)
            assert panel.query_one(OutputPanel) is output
            assert output.query_one(Ratio) is ratio
            assert list(ratio.query(Digits)) == digits
            assert [d.value for d in digits] == [produced, "40"]
        text = screen_text(app)
        assert "OVER planned by 4 ea" in text and "nothing pending" in text
        # Another job kind and back: the panels stay mounted, the switcher shows one.
        await shown(app, pilot, progress("pick_pending"))
        assert not output.display and panel.query_one(PickPanel).display
        await shown(app, pilot, answer)
        assert panel.query_one(OutputPanel) is output and output.display
        assert len(panel.query_one(ContentSwitcher).children) == 7


async def test_table_updates_keep_the_table() -> None:
    answer = progress("consume_stale")
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, answer)
        table = panel.query_one("#consume-lines", DataTable)
        answer["job"]["lines"][2].update(consumed="4", remaining="0")
        answer.update(stale=False, stale_reasons=[], stale_since=None)
        await shown(app, pilot, answer)
        assert panel.query_one("#consume-lines", DataTable) is table
        assert rows(table)[2][-1] == "done"
        assert "may be stale" not in screen_text(app)


async def test_show_before_mount_is_shown_once_mounted() -> None:
    class Early(App[None]):
        def compose(self) -> ComposeResult:
            panel = JobPanel()
            panel.show(progress("receive_done"))
            yield panel

    app = Early()
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        assert app.query_one(JobPanel).kind == "done"
        assert app.query_one("#done-count", Figure).value == "17"
        assert visible_digits(app.query_one(DonePanel)) == ["17"]


def test_stale_line_words() -> None:
    assert stale_line({"stale": False, "stale_reasons": ["central_offline"]}) is None
    assert stale_line({"stale": True, "stale_reasons": [], "stale_since": None}) == "may be stale"
    since = datetime.fromisoformat("2026-11-22T13:00:00+00:00").astimezone()
    answer = {
        "stale": True,
        "stale_reasons": ["snapshot_pending", "some_new_reason"],
        "stale_since": "2026-11-22T13:00:00Z",
    }
    assert stale_line(answer, today=since.date()) == (
        f"may be stale since {since:%H:%M:%S} "
        "(waiting for a full update from central, some new reason)"
    )
    # Stale since another day: the date is said too.
    assert stale_line(answer, today=since.date() + timedelta(days=1)) == (
        f"may be stale since {since:%Y-%m-%d %H:%M:%S} "
        "(waiting for a full update from central, some new reason)"
    )
    without_cache = {"stale": True, "stale_reasons": ["no_reference_cache"], "stale_since": None}
    assert stale_line(without_cache) == "may be stale (no reference cache at this edge)"
    assert stale_line({"stale": True, "stale_reasons": [], "stale_since": "garbled"}) == (
        "may be stale since garbled"
    )


def test_numbers_are_written_plainly_and_variances_signed() -> None:
    assert plain(Decimal("1.50")) == "1.5"
    assert plain(Decimal("2E+1")) == "20"
    assert plain(Decimal("-0.0")) == "0"
    assert signed(Decimal("2")) == "+2"
    assert signed(Decimal("-1.5")) == "-1.5"
    assert signed(Decimal("0")) == "0"


def test_consume_line_states() -> None:
    def state(**line: str | None) -> str:
        return ConsumePanel.line_state(line)[0]

    assert state(required="10", consumed="10", pending="0") == "done"
    assert state(required="10", consumed="12", pending="0") == "OVER +2"
    assert state(required="10", consumed="9", pending="1.5") == "OVER +0.5"
    assert state(required="10", consumed="4", pending="6") == "done (pending)"
    assert state(required="10", consumed="4", pending="0") == "to go"
    assert state(consumed="1", pending="0") == "not in the BOM"
    assert state(required="10", consumed="4", pending=None) == "pending, quantity unknown"
    assert state(required="10", consumed="11", pending=None) == "OVER +1"
    assert state(required="10", consumed=None, pending="1") == "consumed unknown"


async def test_a_work_order_unknown_at_the_edge_says_so() -> None:
    answer = progress("consume_stale")
    answer["job"].update(product=None, status=None, pending_unknown=0)
    answer["job"]["lines"] = [answer["job"]["lines"][-1]]  # only what this edge consumed
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, answer)
        text = screen_text(app)
        assert "work order WO-1001 · status unknown" in text
        assert "the work order's materials are not known at this edge" in text
        assert "LPs this edge does not know" not in text
        assert visible_digits(panel.query_one(ConsumePanel)) == ["0", "0"]


async def test_output_with_a_pending_quantity_unknown() -> None:
    answer = progress("output_pending")
    answer["job"].update(pending=None, remaining=None, produced=None)
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        panel = await shown(app, pilot, answer)
        text = screen_text(app)
        assert "pending here, quantity unknown" in text
        assert panel.query_one(OutputPanel).query_one(Ratio).value == ("?", "40")  # never 0
        assert "remaining unknown" in text
        assert "work order WO-1001 · making COOKIE-BOX · in_progress" in text


async def test_product_codes_are_shown_as_written() -> None:
    answer = copy.deepcopy(progress("consume_stale"))
    answer["job"]["lines"][0]["product"] = "FLOUR[bold]T55"
    answer["job"]["work_order"] = "WO-[red]1"
    app = Host()
    async with app.run_test(size=(80, 24)) as pilot:
        await shown(app, pilot, answer)
        text = screen_text(app)
        assert "FLOUR[bold]T55" in text and "work order WO-[red]1" in text
