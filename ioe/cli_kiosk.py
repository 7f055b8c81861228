"""`ioe kiosk`: a station's operator screen in this terminal, speaking to one edge over HTTP."""

import asyncio
import os

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
) -> None:
    """A station's operator kiosk: what to scan next, each action's life, the link status."""
    from terminals.kiosk.app import KioskApp

    unlock_key = None
    if unlock_key_env is not None:
        unlock_key = os.environ.get(unlock_key_env)
        if not unlock_key:
            raise typer.BadParameter(f"{unlock_key_env} is not set", param_hint="--unlock-key-env")
    api_key = os.environ.get(api_key_env) or None

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
    KioskApp(EdgeClient(edge, api_key), name, locked=lock, unlock_key=unlock_key).run()
