"""The deployment steps of docs/deploy.md, as processes: `ioe broker-config` writes the
broker's files, Mosquitto starts with them, central logs in as central-1 (password derived
from the master key), an edge is provisioned, broker-config runs again, the broker reloads on
SIGHUP, and the edge's actions are applied through its own account."""

import os
import signal
from pathlib import Path

from harness import Proc, free_port, ioe_command, wait_for_port, wait_until
from harness.stack import Stack
from tests.central.broker.conftest import mosquitto_binary


def broker_config(stack: Stack, out: Path, port: int, env: dict[str, str]) -> str:
    user = ["--broker-user", "root"] if os.geteuid() == 0 else []
    command = ioe_command(
        "broker-config",
        "--db",
        stack.db_url,
        "--out",
        str(out),
        "--listener",
        f"127.0.0.1:{port}",
        "--no-persistence",
        *user,
    )
    proc = Proc(command, out.parent / "broker-config.log", env=env)
    assert proc.popen.wait(60) == 0, proc.output()
    proc.stop()
    return proc.output()


def test_edge_and_central_work_through_their_own_accounts(
    tier: tuple[str, str], tmp_path: Path
) -> None:
    binary = mosquitto_binary()
    port = free_port()
    env = {"IOE_MASTER_KEY": os.urandom(32).hex()}
    stack = Stack(tmp_path, db_url=tier[1], mqtt_url=f"mqtt://127.0.0.1:{port}")
    stack.central_env = {**env, "IOE_MQTT_USERNAME": "central-1"}
    out = tmp_path / "broker"
    broker = None
    try:
        assert "0 edge(s)" in broker_config(stack, out, port, env)
        broker = Proc([binary, "-c", str(out / "mosquitto.conf")], tmp_path / "mosquitto.log")
        wait_for_port(port)
        stack.start_central()
        wait_until(stack.central_ready, 30, what="central logged in to the broker")
        stack.seed()
        config = stack.provision_edge("edge-1").read_text()
        assert 'mqtt_username = "plant-1/edge-1"' in config
        assert "1 edge(s)" in broker_config(stack, out, port, env)
        broker.popen.send_signal(signal.SIGHUP)  # Mosquitto rereads passwd and acl
        stack.start_edge("edge-1")
        [action] = stack.enqueue_receipts("edge-1", 1)
        wait_until(
            lambda: stack.action_state("edge-1", action)["state"] == "applied",
            60,
            what="the action applied",
        )
    finally:
        stack.close()
        if broker is not None:
            broker.stop()
