"""SIGTERM stops a server's work even when the first cancellation is lost on its way out."""

import asyncio
import os
import signal

from runtime import serving
from runtime.serving import run_until_signal


async def test_a_swallowed_cancellation_is_asked_again_until_the_work_stops(monkeypatch) -> None:
    # What a link does when it drops at the moment the stop arrives (Python 3.11's TaskGroup
    # raises the link's error in place of the CancelledError): it takes the link for lost and
    # goes on reconnecting. The second cancel lands in its wait and ends it.
    monkeypatch.setattr(serving, "RECANCEL_SECONDS", 0.1, raising=False)
    cancels = 0
    started = asyncio.Event()

    async def main() -> None:
        nonlocal cancels
        started.set()
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                cancels += 1
                if cancels == 1:
                    continue  # swallowed: "the link was lost, reconnect"
                raise

    runner = asyncio.create_task(run_until_signal(main))
    await started.wait()
    os.kill(os.getpid(), signal.SIGTERM)
    done, _ = await asyncio.wait({runner}, timeout=5)
    assert done, "SIGTERM did not stop work that lost its first cancellation"
    await runner  # a clean stop: no error
    assert cancels == 2


async def test_work_that_ends_by_itself_is_not_cancelled() -> None:
    async def main() -> None:
        await asyncio.sleep(0.01)

    await asyncio.wait_for(run_until_signal(main), 5)
