"""`ioe edge rotate-secret` and `ioe edge revoke`: an edge's key changed at central.

Rotation runs on the edge host: central issues a new key and the edge's own ``edge.toml`` gets
it at once (written atomically, owner-only). The edge signs new actions with it from its next
start; what it queued before stays signed with the old key, which central keeps accepting
for an overlap window (or until the edge signs with the new key).
"""

from dataclasses import dataclass
from pathlib import Path

import httpx

from edge.central_client import post_to_central
from edge.config import load_config, validate_config, write_config
from edge.errors import ConfigError, ProvisionError


@dataclass(frozen=True, slots=True)
class RotatedKey:
    """What central answered to a rotation (the secret is only in the written config)."""

    key_version: int
    previous_valid_until: str


def _edge_path(site: str, edge_id: str, verb: str) -> str:
    return f"/api/v1/edges/{site}/{edge_id}/{verb}"


async def rotate_secret(
    config_path: Path,
    *,
    central_url: str | None = None,
    admin_token: str | None = None,
    force: bool = False,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> RotatedKey:
    """Have central issue this edge a new key and write it into ``config_path``.

    The config is read and checked before central is called, and a test write proves the
    file can be replaced, so a rotation is not spent on a config nobody can update. If the
    write still fails afterwards, the error carries the new key so it is not lost.
    """
    config = load_config(config_path, env={})
    central = central_url or config.central_url
    if not central:
        raise ConfigError(f"{config_path} names no central_url; pass --central")
    write_config(config, config_path, overwrite=True)  # can we replace it? (same content)
    body = await post_to_central(
        central,
        _edge_path(config.site, config.edge_id, "rotate-secret"),
        what=f"rotate the key of {config.site}/{config.edge_id}",
        admin_token=admin_token,
        json={"force": force},
        timeout=timeout,
        transport=transport,
    )
    secret = body.get("secret")
    if not isinstance(secret, str) or not secret:
        raise ProvisionError(f"central answered the rotation without a key: {str(body)[:200]}")
    updated = validate_config(
        {**config.model_dump(mode="json"), "secret": secret}, source=str(config_path)
    )
    try:
        write_config(updated, config_path, overwrite=True)
    except ConfigError as err:
        raise ConfigError(
            f"{err}; central has issued the new key, put it in the config by hand: "
            f'secret = "{secret}"'
        ) from err
    return RotatedKey(int(body.get("key_version", 0)), str(body.get("previous_valid_until")))


async def revoke_edge(
    central_url: str,
    *,
    site: str,
    edge_id: str,
    admin_token: str | None = None,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> str:
    """Revoke the edge at central; answers when (central's time) it was revoked."""
    body = await post_to_central(
        central_url,
        _edge_path(site, edge_id, "revoke"),
        what=f"revoke {site}/{edge_id}",
        admin_token=admin_token,
        timeout=timeout,
        transport=transport,
    )
    return str(body.get("revoked_at"))
