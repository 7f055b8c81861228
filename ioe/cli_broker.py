"""`ioe broker-config`: Mosquitto's password file, ACL and mosquitto.conf from central's
database, so every edge and central replica logs in with its own account and reaches only
its own topics (docs/deploy.md)."""

import asyncio
from pathlib import Path

import typer


def _listener(value: str, option: str) -> tuple[str, int]:
    """``host:port`` (``:port`` means every interface)."""
    host, _, port = value.rpartition(":")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise typer.BadParameter(f"{option} takes host:port, not {value!r}")
    return host or "0.0.0.0", int(port)


def broker_config(
    out: Path = typer.Option(..., "--out", help="directory to write passwd, acl, mosquitto.conf"),
    db: str = typer.Option(None, "--db", envvar="IOE_DB_URL", help="central's database URL"),
    centrals: int = typer.Option(
        1, "--centrals", help="central replica accounts central-1..N (one per replica)"
    ),
    central: list[str] = typer.Option(
        None, "--central", help="named central accounts instead of central-1..N (repeat)"
    ),
    files_dir: str = typer.Option(
        None, "--files-dir", help="the directory as the broker sees it (default: --out)"
    ),
    listener: list[str] = typer.Option(
        None, "--listener", help="plain listener host:port (repeat; default 0.0.0.0:1883)"
    ),
    tls_listener: str = typer.Option(None, "--tls-listener", help="TLS listener host:port"),
    cafile: str = typer.Option(None, "--cafile", help="CA that signs client certificates"),
    certfile: str = typer.Option(None, "--certfile", help="the broker's certificate"),
    keyfile: str = typer.Option(None, "--keyfile", help="the broker's private key"),
    require_certificate: bool = typer.Option(
        False, "--require-certificate", help="mutual TLS: refuse clients without a certificate"
    ),
    persistence_dir: str = typer.Option(
        "/mosquitto/data/", "--persistence-dir", help="the broker's data directory"
    ),
    no_persistence: bool = typer.Option(False, "--no-persistence"),
    owner: str = typer.Option(
        None, "--owner", help="uid:gid to own the files (the broker's user; 1883:1883 in Docker)"
    ),
    broker_user: str = typer.Option(
        None, "--broker-user", help="the user a broker started as root runs as (`user`)"
    ),
) -> None:
    """Write Mosquitto's files: one account per provisioned edge (revoked ones left out) and
    per central replica, each edge limited to its own topics, anonymous clients refused.
    Run it after provisioning an edge, then reload the broker (SIGHUP)."""
    from central.broker.accounts import central_accounts
    from central.broker.files import write_broker_files
    from central.broker.mosquitto import BrokerLayout, Listener
    from central.db.migrate import upgrade
    from central.errors import CentralError
    from ioe.cli_serving import central_settings

    listeners = [Listener(*_listener(item, "--listener")) for item in listener or []]
    if tls_listener:
        if not (certfile and keyfile):
            raise typer.BadParameter("--tls-listener needs --certfile and --keyfile")
        if require_certificate and not cafile:
            raise typer.BadParameter("--require-certificate needs --cafile")
        host, port = _listener(tls_listener, "--tls-listener")
        listeners.append(Listener(host, port, cafile, certfile, keyfile, require_certificate))
    elif certfile or keyfile or require_certificate:
        raise typer.BadParameter("TLS files need --tls-listener host:port")
    if not listeners:
        listeners = [Listener("0.0.0.0", 1883)]
    file_owner = None
    if owner:
        uid, _, gid = owner.partition(":")
        if not (uid.isdigit() and gid.isdigit()):
            raise typer.BadParameter(f"--owner takes uid:gid (numbers), not {owner!r}")
        file_owner = (int(uid), int(gid))
    settings = central_settings(db_url=db)
    layout = BrokerLayout(
        files_dir=files_dir or str(out.resolve()),
        listeners=listeners,
        persistence_dir=None if no_persistence else persistence_dir,
        run_as=broker_user,
    )
    try:
        asyncio.run(upgrade(settings.db_url))
        written = asyncio.run(
            write_broker_files(
                db_url=settings.db_url,
                master_key=settings.load_master_key(),
                out_dir=out,
                layout=layout,
                centrals=central or central_accounts(centrals),
                owner=file_owner,
            )
        )
    except CentralError as err:
        typer.echo(f"error: {err.message}", err=True)
        raise typer.Exit(1) from None
    except OSError as err:
        typer.echo(f"error: cannot write the broker files in {out}: {err}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"wrote {', '.join(str(path) for path in written.files)}")
    typer.echo(
        f"accounts: {len(written.edges)} edge(s), central: {', '.join(written.centrals)} "
        "(run each replica with IOE_MQTT_USERNAME=<its account> and the master key)"
    )
    if written.edges_without_account:
        typer.echo(
            "no broker account (provisioned before broker accounts; provision again): "
            + ", ".join(written.edges_without_account),
            err=True,
        )
    typer.echo("reload the broker to apply: kill -HUP <mosquitto pid>")
