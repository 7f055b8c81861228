"""Wiring central's event relay: which consumers the outbox feeds in a running central."""

from sqlalchemy.ext.asyncio import AsyncEngine

from central.events.relay import EventRelay
from central.settings import CentralSettings


def build_relay(engine: AsyncEngine, settings: CentralSettings) -> EventRelay:
    """The relay of a central process, with every consumer it feeds."""
    return EventRelay(engine, settings)
