"""Per-site switches, kept in ``site_settings``: a site without a row has every default, so a
site needs no setup before it is used, and a switch is on only where someone turned it on."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller
from central.clock import now
from central.db.enums import AutoReleaseWave
from central.db.tables import site_settings


@dataclass(frozen=True, slots=True)
class SiteSettings:
    """A site's switches; ``updated_at`` is None while the site has never changed them."""

    site: str
    auto_release: bool = False
    auto_release_wave: AutoReleaseWave = "route"
    updated_at: datetime | None = None


def _of(site: str, row: Any) -> SiteSettings:
    """The settings a row says, or the defaults for a site without one."""
    if row is None:
        return SiteSettings(site)
    return SiteSettings(site, row.auto_release, row.auto_release_wave, row.updated_at)


async def read_settings(conn: AsyncConnection, site: str, *, lock: bool = False) -> SiteSettings:
    """The site's settings; ``lock`` holds its row until commit (a site without a row has
    nothing to lock, and its defaults turn nothing on)."""
    query = select(site_settings).where(site_settings.c.site == site)
    if lock:
        query = query.with_for_update()
    return _of(site, (await conn.execute(query)).first())


async def get_settings(conn: AsyncConnection, *, caller: Caller, site: str) -> SiteSettings:
    """The site's settings, for a caller of the site."""
    caller.require_site(site)
    return await read_settings(conn, site)


async def put_settings(
    conn: AsyncConnection,
    *,
    caller: Caller,
    site: str,
    auto_release: bool,
    auto_release_wave: AutoReleaseWave,
) -> SiteSettings:
    """Set the site's settings (the row made on the first change); audited with what they
    were before."""
    caller.require_site(site)
    before = await read_settings(conn, site, lock=True)
    values = {
        "site": site,
        "auto_release": auto_release,
        "auto_release_wave": auto_release_wave,
        "updated_at": now(),
    }
    # One statement whether or not the row exists, so two first changes at once both land.
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(site_settings).values(values)
    await conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[site_settings.c.site],
            set_={k: stmt.excluded[k] for k in values if k != "site"},
        )
    )
    await audit.record(
        conn,
        caller=caller,
        action="site.settings",
        target=site,
        site=site,
        details={
            "before": {
                "auto_release": before.auto_release,
                "auto_release_wave": before.auto_release_wave,
            },
            "after": {"auto_release": auto_release, "auto_release_wave": auto_release_wave},
        },
    )
    return await read_settings(conn, site)
