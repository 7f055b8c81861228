"""What can go wrong between the kiosk and its edge, in two kinds the screen tells apart."""

from typing import Any


class KioskError(Exception):
    """Base of the kiosk's errors."""


class EdgeUnreachable(KioskError):
    """The edge could not be reached (refused, no route, no connection in time)."""


class EdgeAnswerLost(EdgeUnreachable):
    """The request went out but no answer came back (timed out, connection dropped): the
    edge may have acted on it, so a scan must not be called "not saved" and made again."""


class EdgeRefused(KioskError):
    """The edge answered with an error: its status, code, human message and details."""

    def __init__(
        self, status: int, code: str, message: str, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
