"""The periodic pull: while central runs, pull the configured order system every interval
(IOE_ORDER_SYNC_URL and IOE_ORDER_SYNC_INTERVAL; off by default). Each run is logged; a
failing source or database is logged and tried again next interval, never fatal to central."""

import asyncio
import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from central.order_sync.pull import Pull, PullResult, pull_orders
from central.settings import CentralSettings

log = logging.getLogger(__name__)


class PeriodicOrderSync:
    """Pulls ``pull`` into ``engine`` every ``interval`` seconds, the first time at once."""

    def __init__(
        self,
        engine: AsyncEngine,
        pull: Pull,
        interval: float,
        settings: CentralSettings | None = None,
    ) -> None:
        self.engine = engine
        self.pull = pull
        self.interval = interval
        self.settings = settings

    async def run(self) -> None:
        """Pull until cancelled."""
        log.info("order sync from %s every %g s", self.pull.url, self.interval)
        while True:
            await self.once()
            await asyncio.sleep(self.interval)

    async def once(self) -> PullResult | None:
        """One pull, logged; None when it could not even be recorded."""
        try:
            result = await pull_orders(self.engine, self.pull, settings=self.settings)
        except Exception:  # the database failed: central keeps running, next interval retries
            log.exception("order sync from %s failed", self.pull.url)
            return None
        summary = result.report.summary()
        if result.ok:
            log.info("order sync from %s: %s", self.pull.url, summary)
        else:
            log.error("order sync from %s failed: %s (%s)", self.pull.url, result.error, summary)
        return result


def periodic_order_sync(settings: CentralSettings, engine: AsyncEngine) -> PeriodicOrderSync | None:
    """The periodic pull the settings ask for, or None when they ask for none."""
    if not (settings.order_sync_url and settings.order_sync_interval and settings.order_sync_site):
        return None
    return PeriodicOrderSync(
        engine, pull_settings(settings), settings.order_sync_interval, settings
    )


def pull_settings(
    settings: CentralSettings, *, url: str | None = None, site: str | None = None
) -> Pull:
    """How to pull, from the settings (``url`` and ``site`` given on top)."""
    token = settings.order_sync_token.get_secret_value() if settings.order_sync_token else None
    chosen_url, chosen_site = url or settings.order_sync_url, site or settings.order_sync_site
    if not chosen_url or not chosen_site:
        raise ValueError("an order sync needs a source URL and a site")
    return Pull(
        url=chosen_url,
        site=chosen_site,
        token=token,
        retries=settings.order_sync_retries,
        backoff=settings.order_sync_backoff,
        timeout=settings.order_sync_timeout,
    )
