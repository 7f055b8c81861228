"""Which events a reader asked for: types (exact, or a family such as ``lp.*``) and sites.

Types form a closed set (central/events/types.py), so a family is expanded to its types here
and an unknown name is refused with the list of known ones: a typo never becomes a stream
that silently carries nothing.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from central.errors import InvalidInput
from central.events.reading import StoredEvent
from central.events.types import EVENT_TYPES


@dataclass(frozen=True, slots=True)
class Selection:
    """A reader's filter: ``types``/``sites`` None means all."""

    types: frozenset[str] | None = None
    sites: frozenset[str] | None = None

    def matches(self, event: StoredEvent) -> bool:
        """True when the event is one the reader asked for (no site: only with no filter)."""
        if self.types is not None and event.type not in self.types:
            return False
        return self.sites is None or (event.site is not None and event.site in self.sites)


def parse_types(given: Iterable[str]) -> frozenset[str] | None:
    """Event types from query values, each comma-separated: ``lp.moved``, ``lp.*``, ``*``;
    None (all) when nothing is given or ``*`` is. Unknown names are InvalidInput (422)."""
    names = [part.strip() for value in given for part in value.split(",") if part.strip()]
    if not names or "*" in names:
        return None
    chosen: set[str] = set()
    unknown: list[str] = []
    for name in names:
        if name.endswith(".*"):
            family = [t for t in EVENT_TYPES if t.startswith(name[:-1])]
            chosen.update(family)
            if not family:
                unknown.append(name)
        elif name in EVENT_TYPES:
            chosen.add(name)
        else:
            unknown.append(name)
    if unknown:
        raise InvalidInput(
            f"unknown event type(s): {', '.join(unknown)}",
            code="UNKNOWN_EVENT_TYPE",
            details={"unknown": unknown, "known": list(EVENT_TYPES)},
        )
    return frozenset(chosen)
