"""`ioe kiosk`: a station's operator screen in this terminal, speaking to one edge over HTTP."""

import asyncio
import os
import sys

import typer

from terminals.kiosk.client import EdgeClient
from terminals.kiosk.errors import EdgeRefused, EdgeUnreachable


class KioskSetupError(Exception):
    """The kiosk cannot start as asked; the message says why and what to do."""


async def resolve_station(client: EdgeClient, station: str | None) -> str:
    """The station to show: the one named (checked at the edge), or the edge's only one."""
    try:
        stations = [str(s["name"]) for s in await client.stations()]
    except EdgeRefused as err:
        if err.status == 401:
            raise KioskSetupError(
                f"the edge at {client.base_url} refused the API key ({err.code}): give the "
                "kiosk the edge's api_key in the variable named by --api-key-env"
            ) from err
        raise KioskSetupError(f"the edge at {client.base_url} refused: {err}") from err
    except EdgeUnreachable as err:
        if station is None:
            raise KioskSetupError(
                f"the edge at {client.base_url} does not answer, so the station cannot be "
                "chosen for you: name it with --station (the kiosk then waits for the edge)"
            ) from err
        return station  # the kiosk shows the edge as unreachable and reconnects by itself
    if station is None:
        if len(stations) == 1:
            return stations[0]
        raise KioskSetupError(
            f"the edge at {client.base_url} has {len(stations)} stations: name one with "
            f"--station ({', '.join(stations)})"
        )
    if station not in stations:
        raise KioskSetupError(
            f"station {station!r} does not exist at the edge at {client.base_url} "
            f"(it has: {', '.join(stations) or 'none'})"
        )
    return station


def kiosk(
    edge: str = typer.Option("http://127.0.0.1:8701", "--edge", help="the edge's local API"),
    station: str | None = typer.Option(
        None, "--station", help="the station to show (needed unless the edge has exactly one)"
    ),
    api_key_env: str = typer.Option(
        "IOE_EDGE_API_KEY", "--api-key-env", help="variable holding the edge's local API key"
    ),
    lock: bool = typer.Option(
        False, "--lock", help="kiosk mode: quitting needs a supervisor badge or the unlock key"
    ),
    unlock_key_env: str | None = typer.Option(
        None, "--unlock-key-env", help="variable holding a key that also unlocks --lock"
    ),
    serve: bool = typer.Option(
        False,
        "--serve",
        help="publish the kiosk to web browsers (tablets) instead of this terminal",
    ),
    host: str | None = typer.Option(
        None,
        "--host",
        help="with --serve: the address to listen on (default 127.0.0.1: this machine only)",
    ),
    port: int | None = typer.Option(
        None, "--port", min=1, max=65535, help="with --serve: the port (default 8702)"
    ),
    token_env: str | None = typer.Option(
        None,
        "--token-env",
        help="with --serve: variable holding the token browsers need (default: a new one, printed)",
    ),
    max_sessions: int | None = typer.Option(
        None, "--max-sessions", min=1, help="with --serve: kiosks open at once at most (default 8)"
    ),
) -> None:
    """A station's operator kiosk: what to scan next, each action's life, the link status."""
    from terminals.kiosk.app import KioskApp

    unlock_key = None
    if unlock_key_env is not None:
        unlock_key = os.environ.get(unlock_key_env)
        if not unlock_key:
            raise typer.BadParameter(f"{unlock_key_env} is not set", param_hint="--unlock-key-env")
    api_key = os.environ.get(api_key_env) or None
    token = _serve_token(serve, host, port, token_env, max_sessions)

    async def choose() -> str:
        client = EdgeClient(edge, api_key)
        try:
            return await resolve_station(client, station)
        finally:
            await client.aclose()

    try:
        name = asyncio.run(choose())
    except KioskSetupError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    if serve:
        from terminals.kiosk.serve import DEFAULT_MAX_SESSIONS, DEFAULT_PORT, run_served

        # Each browser gets this same kiosk in a process of its own; the environment (the API
        # and unlock keys' variables) is handed down, never a secret on a command line.
        command = [sys.executable, "-m", "ioe", "kiosk", "--edge", edge, "--station", name,
                   "--api-key-env", api_key_env]  # fmt: skip
        if lock:
            command.append("--lock")
        if unlock_key_env is not None:
            command += ["--unlock-key-env", unlock_key_env]
        run_served(
            command,
            host or "127.0.0.1",
            port or DEFAULT_PORT,
            token,
            max_sessions=max_sessions or DEFAULT_MAX_SESSIONS,
        )
        return
    KioskApp(EdgeClient(edge, api_key), name, locked=lock, unlock_key=unlock_key).run()


MIN_TOKEN_CHARS = 16


def _serve_token(
    serve: bool,
    host: str | None,
    port: int | None,
    token_env: str | None,
    max_sessions: int | None,
) -> str | None:
    """The browser token --token-env names (None: --serve makes one); refuses serve options
    given without --serve and a token too short to guess at."""
    if not serve:
        options = (("--host", host), ("--port", port), ("--token-env", token_env),
                   ("--max-sessions", max_sessions))  # fmt: skip
        given = [name for name, value in options if value is not None]
        if given:
            raise typer.BadParameter(f"{', '.join(given)} only make sense with --serve")
        return None
    if token_env is None:
        return None
    token = os.environ.get(token_env)
    if not token:
        raise typer.BadParameter(f"{token_env} is not set", param_hint="--token-env")
    if len(token) < MIN_TOKEN_CHARS:
        raise typer.BadParameter(
            f"the token in {token_env} has {len(token)} characters; it is the kiosk's only lock, "
            f"give it at least {MIN_TOKEN_CHARS} (e.g. python3 -c 'import secrets; "
            "print(secrets.token_urlsafe(24))')",
            param_hint="--token-env",
        )
    return token
