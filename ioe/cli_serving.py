"""How the `ioe` server commands end: on a signal, exit 0 after a clean stop; on a fault that
no retry can fix, one line on stderr naming it and what to do, and its exit code
(runtime/fatal.py, docs/deploy.md#exit-codes). The details stay in the log at debug."""

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import typer

from runtime.fatal import ConfigFault, DatabaseFault, FatalError, find_fatal
from runtime.serving import run_until_signal

if TYPE_CHECKING:
    from central.settings import CentralSettings

log = logging.getLogger("ioe")


def serve_until_signal(
    main: Callable[[], Awaitable[None]],
    translate: Callable[[BaseException], FatalError | None] = lambda _: None,
) -> None:
    """Run ``main`` until it ends or SIGINT/SIGTERM stops it; a FatalError (or what
    ``translate`` makes of a package's own error) ends the command with its code."""
    try:
        asyncio.run(run_until_signal(main))
    except KeyboardInterrupt:
        return
    except Exception as err:  # also the ExceptionGroup of a TaskGroup
        fatal = find_fatal(err, translate)
        if fatal is None:
            raise
        log.debug("stopped by %s", type(fatal).__name__, exc_info=err)
        fail(fatal)


def fail(fatal: FatalError) -> None:
    """End the command: the operator's line on stderr, the fault's exit code."""
    typer.echo(f"error: {fatal.message}", err=True)
    raise typer.Exit(int(fatal.exit_code))


def central_settings(**given: Any) -> "CentralSettings":
    """Central's settings, or the command ends with one line saying which one is wrong:
    every command that reads them (serving or not) fails the same way."""
    from pydantic import ValidationError

    from central.settings import settings_from

    try:
        return settings_from(**given)
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or 'settings'}: {error['msg']}"
            for error in err.errors()
        )
        fail(ConfigFault(f"central settings are invalid: {problems}"))
    except OSError as err:  # the folder of a SQLite database cannot be made
        fail(
            DatabaseFault(
                f"cannot create the folder {err.filename} of the SQLite database: "
                f"{err.strerror}; fix --db / IOE_DB_URL or create the folder"
            )
        )
    raise AssertionError("unreachable")


def central_fault(error: BaseException) -> FatalError | None:
    """Central's own start errors as process faults: its database, its settings."""
    from central.access.exposure import WeakAdminToken
    from central.errors import DatabaseUnavailable, MasterKeyError, MigrationError

    if isinstance(error, DatabaseUnavailable | MigrationError):
        return DatabaseFault(error.message)
    if isinstance(error, MasterKeyError | WeakAdminToken):
        return ConfigFault(error.message)
    return None


def edge_fault(error: BaseException) -> FatalError | None:
    """The edge's own start errors as process faults: its config, its queue file."""
    from edge.errors import ConfigError, QueueUnavailable

    if isinstance(error, ConfigError):
        return ConfigFault(str(error))
    if isinstance(error, QueueUnavailable):
        return DatabaseFault(str(error))
    return None
