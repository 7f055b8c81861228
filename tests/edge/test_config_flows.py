"""edge.toml's flow settings: allowed flows, idle timeout, quality reason codes."""

import tomllib
from pathlib import Path

import pytest

from edge.config import EdgeConfig, load_config, render_config, validate_config
from edge.errors import ConfigError
from edge.flows import DEFAULT_QUALITY_REASONS

BASE = """
site = "plant-1"
edge_id = "edge-07"
secret = "0123456789abcdef0123456789abcdef"
"""

STATIONS = """
quality_reasons = ["DAMAGED", "WET", "LABEL ERROR"]

[[stations]]
name = "qa-1"
operator = "op-5"
action = "qc.hold"
flows = ["qc.hold", "qc.release", "lp.move"]
idle_timeout_seconds = 45.5
quality_reasons = ["MOULD"]

[[stations]]
name = "dock-1"
require_sign_in = true
action = "lp.receive"
location = "DOCK-1"
idle_timeout_seconds = 0
"""


def _load(tmp_path: Path, text: str) -> EdgeConfig:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return load_config(path, env={})


def test_flow_settings_load_and_default(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE + STATIONS)
    qa, dock = config.stations
    assert (qa.flows, qa.idle_timeout_seconds, qa.quality_reasons) == (
        ["qc.hold", "qc.release", "lp.move"],
        45.5,
        ["MOULD"],
    )
    assert (dock.flows, dock.idle_timeout_seconds, dock.quality_reasons) == (None, 0, None)
    assert config.quality_reasons == ["DAMAGED", "WET", "LABEL ERROR"]
    bare = _load(tmp_path, BASE + '[[stations]]\nname = "s"\noperator = "o"\n')
    assert bare.quality_reasons == list(DEFAULT_QUALITY_REASONS)
    assert (bare.stations[0].action, bare.stations[0].idle_timeout_seconds) == ("lp.move", 120)


def test_flow_settings_round_trip(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE + STATIONS)
    text = render_config(config)
    assert 'flows = ["qc.hold", "qc.release", "lp.move"]' in text
    assert 'quality_reasons = ["DAMAGED", "WET", "LABEL ERROR"]' in text
    assert validate_config(tomllib.loads(text)) == config


@pytest.mark.parametrize(
    "text, message",
    [
        (
            STATIONS.replace('flows = ["qc.hold", ', "flows = ["),
            "station 'qa-1' starts in qc.hold, which its flows do not allow",
        ),
        (STATIONS.replace('"lp.move"]', '"lp.fly"]'), "stations[0].flows[2]"),
        (STATIONS.replace('action = "qc.hold"', 'action = "wo.start"'), "stations[0].action"),
        (STATIONS.replace("= 45.5", "= -1"), "stations[0].idle_timeout_seconds"),
        (STATIONS.replace('["MOULD"]', "[]"), "stations[0].quality_reasons"),
        (
            STATIONS.replace('["DAMAGED", "WET", "LABEL ERROR"]', "[]"),
            "\n  quality_reasons: List should have at least 1 item",
        ),
    ],
)
def test_bad_flow_settings_name_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, BASE + text)
    assert message in str(caught.value)


PICK_AND_LOAD = """
[[stations]]
name = "pick-1"
require_sign_in = true
action = "pick.confirm"
flows = ["pick.confirm", "ship.load"]

[[stations]]
name = "dock-3"
operator = "op-9"
action = "ship.load"
"""


def test_pick_and_load_stations_load_and_round_trip(tmp_path: Path) -> None:
    config = _load(tmp_path, BASE + PICK_AND_LOAD)
    pick, load = config.stations
    assert (pick.action, pick.flows) == ("pick.confirm", ["pick.confirm", "ship.load"])
    assert (load.action, load.flows) == ("ship.load", None)
    text = render_config(config)
    assert 'action = "pick.confirm"' in text and 'action = "ship.load"' in text
    assert validate_config(tomllib.loads(text)) == config
