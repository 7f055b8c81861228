"""`ioe edge provision`: register an edge with central and write its ready-to-run edge.toml."""

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from edge.central_client import post_to_central
from edge.config import EdgeConfig, StationConfig, validate_config, write_config
from edge.errors import ConfigError, ProvisionError
from edge.scanners.simulated import SimulatedScannerConfig


def default_station() -> StationConfig:
    """One station moving LPs, fed by a simulated scanner on stdin."""
    return StationConfig(
        name="station-1",
        operator="op-1",
        action="lp.move",
        scanner=SimulatedScannerConfig(kind="simulated", path="-"),
    )


def new_api_key() -> str:
    """A fresh key for the edge's local API (256 random bits, URL- and header-safe)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class Registration:
    """What central hands a newly provisioned edge, this once: its signing secret, central's
    state key, and the broker login (a central without broker accounts sends none)."""

    secret: str
    central_key: str
    mqtt_username: str | None = None
    mqtt_password: str | None = field(default=None, repr=False)


async def register_edge(
    central_url: str,
    *,
    site: str,
    edge_id: str,
    admin_token: str | None = None,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> Registration:
    """Register the edge with central; returns the signing secret, central's state key and
    the broker login central made for it (a central without broker accounts sends no login)."""
    body = await post_to_central(
        central_url,
        "/api/v1/edges",
        what=f"register {site}/{edge_id}",
        admin_token=admin_token,
        json={"site": site, "edge_id": edge_id},
        expect=201,
        timeout=timeout,
        transport=transport,
    )
    secret = body.get("secret")
    if body.get("site", site) != site or body.get("edge_id", edge_id) != edge_id:
        raise ProvisionError(
            f"central registered {body.get('site')}/{body.get('edge_id')}, not {site}/{edge_id}"
        )
    if not isinstance(secret, str) or not secret:
        raise ProvisionError("central answered without a secret")
    central_key = body.get("central_key")
    if not isinstance(central_key, str) or not central_key:
        raise ProvisionError(
            "central answered without central_key (its state key); upgrade central first"
        )
    username, password = body.get("mqtt_username"), body.get("mqtt_password")
    if not (isinstance(username, str | None) and isinstance(password, str | None)):
        raise ProvisionError("central answered a broker login that is not text")
    return Registration(secret, central_key, username or None, password or None)


async def provision(
    central_url: str,
    *,
    site: str,
    edge_id: str,
    mqtt_url: str,
    out_path: Path,
    admin_token: str | None = None,
    stations: Sequence[StationConfig] | None = None,
    overwrite: bool = False,
    settings: dict[str, Any] | None = None,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> EdgeConfig:
    """Register the edge with central and write a ready edge.toml to ``out_path``, holding
    its signing secret and its broker login.

    ``settings`` sets further EdgeConfig fields (port, data_dir, ack_timeout_seconds, ...).
    The local API key is made here, on the edge's side; central never sees it.
    The file is checked before central is called, so a refusal to overwrite never leaves
    central holding a secret that nobody wrote down.
    """
    out_path = Path(out_path)
    if out_path.exists() and not overwrite:
        raise ConfigError(
            f"{out_path} already exists; refusing to overwrite it (pass overwrite to replace it)"
        )
    fields: dict[str, Any] = {
        "site": site,
        "edge_id": edge_id,
        "mqtt_url": mqtt_url,
        "central_url": central_url,
        "stations": [s.model_dump() for s in (stations or [default_station()])],
        "api_key": new_api_key(),
        **(settings or {}),
    }
    # Validate everything but the secret first: a typo should not cost a registration.
    validate_config({**fields, "secret": "x" * 32}, source="edge settings")
    registration = await register_edge(
        central_url,
        site=site,
        edge_id=edge_id,
        admin_token=admin_token,
        timeout=timeout,
        transport=transport,
    )
    fields["secret"] = registration.secret
    fields["central_key"] = registration.central_key
    if registration.mqtt_username:
        fields["mqtt_username"] = registration.mqtt_username
        fields["mqtt_password"] = registration.mqtt_password
    config = validate_config(fields, source="central's answer")
    write_config(config, out_path, overwrite=overwrite)
    return config
