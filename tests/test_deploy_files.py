"""docker-compose.yml, the Dockerfile and the Mosquitto config are checked even where no
Docker engine runs: they must parse and point at things that exist."""

from pathlib import Path

import yaml

from harness import REPO


def test_compose_has_the_production_shape() -> None:
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    services = compose["services"]
    assert set(services) == {"mosquitto", "postgres", "central", "edge"}
    central = services["central"]
    assert central["command"][:2] == ["central", "run"]
    assert central["environment"]["IOE_DB_URL"].startswith("postgresql+asyncpg://")
    assert central["environment"]["IOE_MQTT_URL"] == "mqtt://mosquitto:1883"
    assert central["environment"]["IOE_ADMIN_TOKEN"].startswith("${IOE_ADMIN_TOKEN:?")
    # Broker accounts: central logs in as its own account; the broker runs the generated
    # config (password file, ACL, no anonymous clients) from deploy/broker/.
    assert central["environment"]["IOE_MQTT_USERNAME"] == "central-1"
    assert central["environment"]["IOE_MASTER_KEY"].startswith("${IOE_MASTER_KEY:?")
    assert "./deploy/broker:/mosquitto/config:ro" in services["mosquitto"]["volumes"]
    ignored = (REPO / "deploy/broker/.gitignore").read_text().splitlines()
    assert "*" in ignored  # the generated hashes are never committed
    assert services["edge"]["command"][:2] == ["edge", "run"]
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and not source.endswith("edge.toml"):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            elif not source.startswith("./"):
                assert source in compose["volumes"], f"{name} uses undeclared volume {source}"


def test_compose_keeps_the_edge_api_on_the_host() -> None:
    """The edge's local API is published on the host's loopback only, never on every interface,
    and the edge reads its API key from its provisioned config or IOE_EDGE_API_KEY."""
    edge = yaml.safe_load((REPO / "docker-compose.yml").read_text())["services"]["edge"]
    for mapping in edge.get("ports", []):
        host_ip = str(mapping).rsplit(":", 2)[0] if str(mapping).count(":") == 2 else ""
        assert host_ip == "127.0.0.1", f"edge API published beyond this host: {mapping}"
    assert edge["environment"]["IOE_EDGE_API_KEY"] == "${IOE_EDGE_API_KEY:-}"
    assert any(v.split(":")[1] == "/etc/ioe/edge.toml" for v in edge["volumes"])


def test_dockerfile_copies_every_package_and_runs_the_cli() -> None:
    text = (REPO / "Dockerfile").read_text()
    for package in ("protocol", "edge", "central", "terminals", "ioe"):
        assert f"COPY {package} ./{package}" in text
        assert (REPO / package / "__init__.py").exists()
    assert 'ENTRYPOINT ["ioe"]' in text


def test_mosquitto_config_raises_the_queue_limit() -> None:
    lines = dict(
        line.split(None, 1)
        for line in Path(REPO / "deploy/mosquitto.conf").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    )
    assert int(lines["max_queued_messages"]) >= 10000
