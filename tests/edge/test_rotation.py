"""`ioe edge rotate-secret` and `ioe edge revoke` against the real central API (in process)."""

import stat
from pathlib import Path

import pytest
from typer.testing import CliRunner

from edge.config import load_config
from edge.errors import ConfigError, ProvisionError
from edge.provision import provision
from edge.rotation import revoke_edge, rotate_secret
from ioe.cli import app
from tests.edge.test_provision import Central, registry_transport


@pytest.fixture
async def central(migrated_sqlite_url: str) -> Central:
    instance = Central(migrated_sqlite_url)
    yield instance  # type: ignore[misc]
    await instance.engine.dispose()


async def test_rotation_writes_the_new_key_into_the_edge_config(
    tmp_path: Path, central: Central
) -> None:
    out = tmp_path / "edge.toml"
    first = await provision(
        "http://central",
        site="plant-1",
        edge_id="edge-07",
        mqtt_url="mqtt://127.0.0.1:1883",
        out_path=out,
        transport=registry_transport(central),
    )
    rotated = await rotate_secret(out, transport=registry_transport(central))
    config = load_config(out, env={})
    assert rotated.key_version == 2 and config.secret != first.secret
    assert (await central.secrets())["plant-1/edge-07"] == config.secret
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert config.model_dump(exclude={"secret"}) == first.model_dump(exclude={"secret"})
    # A second rotation before the edge used the new key is refused; the config is untouched.
    with pytest.raises(ProvisionError, match="still accepted"):
        await rotate_secret(out, transport=registry_transport(central))
    assert load_config(out, env={}).secret == config.secret


async def test_rotation_needs_a_central_and_a_token_when_central_asks(
    tmp_path: Path, central: Central
) -> None:
    out = tmp_path / "edge.toml"
    await provision(
        "http://central",
        site="plant-1",
        edge_id="edge-07",
        mqtt_url="mqtt://127.0.0.1:1883",
        out_path=out,
        transport=registry_transport(central),
    )
    before = out.read_text()
    with pytest.raises(ProvisionError, match="401"):
        await rotate_secret(out, transport=registry_transport(central, token="root"))
    assert out.read_text() == before
    missing = tmp_path / "none.toml"
    with pytest.raises(ConfigError, match="does not exist"):
        await rotate_secret(missing, transport=registry_transport(central))


async def test_revoke_through_the_api(tmp_path: Path, central: Central) -> None:
    await provision(
        "http://central",
        site="plant-1",
        edge_id="edge-07",
        mqtt_url="mqtt://127.0.0.1:1883",
        out_path=tmp_path / "edge.toml",
        transport=registry_transport(central),
    )
    at = await revoke_edge(
        "http://central", site="plant-1", edge_id="edge-07", transport=registry_transport(central)
    )
    assert at.startswith("20")
    with pytest.raises(ProvisionError, match="409"):
        await rotate_secret(tmp_path / "edge.toml", transport=registry_transport(central))


def test_the_commands_say_what_went_wrong(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["edge", "rotate-secret", "--config", str(tmp_path / "nope.toml")])
    assert result.exit_code == 1 and "does not exist" in result.output
    result = runner.invoke(
        app,
        ["edge", "revoke", "--central", "http://127.0.0.1:9", "--site", "p", "--edge", "e"],
    )
    assert result.exit_code == 1 and "unreachable" in result.output
