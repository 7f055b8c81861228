"""edge.toml: loading, defaults, environment overrides, clear errors, and writing it back."""

import os
import stat
import tomllib
from decimal import Decimal
from pathlib import Path

import pytest

from edge.config import (
    EdgeConfig,
    StationConfig,
    load_config,
    render_config,
    toml_string,
    write_config,
)
from edge.errors import ConfigError
from edge.scanners.simulated import SimulatedScannerConfig

EXAMPLE = """
site = "plant-1"
edge_id = "edge-07"
secret = "0123456789abcdef0123456789abcdef"
central_url = "http://central.local:8000"

[[stations]]
name = "pack-2"
operator = "op-113"
action = "lp.consume"
work_order = "WO-1001"

[stations.scanner]
kind = "simulated"
path = "/tmp/pack-2.scans"
follow = true

[[stations]]
name = "dock-1"
operator = "op-7"
location = "RECV-1"
"""


API_KEY = "k" * 43


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "edge.toml"
    path.write_text(text)
    return path


def test_load_example_with_defaults(tmp_path: Path) -> None:
    config = load_config(_write(tmp_path, EXAMPLE), env={})
    assert (config.site, config.edge_id, config.mqtt_url) == (
        "plant-1",
        "edge-07",
        "mqtt://127.0.0.1:1883",
    )
    assert (config.host, config.port, config.batch_size) == ("127.0.0.1", 8701, 200)
    assert (config.ack_timeout_seconds, config.backlog_warn_seconds) == (10.0, 900.0)
    assert config.data_dir == "./var/edge-edge-07"
    assert config.queue_path == Path("./var/edge-edge-07/queue.db")
    pack, dock = config.stations
    assert (pack.action, pack.work_order, pack.scanner) == (
        "lp.consume",
        "WO-1001",
        SimulatedScannerConfig(kind="simulated", path="/tmp/pack-2.scans", follow=True),
    )
    assert (dock.action, dock.location, dock.scanner) == ("lp.move", "RECV-1", None)
    assert config.station("dock-1") is dock and config.station("nope") is None


def test_environment_overrides_the_file(tmp_path: Path) -> None:
    env = {
        "IOE_MQTT_URL": "mqtts://user:pw@broker:8883",
        "IOE_HOST": "0.0.0.0",
        "IOE_PORT": "9001",
        "IOE_EDGE_API_KEY": API_KEY,
    }
    config = load_config(_write(tmp_path, EXAMPLE), env=env)
    assert (config.mqtt_url, config.host, config.port, config.api_key) == (
        "mqtts://user:pw@broker:8883",
        "0.0.0.0",
        9001,
        API_KEY,
    )
    with pytest.raises(ConfigError, match="IOE_PORT must be a port number"):
        load_config(_write(tmp_path, EXAMPLE), env={"IOE_PORT": "eighty"})


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"does not exist; create one with `ioe edge provision`"):
        load_config(tmp_path / "nope.toml", env={})


def test_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="is not valid TOML"):
        load_config(_write(tmp_path, 'site = "plant-1\n'), env={})


@pytest.mark.parametrize(
    "text, message",
    [
        ('site = "plant-1"\nsecret = "0123456789abcdef"\n', "edge_id: required field is missing"),
        (EXAMPLE.replace('edge_id = "edge-07"', 'edge_id = "edge/07"'), "edge_id: must match"),
        (
            EXAMPLE.replace('kind = "simulated"', 'kind = "bluetooth"'),
            "stations[0].scanner.kind: unknown scanner kind 'bluetooth'; supported: simulated, "
            "serial, evdev",
        ),
        (
            EXAMPLE.replace('kind = "simulated"', 'kind = "evdev"'),
            "stations[0].scanner.path: unknown field",
        ),
        (EXAMPLE.replace('action = "lp.consume"', 'action = "lp.fly"'), "stations[0].action"),
        (EXAMPLE.replace('name = "dock-1"', 'name = "pack-2"'), "repeated: pack-2"),
        (EXAMPLE + "batch_size = 500\n", "stations[1].batch_size: unknown field"),
        ("batch_size = 500\n" + EXAMPLE, "batch_size: Input should be less than or equal to 200"),
        ('mqtt_url = "http://x"\n' + EXAMPLE, "mqtt_url"),
        ('secret_key = "x"\n' + EXAMPLE, "secret_key: unknown field (check the spelling)"),
    ],
)
def test_invalid_config_names_the_field(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, text), env={})
    assert message in str(caught.value)


