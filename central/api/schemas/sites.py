"""Site settings: request and response bodies."""

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from central.db.enums import AutoReleaseWave


class SiteSettingsIn(BaseModel):
    """The site's switches, all of them (a PUT replaces the settings)."""

    model_config = ConfigDict(extra="forbid")

    auto_release: bool = Field(
        description="release every new order of the site at once and plan it onto a shipment"
    )
    auto_release_wave: AutoReleaseWave = Field(
        default="route",
        description="the shipments new orders are planned onto: one per route, or per due day",
    )


class SiteSettingsOut(BaseModel):
    """A site's switches; ``updated_at`` is null while they are the defaults never changed."""

    site: str
    auto_release: bool
    auto_release_wave: AutoReleaseWave
    updated_at: datetime | None
