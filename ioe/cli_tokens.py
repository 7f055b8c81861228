"""`ioe central token ...`: make, list and revoke API tokens straight in central's database.

This is how the first tokens are made on a new plant (before anyone holds one), and how a
lost admin's access is cut without the API.
"""

import asyncio
import getpass
from typing import Any

import typer

token_app = typer.Typer(
    help="API tokens: roles and sites per person or system.", no_args_is_help=True
)
DB_OPTION = typer.Option(None, "--db", envvar="IOE_DB_URL", help="central's database URL")


def _db_url(db: str | None) -> str:
    """The database URL from the flag, the environment or central's default (one line and
    exit 2 if it is not one central can use)."""
    from ioe.cli_serving import central_settings

    return central_settings(db_url=db).db_url


async def _in_transaction(db_url: str, work: Any) -> Any:
    """Run ``work(conn)`` in one transaction on a migrated database."""
    from central.db.engine import make_engine
    from central.db.migrate import upgrade

    await upgrade(db_url)
    engine = make_engine(db_url)
    try:
        async with engine.begin() as conn:
            return await work(conn)
    finally:
        await engine.dispose()


def _caller() -> Any:
    """Who runs this command, for the audit log."""
    from central.access.callers import command_line_caller

    return command_line_caller(getpass.getuser())


def _fail(err: Exception) -> None:
    """A domain error as one line on stderr, exit 1."""
    typer.echo(f"error: {getattr(err, 'message', err)}", err=True)
    raise typer.Exit(1)


@token_app.command("create")
def token_create(
    name: str = typer.Option(..., "--name", help="who or what holds it"),
    role: list[str] = typer.Option(..., "--role", help="repeat for several roles"),
    site: list[str] = typer.Option(..., "--site", help="repeat; '*' for all"),
    expires: str = typer.Option(
        None, "--expires", help="a duration (30d, 12h, 90m, 2w) or an ISO date; default never"
    ),
    db: str = DB_OPTION,
) -> None:
    """Make a token and print it (it is shown this once)."""
    from central.access.tokens import create_token, expiry_from
    from central.clock import now
    from central.errors import CentralError

    try:
        expires_at = None if expires is None else expiry_from(expires, at=now())
        _, token = asyncio.run(
            _in_transaction(
                _db_url(db),
                lambda conn: create_token(
                    conn,
                    caller=_caller(),
                    name=name,
                    roles=role,
                    sites=site,
                    expires_at=expires_at,
                ),
            )
        )
    except CentralError as err:
        _fail(err)
    typer.echo(token)


@token_app.command("list")
def token_list(db: str = DB_OPTION) -> None:
    """List tokens: name, roles, sites, active, expired or revoked (and when it expires)."""
    from central.access.tokens import list_tokens
    from central.clock import now

    rows = asyncio.run(
        _in_transaction(_db_url(db), lambda conn: list_tokens(conn, caller=_caller()))
    )
    for row in rows:
        if row.revoked_at:
            state = "revoked"
        elif row.expires_at and row.expires_at <= now():
            state = "expired"
        else:
            state = "active"
        until = f"\tuntil {row.expires_at.isoformat()}" if row.expires_at else ""
        typer.echo(f"{row.name}\t{','.join(row.roles)}\t{','.join(row.sites)}\t{state}{until}")


@token_app.command("revoke")
def token_revoke(name: str = typer.Argument(...), db: str = DB_OPTION) -> None:
    """Revoke a token by name."""
    from central.access.tokens import revoke_token
    from central.errors import CentralError

    try:
        asyncio.run(
            _in_transaction(
                _db_url(db), lambda conn: revoke_token(conn, caller=_caller(), name=name)
            )
        )
    except CentralError as err:
        _fail(err)
    typer.echo(f"token {name} revoked")