def test_toml_string_escapes() -> None:
    tricky = 'a "quoted" \\ back\tslash\nnew\x1dline é'
    assert tomllib.loads(f"v = {toml_string(tricky)}")["v"] == tricky


def test_write_config_round_trips_and_protects_the_secret(tmp_path: Path) -> None:
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-07",
        secret='s3cret"with\\odd\nchars-0123456789',
        central_url="http://127.0.0.1:8000",
        data_dir=str(tmp_path / 'data "x"'),
        port=0,
        ack_timeout_seconds=2.5,
        stations=[
            StationConfig(
                name="station-1",
                operator="op-1",
                location="A 01",
                scanner=SimulatedScannerConfig(path="-"),
            ),
            StationConfig(name="station-2", operator="op-2", action="wo.output"),
        ],
    )
    path = tmp_path / "out" / "edge.toml"
    write_config(config, path)
    assert load_config(path, env={}) == config
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    with pytest.raises(ConfigError, match="already exists"):
        write_config(config, path)
    changed = config.model_copy(update={"port": 8702})
    write_config(changed, path, overwrite=True)
    assert load_config(path, env={}).port == 8702
    assert "[[stations]]" in render_config(config) and "[stations.scanner]" in render_config(config)


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.20", "edge-07.plant.local"])
def test_an_api_reachable_from_other_machines_needs_a_key(tmp_path: Path, host: str) -> None:
    path = _write(tmp_path, EXAMPLE)
    with pytest.raises(ConfigError, match=f"listens on {host}, which other machines can reach"):
        load_config(path, env={"IOE_HOST": host})
    keyed = load_config(path, env={"IOE_HOST": host, "IOE_EDGE_API_KEY": API_KEY})
    assert keyed.api_key_required and keyed.api_key == API_KEY


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_a_loopback_api_may_run_without_a_key(tmp_path: Path, host: str) -> None:
    config = load_config(_write(tmp_path, EXAMPLE), env={"IOE_HOST": host})
    assert not config.api_key_required and config.api_key is None


@pytest.mark.parametrize(
    "extra, message",
    [
        ('api_key = "short"\n', "api_key: String should have at least 24 characters"),
        ("max_qty = 0\n", "max_qty: Input should be greater than 0"),
        ('max_qty = "lots"\n', "max_qty: Input should be a valid decimal"),
    ],
)
def test_bad_key_or_limit_names_the_field(tmp_path: Path, extra: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config(_write(tmp_path, extra + EXAMPLE), env={})
    assert message in str(caught.value)


def test_sign_in_station_starts_with_nobody(tmp_path: Path) -> None:
    signed = EXAMPLE.replace('operator = "op-7"', "require_sign_in = true")
    assert load_config(_write(tmp_path, signed), env={}).stations[1].operator is None
    both = EXAMPLE.replace('operator = "op-7"', 'operator = "op-7"\nrequire_sign_in = true')
    with pytest.raises(ConfigError, match="requires sign-in, so it starts with nobody signed in"):
        load_config(_write(tmp_path, both), env={})
    neither = EXAMPLE.replace('operator = "op-7"\n', "")
    with pytest.raises(ConfigError, match="needs an operator, or require_sign_in = true"):
        load_config(_write(tmp_path, neither), env={})


def test_limits_and_key_round_trip(tmp_path: Path) -> None:
    config = EdgeConfig(
        site="plant-1",
        edge_id="edge-07",
        secret="0123456789abcdef0123456789abcdef",
        host="0.0.0.0",
        api_key=API_KEY,
        max_qty=Decimal("50000"),
        max_qty_by_product={"RAW-1": Decimal("2.5"), "FLOUR T55": Decimal(1000)},
        stations=[StationConfig(name="dock-1", require_sign_in=True)],
    )
    write_config(config, tmp_path / "edge.toml")
    assert load_config(tmp_path / "edge.toml", env={}) == config
    defaults = load_config(_write(tmp_path, EXAMPLE), env={})
    assert (defaults.max_qty, defaults.max_qty_by_product) == (Decimal(1_000_000), {})
