"""Central's domain errors: raised by services, mapped to HTTP answers in one place (api/errors)."""

from typing import Any


class CentralError(Exception):
    """Base of every error central raises on purpose; ``code`` is stable, ``message`` human."""

    code = "CENTRAL_ERROR"

    def __init__(
        self, message: str, *, code: str | None = None, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details = details or {}


class NotFound(CentralError):
    """The thing asked for does not exist."""

    code = "NOT_FOUND"


class AlreadyExists(CentralError):
    """A unique business key (product code, location, WO number) is already taken."""

    code = "ALREADY_EXISTS"


class InvalidReference(CentralError):
    """A request names another record (a product, a location) that does not exist."""

    code = "INVALID_REFERENCE"


class Unauthorized(CentralError):
    """The request carries no bearer token, or one that is unknown or revoked (401)."""

    code = "UNAUTHORIZED"


class Forbidden(CentralError):
    """The caller is known but lacks the role or the site the call needs (403)."""

    code = "FORBIDDEN"


class ActionConflict(CentralError):
    """A valid action cannot apply to the current state; ``code`` is a protocol ConflictCode."""

    code = "CONFLICT"


class Ambiguous(CentralError):
    """A key names more than one record the caller may see (an LP number at two of its
    sites); the caller must say which (409)."""

    code = "AMBIGUOUS"


class InUse(CentralError):
    """Other records depend on this one, so it cannot be deleted or changed that way."""

    code = "IN_USE"


class InvalidInput(CentralError):
    """A request is well-formed but its content is invalid for what it asks (422)."""

    code = "INVALID_INPUT"


class NotConfigured(CentralError):
    """A call needs a setting this central does not have (a shared secret, a source); 503."""

    code = "NOT_CONFIGURED"


class DatabaseUnavailable(CentralError):
    """The database cannot be opened or read."""

    code = "DATABASE_UNAVAILABLE"


class MigrationError(CentralError):
    """The database could not be brought to the current schema."""

    code = "MIGRATION_FAILED"


class MasterKeyError(CentralError):
    """The master key is missing, malformed or kept in a file others can read."""

    code = "MASTER_KEY"


class EdgeKeyRefused(CentralError):
    """An edge's key cannot change that way now: revoked, or a rotation still overlapping."""

    code = "EDGE_KEY_REFUSED"
