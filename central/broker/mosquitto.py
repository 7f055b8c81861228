"""Mosquitto's password file, ACL and ``mosquitto.conf``, written from central's accounts.

Each edge may publish only its own ``act``, ``state`` and ``ref-request`` and read only its
own ``ack`` and ``ref-snapshot``, its site's reference data and central's state. Each central
account reads every ``act`` and ``ref-request`` (plainly or through the ``$share/central``
group) and every edge state, and publishes acks, reference data, snapshots and central's
state. Anonymous clients are refused, and every client's id is its
username (``use_username_as_clientid``), so nobody can take over another client's session.
"""

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from central.broker.accounts import EdgeLogin
from protocol.topics import (
    ACK_FILTER,
    ACT_FILTER,
    CENTRAL_STATE,
    REF_FILTER,
    REF_REQUEST_FILTER,
    REF_SNAPSHOT_FILTER,
    STATE_FILTER,
    ack_topic,
    act_topic,
    ref_filter,
    ref_request_topic,
    ref_snapshot_topic,
    shared,
    state_topic,
)

PASSWORD_FILE = "passwd"
ACL_FILE = "acl"
CONF_FILE = "mosquitto.conf"


@dataclass(frozen=True)
class Listener:
    """One network listener: ``host:port``, with TLS when a server certificate is given."""

    host: str
    port: int
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None
    require_certificate: bool = False

    def lines(self) -> list[str]:
        """The listener's block in mosquitto.conf."""
        block = [
            f"listener {self.port} {self.host}",
            "# A client's id is its username: nobody can connect as another client and push",
            "# it off.",
            "use_username_as_clientid true",
        ]
        if self.certfile:
            block += [f"certfile {self.certfile}", f"keyfile {self.keyfile}"]
            if self.cafile:
                block.append(f"cafile {self.cafile}")
            if self.require_certificate:
                block.append("require_certificate true")
        return block


@dataclass(frozen=True)
class BrokerLayout:
    """Where the broker finds the files and keeps its data, as the broker sees them."""

    files_dir: str
    listeners: Sequence[Listener]
    persistence_dir: str | None = "/mosquitto/data/"
    # Mosquitto started as root drops to this user before it reads the password file and
    # ACL (its default is ``mosquitto``), so the files must be readable by that user.
    run_as: str | None = None


def render_password_file(edges: Sequence[EdgeLogin], centrals: Sequence[tuple[str, str]]) -> str:
    """``username:$7$...`` lines: central accounts (name, hash) first, then every edge."""
    lines = [f"{name}:{password_hash}" for name, password_hash in centrals]
    lines += [f"{edge.username}:{edge.password_hash}" for edge in edges]
    return "".join(f"{line}\n" for line in lines)


def render_acl(edges: Sequence[EdgeLogin], centrals: Sequence[str]) -> str:
    """The ACL: every account's topics, and nothing for anybody else."""
    out = ["# IOE broker ACL, written by `ioe broker-config`; do not edit (rewritten).", ""]
    for name in centrals:
        out += [
            f"user {name}",
            f"topic read {ACT_FILTER}",
            f"topic read {shared(ACT_FILTER)}",
            f"topic read {STATE_FILTER}",
            f"topic read {REF_REQUEST_FILTER}",
            f"topic read {shared(REF_REQUEST_FILTER)}",
            f"topic write {ACK_FILTER}",
            f"topic write {REF_FILTER}",
            f"topic write {REF_SNAPSHOT_FILTER}",
            f"topic write {CENTRAL_STATE}",
            "",
        ]
    for edge in edges:
        out += [
            f"user {edge.username}",
            f"topic write {act_topic(edge.site, edge.edge_id)}",
            f"topic write {state_topic(edge.site, edge.edge_id)}",
            f"topic read {ack_topic(edge.site, edge.edge_id)}",
            f"topic write {ref_request_topic(edge.site, edge.edge_id)}",
            f"topic read {ref_filter(edge.site)}",
            f"topic read {ref_snapshot_topic(edge.site, edge.edge_id)}",
            f"topic read {CENTRAL_STATE}",
            "",
        ]
    return "\n".join(out)


def render_conf(layout: BrokerLayout) -> str:
    """mosquitto.conf: password file and ACL, no anonymous clients, client id = username.

    Listener options (``use_username_as_clientid``, TLS) follow their ``listener`` line: put
    before any, Mosquitto would open a default listener on 1883 for them."""
    files = layout.files_dir.rstrip("/")
    lines = [
        "# Mosquitto for IOE, written by `ioe broker-config` (see docs/deploy.md).",
        "per_listener_settings false",
        "allow_anonymous false",
        f"password_file {files}/{PASSWORD_FILE}",
        f"acl_file {files}/{ACL_FILE}",
    ]
    if layout.run_as:
        lines.append(f"user {layout.run_as}")
    for listener in layout.listeners:
        lines += listener.lines()
    if layout.persistence_dir:
        lines += ["persistence true", f"persistence_location {layout.persistence_dir}"]
    else:
        lines.append("persistence false")
    lines += [
        "# Stock max_queued_messages (1000) silently drops QoS 1 messages the broker already",
        "# acknowledged when a subscriber is slow; IOE raises it.",
        "max_queued_messages 100000",
        "max_inflight_messages 100",
    ]
    return "\n".join(lines) + "\n"


def write_file(path: Path, text: str, *, mode: int, owner: tuple[int, int] | None = None) -> None:
    """Replace ``path`` atomically (a broker reloading on SIGHUP never reads half a file),
    with ``mode`` from the first byte written and, if given, the broker's (uid, gid)."""
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
        handle.flush()
        os.fsync(handle.fileno())
    os.chmod(tmp, mode)
    if owner is not None:
        os.chown(tmp, *owner)
    os.replace(tmp, path)
