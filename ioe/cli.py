"""The `ioe` command line: demo, broker, central, edge and database commands."""

import asyncio
import contextlib
from pathlib import Path

import typer

from ioe.cli_broker import broker_config
from ioe.cli_kiosk import kiosk
from ioe.cli_order_sync import order_sync
from ioe.cli_security import security_events
from ioe.cli_tokens import token_app
from ioe.starting import restore_default_sigterm
from runtime.logs import setup_logging

app = typer.Typer(
    help="IOE shop-floor gateway with central sync.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def main(ctx: typer.Context) -> None:
    """IOE: scan -> durable edge queue -> MQTT -> central apply -> ack."""
    _sigterm_kills_unless(ctx, "central", "edge", "demo")


def _sigterm_kills_unless(ctx: typer.Context, *servers: str) -> None:
    """Only the server commands keep SIGTERM a clean stop while they start (ioe/starting.py):
    for any other, SIGTERM kills as it always does, so it never ends one with success."""
    if ctx.invoked_subcommand not in servers:
        restore_default_sigterm()


def _run(coro: object) -> None:
    """Run a coroutine until it ends or Ctrl-C; Ctrl-C is a clean stop, not a traceback."""
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(coro)  # type: ignore[arg-type]


@app.command()
def broker(
    host: str = typer.Option("127.0.0.1", envvar="IOE_HOST"),
    port: int = typer.Option(1883, envvar="IOE_PORT"),
) -> None:
    """Run the embedded development MQTT broker alone."""
    from runtime.broker import serve_forever

    setup_logging()
    typer.echo(f"embedded broker on mqtt://{host}:{port} (Ctrl-C stops)")
    _run(serve_forever(host, port))


app.command("broker-config")(broker_config)
app.command("kiosk")(kiosk)

central_app = typer.Typer(help="The central service.", no_args_is_help=True)
db_app = typer.Typer(help="Central's database.", no_args_is_help=True)
app.add_typer(central_app, name="central")
app.add_typer(db_app, name="db")


@central_app.callback()
def central_group(ctx: typer.Context) -> None:
    _sigterm_kills_unless(ctx, "run")


central_app.add_typer(token_app, name="token")
central_app.command("security-events")(security_events)
central_app.command("order-sync")(order_sync)


@central_app.command("keygen")
def central_keygen(
    out: Path = typer.Option(..., "--out", help="The key file to create (never overwritten)."),
) -> None:
    """Write a new master key file (mode 0600): give the same file to every central replica
    (IOE_MASTER_KEY_FILE). It protects edge secrets and signs central's state; keep a copy
    somewhere safe, a central without it cannot check its edges' signatures."""
    from central.errors import MasterKeyError
    from central.keys import write_key_file

    try:
        write_key_file(out)
    except MasterKeyError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"master key written to {out} (mode 0600); set IOE_MASTER_KEY_FILE={out}")


@central_app.command("run")
def central_run(
    db: str = typer.Option(
        None,
        "--db",
        envvar="IOE_DB_URL",
        help="sqlite+aiosqlite:///path.db or postgresql+asyncpg://...",
    ),
    mqtt: str = typer.Option(
        None, "--mqtt", envvar="IOE_MQTT_URL", help="mqtt://user:pass@host:port, mqtts:// for TLS"
    ),
    host: str = typer.Option(None, "--host", envvar="IOE_HOST"),
    port: int = typer.Option(None, "--port", envvar="IOE_PORT"),
    shared: bool = typer.Option(
        False,
        "--shared-subscription/--plain-subscription",
        envvar="IOE_MQTT_SHARED",
        help="Split the act stream between replicas ($share); "
        "needs a broker that supports it (Mosquitto, EMQX).",
    ),
) -> None:
    """Run the central service: migrations, REST API and MQTT ingest. The broker login and
    TLS files come from IOE_MQTT_USERNAME / IOE_MQTT_PASSWORD / IOE_MQTT_CA_FILE /
    IOE_MQTT_CERT_FILE / IOE_MQTT_KEY_FILE (docs/deploy.md)."""
    from central.errors import CentralError
    from central.server import run_central
    from ioe.cli_serving import central_fault, central_settings, serve_until_signal
    from runtime.errors import BrokerUrlError

    setup_logging()
    settings = central_settings(db_url=db, mqtt_url=mqtt, host=host, port=port)
    try:
        settings.broker_address()
    except (BrokerUrlError, CentralError) as err:
        typer.echo(f"error: broker settings: {err}", err=True)
        raise typer.Exit(2) from None
    serve_until_signal(
        lambda: run_central(settings, shared_subscription=shared), translate=central_fault
    )


