"""/sites/{site}/settings: a site's switches, such as automatic release of new orders."""

from fastapi import APIRouter

from central.api.deps import CallerDep, PlanningCaller, ReadConn, WriteConn
from central.api.schemas.sites import SiteSettingsIn, SiteSettingsOut
from central.sites import settings
from protocol.types import Name
from runtime.http_errors import error_responses

router = APIRouter(prefix="/sites", tags=["sites"])


@router.get("/{site}/settings", response_model=SiteSettingsOut, responses=error_responses(403))
async def get_site_settings(site: Name, conn: ReadConn, caller: CallerDep) -> settings.SiteSettings:
    """The site's settings; a site never configured answers the defaults."""
    return await settings.get_settings(conn, caller=caller, site=site)


@router.put("/{site}/settings", response_model=SiteSettingsOut, responses=error_responses(403, 422))
async def put_site_settings(
    site: Name, body: SiteSettingsIn, conn: WriteConn, caller: PlanningCaller
) -> settings.SiteSettings:
    """Replace the site's settings; audited with what they were."""
    return await settings.put_settings(
        conn,
        caller=caller,
        site=site,
        auto_release=body.auto_release,
        auto_release_wave=body.auto_release_wave,
    )
