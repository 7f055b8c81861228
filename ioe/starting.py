"""SIGTERM while `ioe` starts (imports, settings: a second or more before anything serves)
is a clean stop: exit 0 at once, as it is once serving (docs/deploy.md#exit-codes-and-stopping).
Python's default would kill the process with status 143 and not a word, which a supervisor
reports as a failure.

The entry point sets this handler before anything else; the serving loop then replaces it
with its own (runtime/serving.py), and commands that do one job and end give SIGTERM its
default back before they start, so a stopped migration is never reported as a success.

The handler ends the process outright (``os._exit``) rather than raising SystemExit: an
exception raised from a signal handler is dropped where it cannot propagate (the signal may
land while the interpreter runs an import lock's weakref callback: "Exception ignored in
...", a traceback on stderr), and the start would then go on as if nothing happened. Nothing
begun while starting needs unwinding: a migration runs in a transaction, the edge's queue
commits whole, and logging writes each record as it comes.
"""

import os
import signal
from types import FrameType


def stop_cleanly_while_starting() -> None:
    """From now on until replaced, SIGTERM ends the process with exit 0."""
    signal.signal(signal.SIGTERM, _stop)


def restore_default_sigterm() -> None:
    """SIGTERM kills the process again, as by default (status 143), if the handler above is
    the one in place: a caller that runs the CLI in its own process keeps its own."""
    if signal.getsignal(signal.SIGTERM) is _stop:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)


def _stop(signum: int, frame: FrameType | None) -> None:
    # os.write, not print(): print() may be in use where this interrupts.
    os.write(2, b"SIGTERM received while starting: stopped\n")
    os._exit(0)
