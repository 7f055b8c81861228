"""Stopping a background loop that a database error would otherwise keep running."""

import asyncio


def stopping(err: BaseException | None = None) -> None:
    """Re-raise a cancellation that a database error took the place of: a statement cut off
    by the cancel can fail its rollback (an invalidated connection), and that error must not
    keep a stopping loop running."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from err
