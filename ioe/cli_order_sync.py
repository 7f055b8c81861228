"""`ioe central order-sync`: pull the outside order system's pages into central's database
once, and print what the pull did."""

import asyncio
from datetime import datetime
from typing import Any

import typer

from ioe.cli_tokens import DB_OPTION, _db_url


def order_sync(
    url: str = typer.Option(
        None, "--url", envvar="IOE_ORDER_SYNC_URL", help="the order system's page URL"
    ),
    site: str = typer.Option(
        None, "--site", envvar="IOE_ORDER_SYNC_SITE", help="the site its orders are for"
    ),
    since: datetime = typer.Option(
        None,
        "--since",
        help="ask for orders changed since (UTC if no offset); default: the "
        "start of the last pull from this URL for this site that succeeded",
    ),
    full: bool = typer.Option(False, "--full", help="ask for every order, ignoring --since"),
    db: str = DB_OPTION,
) -> None:
    """Pull orders, their purchase orders and shipments from an order system (following its
    pages, retrying what may pass) and print the report: exit 0 when every page was applied,
    1 when the pull failed (pages before the failure stay applied), 2 for bad options."""
    from central.db.types import as_utc
    from central.order_sync.periodic import pull_settings
    from ioe.cli_serving import central_settings

    if not url or not site:
        typer.echo("error: give --url and --site (or IOE_ORDER_SYNC_URL / _SITE)", err=True)
        raise typer.Exit(2)
    settings = central_settings(db_url=_db_url(db))
    pull = pull_settings(settings, url=url, site=site)
    result = asyncio.run(_pull(settings, pull, None if since is None else as_utc(since), full))
    report = result.report
    asked = "everything" if result.since is None else f"changes since {result.since.isoformat()}"
    typer.echo(f"order sync from {url} for {site} ({asked}): {report.summary()}")
    for title, items in (
        ("to investigate", report.investigate),
        ("locked", report.locked),
        ("errors", report.errors),
        ("left open", [_kept(x) for x in report.auto_release if not x["released"]]),
    ):
        for item in items:
            typer.echo(f"  {title}: {_line(item)}")
    if not result.ok:
        typer.echo(f"FAILED: {result.error}", err=True)
        raise typer.Exit(1)


def _line(item: dict[str, Any]) -> str:
    """One report entry as ``key=value`` pairs."""
    return " ".join(f"{k}={v}" for k, v in item.items() if k != "details")


def _kept(item: dict[str, Any]) -> dict[str, Any]:
    """A new order automatic release left open: which, and why."""
    return {k: item[k] for k in ("number", "order", "code", "message")}


async def _pull(settings: Any, pull: Any, since: datetime | None, full: bool) -> Any:
    """One pull on a migrated database."""
    from central.db.engine import make_engine
    from central.db.migrate import upgrade
    from central.order_sync.pull import pull_orders

    await upgrade(settings.db_url)
    engine = make_engine(settings.db_url)
    try:
        return await pull_orders(engine, pull, since=since, full=full, settings=settings)
    finally:
        await engine.dispose()
