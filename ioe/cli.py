"""The `ioe` command line: demo, broker, central, edge and database commands."""

import asyncio
import contextlib

import typer

from ioe.logs import setup_logging

app = typer.Typer(help="IOE shop-floor gateway with central sync.", no_args_is_help=True,
                  pretty_exceptions_enable=False)


@app.callback()
def main() -> None:
    """IOE: scan -> durable edge queue -> MQTT -> central apply -> ack."""


def _run(coro: object) -> None:
    """Run a coroutine until it ends or Ctrl-C; Ctrl-C is a clean stop, not a traceback."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)  # type: ignore[arg-type]


@app.command()
def broker(host: str = typer.Option("127.0.0.1", envvar="IOE_HOST"),
           port: int = typer.Option(1883, envvar="IOE_PORT")) -> None:
    """Run the embedded development MQTT broker alone."""
    from ioe.broker import serve_forever

    setup_logging()
    typer.echo(f"embedded broker on mqtt://{host}:{port} (Ctrl-C stops)")
    _run(serve_forever(host, port))


central_app = typer.Typer(help="The central service.", no_args_is_help=True)
db_app = typer.Typer(help="Central's database.", no_args_is_help=True)
app.add_typer(central_app, name="central")
app.add_typer(db_app, name="db")


@central_app.command("run")
def central_run(
    db: str = typer.Option(None, "--db", envvar="IOE_DB_URL",
                           help="sqlite+aiosqlite:///path.db or postgresql+asyncpg://..."),
    mqtt: str = typer.Option(None, "--mqtt", envvar="IOE_MQTT_URL",
                             help="mqtt://user:pass@host:port, mqtts:// for TLS"),
    host: str = typer.Option(None, "--host", envvar="IOE_HOST"),
    port: int = typer.Option(None, "--port", envvar="IOE_PORT"),
    shared: bool = typer.Option(False, "--shared-subscription/--plain-subscription",
                                envvar="IOE_MQTT_SHARED",
                                help="Split the act stream between replicas ($share); "
                                     "needs a broker that supports it (Mosquitto, EMQX)."),
) -> None:
    """Run the central service: migrations, REST API and MQTT ingest."""
    from central.server import run_central
    from central.settings import CentralSettings
    from ioe.serving import run_until_signal

    setup_logging()
    overrides = {k: v for k, v in {"db_url": db, "mqtt_url": mqtt, "host": host,
                                    "port": port}.items() if v is not None}
    settings = CentralSettings(**overrides)
    _run(run_until_signal(lambda: run_central(settings, shared_subscription=shared)))


@db_app.command("upgrade")
def db_upgrade(db: str = typer.Option(None, "--db", envvar="IOE_DB_URL")) -> None:
    """Apply central's database migrations (safe to run again)."""
    from central.db.migrate import upgrade
    from central.settings import CentralSettings

    setup_logging()
    settings = CentralSettings(**({"db_url": db} if db else {}))
    asyncio.run(upgrade(settings.db_url))
    typer.echo(f"database at {settings.db_url} is up to date")
