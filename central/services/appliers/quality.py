"""Appliers for quality actions from the floor."""

from central.services.appliers.common import Applier

APPLIERS: dict[str, Applier] = {}
