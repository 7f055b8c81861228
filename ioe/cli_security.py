"""`ioe central security-events`: the security events, read straight from central's database
(for an administrator on the central host, with or without the API up)."""

import asyncio
from datetime import datetime

import typer

from ioe.cli_tokens import DB_OPTION, _db_url, _in_transaction


def security_events(
    db: str = DB_OPTION,
    kind: str = typer.Option(None, "--kind", help="e.g. BAD_SIGNATURE, LOGIN_FAILED"),
    site: str = typer.Option(None, "--site", help="only events about this site"),
    since: datetime = typer.Option(None, "--since", help="seen at or after (UTC if no offset)"),
    limit: int = typer.Option(100, "--limit", min=1, max=1000),
) -> None:
    """List security events, seen last first: last seen, count, kind, source, site/edge or
    token, and the latest detail (tab-separated)."""
    from central.db.types import as_utc
    from central.security.queries import list_events

    rows = asyncio.run(
        _in_transaction(
            _db_url(db),
            lambda conn: list_events(
                conn,
                sites=None if site is None else [site],
                kind=kind,
                since=None if since is None else as_utc(since),
                limit=limit,
            ),
        )
    )
    typer.echo("last_seen\tcount\tkind\tsource\tabout\tdetail")
    for row in rows:
        about = row.subject or "/".join(p for p in (row.site, row.edge) if p) or "-"
        typer.echo(
            f"{row.last_seen.isoformat()}\t{row.count}\t{row.kind}\t{row.source}\t{about}\t"
            f"{row.detail}"
        )
