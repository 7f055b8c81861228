"""Logging set-up for IOE's processes: one line per event, UTC timestamps."""

import logging
import os
import time


def setup_logging(level: str | None = None) -> None:
    """Configure the root logger once (level from the argument or IOE_LOG_LEVEL, default INFO)."""
    chosen = (level or os.environ.get("IOE_LOG_LEVEL") or "INFO").upper()
    formatter = logging.Formatter(
        "%(asctime)s.%(msecs)03dZ %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    formatter.converter = time.gmtime
    handler = logging.StreamHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(chosen)
    for noisy in ("amqtt", "transitions", "uvicorn.access", "aiosqlite", "httpx"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