@db_app.command("upgrade")
def db_upgrade(db: str = typer.Option(None, "--db", envvar="IOE_DB_URL")) -> None:
    """Apply central's database migrations (safe to run again)."""
    from central.db.migrate import upgrade
    from central.errors import MasterKeyError, MigrationError
    from ioe.cli_serving import central_settings

    setup_logging()
    settings = central_settings(db_url=db)
    key_problem = ""
    try:
        master_key = settings.load_master_key()
    except MasterKeyError as err:
        if settings.master_key or settings.master_key_file:
            typer.echo(f"error: {err.message}", err=True)
            raise typer.Exit(1) from None
        key_problem, master_key = err.message, None  # needed only if edges are registered
    try:
        asyncio.run(upgrade(settings.db_url, master_key=master_key))
    except MigrationError as err:
        typer.echo(f"error: {err.message}", err=True)
        if key_problem:
            typer.echo(f"(master key: {key_problem})", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"database at {settings.db_url} is up to date")


@db_app.command("check")
def db_check(
    db: str = typer.Option(None, "--db", envvar="IOE_DB_URL"),
    site: list[str] = typer.Option(None, "--site", help="only these sites (repeat)"),
) -> None:
    """Prove LP quantities, places and statuses against the ledger: exit 0 consistent,
    1 inconsistent (problems listed), 2 database unreachable."""
    from central.errors import DatabaseUnavailable
    from central.inventory.consistency import check_database
    from ioe.cli_serving import central_settings

    setup_logging("WARNING")
    settings = central_settings(db_url=db)
    try:
        report = asyncio.run(check_database(settings.db_url, sites=site or None))
    except DatabaseUnavailable as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(2) from err
    counted = (
        f"{report.checked.lps} LPs, {report.checked.ledger_rows} ledger rows "
        f"checked in {report.elapsed_ms} ms"
    )
    if report.ok:
        typer.echo(f"consistent: {counted}")
        return
    more = " (first ones only)" if report.truncated else ""
    typer.echo(f"INCONSISTENT: {len(report.problems)} problem(s){more}; {counted}")
    for problem in report.problems:
        typer.echo(f"  {problem['kind']} {problem['lp']}: {problem['message']}")
    raise typer.Exit(1)


edge_app = typer.Typer(help="Edge agents.", no_args_is_help=True)
app.add_typer(edge_app, name="edge")


@edge_app.callback()
def edge_group(ctx: typer.Context) -> None:
    _sigterm_kills_unless(ctx, "run")


@edge_app.command("run")
def edge_run(config: Path = typer.Option(..., "--config", "-c", help="edge.toml")) -> None:
    """Run an edge agent with the scanners and stations its config names."""
    from edge.agent import run_edge
    from edge.config import load_config
    from edge.errors import ConfigError
    from ioe.cli_serving import edge_fault, serve_until_signal

    setup_logging()
    try:
        loaded = load_config(config)
        loaded.central_public_key()  # refused here with a clear message, not mid-start
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    serve_until_signal(lambda: run_edge(loaded), translate=edge_fault)


@edge_app.command("scan-test")
def edge_scan_test(
    config: Path = typer.Option(..., "--config", "-c", help="edge.toml"),
    station: str = typer.Option(..., "--station", "-s", help="the station whose scanner to read"),
    count: int | None = typer.Option(
        None, "--count", "-n", min=1, help="stop after this many scans (default: Ctrl-C)"
    ),
    json_lines: bool = typer.Option(False, "--json", help="one JSON object per line"),
) -> None:
    """Show what a station's scanner sends (raw bytes, decoded fields, the rule that matched)
    without queuing anything: for setting scanners up."""
    from edge.config import load_config
    from edge.errors import ConfigError
    from edge.scan_test import render_human, render_json, scan_test, station_with_scanner

    render = render_json if json_lines else render_human
    try:
        loaded = load_config(config)
        station_with_scanner(loaded, station)
        coro = scan_test(loaded, station, lambda item: typer.echo(render(item)), count=count)
    except ConfigError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(2) from err
    _run(coro)


@edge_app.command("provision")
def edge_provision(
    central: str = typer.Option(..., "--central", help="central's base URL, http://host:8000"),
    site: str = typer.Option(..., "--site"),
    edge: str = typer.Option(..., "--edge", help="this edge's id, unique within the site"),
    mqtt: str = typer.Option("mqtt://127.0.0.1:1883", "--mqtt", envvar="IOE_MQTT_URL"),
    out: Path = typer.Option(Path("edge.toml"), "--out"),
    port: int = typer.Option(8701, "--port", help="the edge's local API port"),
    data_dir: Path = typer.Option(None, "--data-dir", help="where the queue lives"),
    ack_timeout: float = typer.Option(10.0, "--ack-timeout", help="seconds before a resend"),
    token: str = typer.Option(None, "--token", envvar="IOE_ADMIN_TOKEN"),
    overwrite: bool = typer.Option(False, "--overwrite"),
    mqtt_ca: Path = typer.Option(None, "--mqtt-ca", help="CA of the broker's certificate"),
    mqtt_cert: Path = typer.Option(None, "--mqtt-cert", help="client certificate (mutual TLS)"),
    mqtt_key: Path = typer.Option(None, "--mqtt-key", help="client certificate's key"),
) -> None:
    """Register this edge at central and write a ready edge.toml holding its secret."""
    from edge.errors import EdgeError
    from edge.provision import provision

    setup_logging("WARNING")
    settings: dict[str, object] = {"port": port, "ack_timeout_seconds": ack_timeout}
    if data_dir is not None:
        settings["data_dir"] = str(data_dir)
    for field, path in (("mqtt_ca_file", mqtt_ca), ("mqtt_cert_file", mqtt_cert)):
        if path is not None:
            settings[field] = str(path.resolve())
    if mqtt_key is not None:
        settings["mqtt_key_file"] = str(mqtt_key.resolve())
    try:
        asyncio.run(
            provision(
                central,
                site=site,
                edge_id=edge,
                mqtt_url=mqtt,
                out_path=out,
                admin_token=token,
                overwrite=overwrite,
                settings=settings,
            )
        )
    except EdgeError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(
        f"edge {site}/{edge} registered; config with its secret, local API key and broker "
        f"login written to {out} (run `ioe broker-config` and reload the broker so the login "
        "works)"
    )


