"""Edge errors: a small hierarchy; library errors are translated into these at the boundary."""

from typing import Any


class EdgeError(Exception):
    """Any failure of the edge agent that a caller can act on."""


class ConfigError(EdgeError):
    """The edge configuration is missing, unreadable or invalid."""


class QueueError(EdgeError):
    """The durable queue could not do what was asked (closed, I/O error, wrong file)."""


class QueueUnavailable(QueueError):
    """The queue file cannot be opened or created (a read-only or missing filesystem, no
    permission, a file that is not a queue): the edge cannot keep one scan, so it stops."""


class QueueFullError(QueueError):
    """The disk (or the queue's size limit) is full: the new action was not saved."""

    @classmethod
    def nothing_saved(cls, doing: str) -> "QueueFullError":
        """The refusal an operator sees: what was not saved, what is safe, what to do."""
        return cls(
            f"the edge's disk is full: {doing} was NOT saved. Actions already queued are safe "
            "and will still be sent. Free disk space on the edge, then scan again."
        )


class ScanError(EdgeError):
    """A scan that cannot be read: empty, control characters, bad check digit, bad command.

    ``code`` says which (SCAN_INVALID, NO_RULE_MATCHED, GS1_INVALID, QTY_AMBIGUOUS, ...), for
    the station's feedback and the kiosk.
    """

    def __init__(self, message: str, *, code: str = "SCAN_INVALID") -> None:
        super().__init__(message)
        self.code = code


class UnknownStationError(EdgeError):
    """A scan or request named a station this edge does not have."""


class ScannerError(EdgeError):
    """A scanner driver cannot read its device (missing file, unreadable FIFO)."""


class ProvisionError(EdgeError):
    """Registering the edge with central failed (unreachable, refused, bad answer)."""


class UnknownActionError(EdgeError):
    """A request named an action id this edge's queue does not hold."""


class OperatorNotSignedInError(EdgeError):
    """An action for a sign-in station named someone other than the operator signed in there."""


class QuantityOverLimitError(EdgeError):
    """An action's quantity is above the edge's per-action maximum; nothing was queued."""


class NotInCacheError(EdgeError):
    """A lookup's record is not in the edge's reference cache; ``details`` says whether the
    cache is empty, possibly out of date, or current."""

    def __init__(self, message: str, *, details: dict[str, Any]) -> None:
        super().__init__(message)
        self.details = details


class RefCacheUnavailable(EdgeError):
    """This edge runs without a reference cache, so it cannot answer lookups."""


class CentralCallError(EdgeError):
    """A call the edge forwards to central for a kiosk failed; ``code`` and ``details`` say
    how, for the local API's answer."""

    code = "CENTRAL_ERROR"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.details = details or {}


class CentralNotConfigured(CentralCallError):
    """The edge has no central_url, so it cannot forward the call."""

    code = "CENTRAL_NOT_CONFIGURED"


class CentralUnreachable(CentralCallError):
    """Central did not answer in time (down, or the network is): try again when it is back."""

    code = "CENTRAL_UNREACHABLE"


class CentralRefused(CentralCallError):
    """Central answered with an error the kiosk cannot act on (its token, its role, its site);
    ``details`` holds central's status, code and message."""

    code = "CENTRAL_REFUSED"


class ConflictNotFound(CentralCallError):
    """Central (or this edge, for a resolution) knows no such conflict."""

    code = "CONFLICT_NOT_FOUND"


class ResolutionFailed(CentralCallError):
    """Central would not resolve the conflict (already resolved, the action still cannot
    apply): its own code, message and details."""

    code = "RESOLUTION_FAILED"


class NotASupervisor(EdgeError):
    """An operator id that is not in the edge's supervisors asked for a supervisor's act."""
