"""Provisioning against the real central API (in process, on a SQLite file)."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from central.api.app import create_app
from central.broker.passwords import verify
from central.db.engine import make_engine
from central.db.tables import edges
from central.edges.registry import load_edges
from central.edges.sealing import EdgeSecretBox
from central.identity import central_key_hex
from central.settings import CentralSettings
from edge.config import StationConfig, load_config
from edge.errors import ConfigError, ProvisionError
from edge.provision import provision


class Central:
    """central's app plus a look at its edge registry."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)

    def app(self, token: str | None = None) -> FastAPI:
        return create_app(CentralSettings(db_url=self.url, admin_token=token), engine=self.engine)

    async def secrets(self) -> dict[str, str]:
        """Every registered edge's current key, opened as the apply path opens it."""
        box = EdgeSecretBox(CentralSettings(db_url=self.url).load_master_key())
        async with self.engine.connect() as conn:
            pairs = [
                tuple(row) for row in await conn.execute(select(edges.c.site, edges.c.edge_id))
            ]
            known = await load_edges(conn, pairs, box=box)
            return {f"{site}/{edge}": record.secret for (site, edge), record in known.items()}

    async def broker_hash(self, username: str) -> str:
        site, edge = username.split("/")
        async with self.engine.connect() as conn:
            stored = await conn.scalar(
                select(edges.c.mqtt_password_hash).where(
                    edges.c.site == site, edges.c.edge_id == edge
                )
            )
        assert isinstance(stored, str) and stored.startswith("$7$")
        return stored


@pytest.fixture
async def central(migrated_sqlite_url: str) -> AsyncIterator[Central]:
    instance = Central(migrated_sqlite_url)
    yield instance
    await instance.engine.dispose()


def registry_transport(central: Central, token: str | None = None) -> httpx.ASGITransport:
    return httpx.ASGITransport(app=central.app(token))


async def test_provision_writes_a_ready_config(tmp_path: Path, central: Central) -> None:
    out = tmp_path / "edge.toml"
    config = await provision(
        "http://central",
        site="plant-1",
        edge_id="edge-07",
        mqtt_url="mqtt://broker:1883",
        out_path=out,
        settings={"port": 8799, "ack_timeout_seconds": 3.0},
        transport=registry_transport(central),
    )
    assert (await central.secrets())["plant-1/edge-07"] == config.secret
    # Central's state key, so the edge can tell central's state from a forged one.
    assert config.central_key == central_key_hex(CentralSettings(db_url=central.url))
    assert load_config(out, env={}) == config
    # The local API key is made on the edge, fresh each time, and is not the signing secret.
    assert config.api_key and len(config.api_key) >= 40 and config.api_key != config.secret
    # The broker login is in the file; central keeps only its Mosquitto hash.
    assert config.mqtt_username == "plant-1/edge-07" and config.mqtt_password
    assert verify(config.mqtt_password, await central.broker_hash("plant-1/edge-07"))
    assert f'mqtt_password = "{config.mqtt_password}"' in out.read_text()
    assert (config.central_url, config.mqtt_url, config.port, config.ack_timeout_seconds) == (
        "http://central",
        "mqtt://broker:1883",
        8799,
        3.0,
    )
    [station] = config.stations
    assert (station.name, station.action, station.scanner.kind, station.scanner.path) == (
        "station-1",
        "lp.move",
        "simulated",
        "-",
    )


async def test_provision_refuses_to_overwrite_before_registering(
    tmp_path: Path, central: Central
) -> None:
    out = tmp_path / "edge.toml"
    out.write_text("# someone's config\n")
    with pytest.raises(ConfigError, match="already exists"):
        await provision(
            "http://central",
            site="plant-1",
            edge_id="edge-07",
            mqtt_url="mqtt://broker",
            out_path=out,
            transport=registry_transport(central),
        )
    assert await central.secrets() == {}  # central was not asked: no secret made and lost
    stations = [StationConfig(name="dock", operator="op-3", action="lp.receive")]
    config = await provision(
        "http://central",
        site="plant-1",
        edge_id="edge-07",
        mqtt_url="mqtt://broker",
        out_path=out,
        overwrite=True,
        stations=stations,
        transport=registry_transport(central),
    )
    assert load_config(out, env={}).stations == stations == config.stations


async def test_central_refusals_are_explained(tmp_path: Path, central: Central) -> None:
    transport = registry_transport(central, token="t0k")
    args = {
        "site": "plant-1",
        "edge_id": "edge-07",
        "mqtt_url": "mqtt://broker",
        "transport": transport,
    }
    with pytest.raises(ProvisionError, match="HTTP 401 .*admin token is needed"):
        await provision("http://central", out_path=tmp_path / "a.toml", **args)
    with pytest.raises(ProvisionError, match="HTTP 40[13] .*admin token"):
        await provision("http://central", out_path=tmp_path / "a.toml", admin_token="nope", **args)
    assert not (tmp_path / "a.toml").exists() and await central.secrets() == {}
    first = await provision(
        "http://central", out_path=tmp_path / "b.toml", admin_token="t0k", **args
    )
    # Provisioning the same edge again rotates its secret (a replaced device).
    second = await provision(
        "http://central", out_path=tmp_path / "c.toml", admin_token="t0k", **args
    )
    assert first.secret != second.secret
    assert (await central.secrets())["plant-1/edge-07"] == second.secret


async def test_central_unreachable(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="central at http://127.0.0.1:9 is unreachable"):
        await provision(
            "http://127.0.0.1:9",
            site="plant-1",
            edge_id="edge-07",
            mqtt_url="mqtt://broker",
            out_path=tmp_path / "edge.toml",
            timeout=5,
        )


async def test_bad_settings_fail_before_registering(tmp_path: Path, central: Central) -> None:
    with pytest.raises(ConfigError, match="edge_id"):
        await provision(
            "http://central",
            site="plant-1",
            edge_id="edge/07",
            mqtt_url="mqtt://broker",
            out_path=tmp_path / "edge.toml",
            transport=registry_transport(central),
        )
    assert await central.secrets() == {}


def test_an_edge_without_central_key_refuses_to_start(tmp_path: Path) -> None:
    """An old edge.toml: the edge would believe any central state, so it does not start."""
    from typer.testing import CliRunner  # noqa: PLC0415

    from ioe.cli import app  # noqa: PLC0415

    config = tmp_path / "edge.toml"
    config.write_text('site = "plant-1"\nedge_id = "edge-07"\nsecret = "0123456789abcdef0123"\n')
    result = CliRunner().invoke(app, ["edge", "run", "--config", str(config)])
    assert result.exit_code == 2
    assert "no central_key" in result.output and "ioe edge provision" in result.output