@edge_app.command("rotate-secret")
def edge_rotate_secret(
    config: Path = typer.Option(Path("edge.toml"), "--config", "-c", help="this edge's edge.toml"),
    central: str = typer.Option(None, "--central", help="central's base URL (default: config)"),
    token: str = typer.Option(None, "--token", envvar="IOE_ADMIN_TOKEN"),
    force: bool = typer.Option(
        False, "--force", help="rotate even while the previous rotation's old key is accepted"
    ),
) -> None:
    """Get a new key for this edge from central and write it into its edge.toml. Restart the
    edge to sign with it; what it queued before stays accepted for central's overlap window."""
    from edge.errors import EdgeError
    from edge.rotation import rotate_secret

    setup_logging("WARNING")
    try:
        rotated = asyncio.run(
            rotate_secret(config, central_url=central, admin_token=token, force=force)
        )
    except EdgeError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(
        f"key {rotated.key_version} written to {config}; restart the edge to use it. The "
        f"previous key is accepted until {rotated.previous_valid_until} or until the edge "
        "sends an action signed with the new one"
    )


@edge_app.command("revoke")
def edge_revoke(
    central: str = typer.Option(..., "--central", help="central's base URL, http://host:8000"),
    site: str = typer.Option(..., "--site"),
    edge: str = typer.Option(..., "--edge"),
    token: str = typer.Option(None, "--token", envvar="IOE_ADMIN_TOKEN"),
) -> None:
    """Refuse an edge (a lost or stolen device): its actions are rejected EDGE_REVOKED, and
    the next `ioe broker-config` disables its broker account."""
    from edge.errors import EdgeError
    from edge.rotation import revoke_edge

    setup_logging("WARNING")
    try:
        at = asyncio.run(revoke_edge(central, site=site, edge_id=edge, admin_token=token))
    except EdgeError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from err
    typer.echo(
        f"edge {site}/{edge} revoked at {at}: its actions are refused from now on. Run "
        "`ioe broker-config` and reload the broker to close its broker account; provision it "
        "again to re-admit it"
    )


@app.command()
def demo(
    workdir: Path = typer.Option(Path("var/demo"), "--dir", help="where the demo keeps state"),
    port: int = typer.Option(8000, "--port", help="central API port (another if taken)"),
    edge_port: int = typer.Option(
        8701, "--edge-port", help="the edge's local API port (another if taken)"
    ),
    broker_port: int = typer.Option(
        1883, "--broker-port", help="the embedded MQTT broker's port (another if taken)"
    ),
    kiosk: bool = typer.Option(
        False, "--kiosk", help="a station's kiosk in this terminal; the log goes to demo.log"
    ),
    kiosk_station: str = typer.Option(
        "station-1", "--kiosk-station", help="the station the kiosk shows (with --kiosk)"
    ),
) -> None:
    """Broker, central and one edge with a simulated scanner, demo data loaded. Ctrl-C stops."""
    from ioe.cli_serving import central_fault, edge_fault, serve_until_signal
    from ioe.demo import log_to_file, run_demo, run_demo_with_kiosk

    setup_logging()
    if kiosk:
        log_to_file(workdir / "demo.log")
        typer.echo(f"starting the demo (its log: {workdir / 'demo.log'}) ...")
        serve_until_signal(
            lambda: run_demo_with_kiosk(
                workdir=workdir,
                station=kiosk_station,
                central_port=port,
                edge_port=edge_port,
                broker_port=broker_port,
            ),
            translate=lambda error: central_fault(error) or edge_fault(error),
        )
    else:
        serve_until_signal(
            lambda: run_demo(
                workdir=workdir, central_port=port, edge_port=edge_port, broker_port=broker_port
            ),
            translate=lambda error: central_fault(error) or edge_fault(error),
        )
    typer.echo("demo stopped")
