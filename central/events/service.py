"""Wiring central's event relay: which consumers the outbox feeds in a running central."""

from sqlalchemy.ext.asyncio import AsyncEngine

from central.events.relay import EventRelay
from central.settings import CentralSettings
from central.webhooks.fanout import WebhookFanout


def build_relay(engine: AsyncEngine, settings: CentralSettings) -> EventRelay:
    """The relay of a central process, with every consumer it feeds."""
    relay = EventRelay(engine, settings)
    relay.add(WebhookFanout())  # each event -> one delivery per matching webhook
    return relay
