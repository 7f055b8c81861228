"""Faults that end a server process at once: each has one exit code and one line for the
operator (the problem and what to do), so a supervisor or a person sees why it stopped
instead of a traceback, and a fault that no retry can fix never turns into a hang.

The codes are one table for every `ioe` server command (docs/deploy.md#exit-codes).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import IntEnum


class ExitCode(IntEnum):
    """What an `ioe` server process exits with."""

    OK = 0  # stopped on a signal (SIGTERM, Ctrl-C) after a clean shutdown
    FAILED = 1  # an unexpected error (a bug): the traceback is logged
    CONFIG = 2  # a setting or config file that cannot be read or used
    PORT_IN_USE = 3  # the API port is taken by another process
    DATABASE = 4  # the database is unreachable, missing or cannot be written
    BROKER_REFUSED = 5  # the broker refused the login (bad username/password, not authorised)


class FatalError(Exception):
    """A fault that ends the process with ``exit_code``; ``str()`` is the operator's line."""

    exit_code = ExitCode.FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigFault(FatalError):
    """A setting or config file that cannot be used."""

    exit_code = ExitCode.CONFIG


class PortInUse(FatalError):
    """The address a server must listen on is taken (or not allowed)."""

    exit_code = ExitCode.PORT_IN_USE


class DatabaseFault(FatalError):
    """The database cannot be reached, does not exist, or cannot be written."""

    exit_code = ExitCode.DATABASE


class BrokerRefused(FatalError):
    """The broker answered, and refused this login: retrying with the same one cannot help."""

    exit_code = ExitCode.BROKER_REFUSED


def find_fatal(
    error: BaseException,
    translate: Callable[[BaseException], FatalError | None] = lambda _: None,
) -> FatalError | None:
    """The FatalError inside ``error``: itself, what ``translate`` makes of it (a package's
    own errors), or the first found in a (nested) exception group, as a TaskGroup raises
    when one of its tasks fails."""
    if isinstance(error, FatalError):
        return error
    if isinstance(error, BaseExceptionGroup):
        for inner in error.exceptions:
            found = find_fatal(inner, translate)
            if found is not None:
                return found
        return None
    return translate(error)
