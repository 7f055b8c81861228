"""Process harness for tests and benchmarks: free ports, waiting, starting ioe subprocesses,
a faulty network link.

A development helper, importable from the repository root (like ``tests/``), not installed.
"""

from harness.links import FaultyLink
from harness.processes import (
    REPO,
    Proc,
    free_port,
    ioe_command,
    process_workdir,
    provision_command,
    wait_for_port,
    wait_until,
)

__all__ = [
    "REPO",
    "FaultyLink",
    "Proc",
    "free_port",
    "ioe_command",
    "process_workdir",
    "provision_command",
    "wait_for_port",
    "wait_until",
]
