"""Schemathesis over an in-process API: every operation of the app's own OpenAPI, fuzzed.

Requests go through the test's ``httpx.AsyncClient`` on the test's event loop (the database
engine belongs to that loop); Hypothesis runs in a worker thread and hands each generated
request to the loop. Each operation gets a fixed seed and a bounded number of examples, so
a run is repeatable and time-boxed. Every failure is collected, so one run reports them all.
"""

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import (
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation.case import Case

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]


@dataclass
class FuzzReport:
    """What a run did: requests per operation, and each operation's first failure."""

    calls: dict[str, int] = field(default_factory=dict)
    statuses: dict[str, set[int]] = field(default_factory=dict)
    failures: dict[str, str] = field(default_factory=dict)

    def summary(self) -> str:
        """The failures, one paragraph per operation, for the assertion message."""
        return "\n\n".join(f"{op}:\n{text}" for op, text in sorted(self.failures.items()))


def _fuzz_operation(
    operation: Any,
    call: Callable[[Case], httpx.Response],
    report: FuzzReport,
    max_examples: int,
    path_parameters: dict[str, Any] | None = None,
) -> None:
    """Run one operation's examples (blocking; called in a worker thread); with
    ``path_parameters``, the path names records that exist, so the success paths run too."""
    label = operation.label
    report.calls.setdefault(label, 0)
    report.statuses.setdefault(label, set())

    @settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: report, don't minimise
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(path_parameters=path_parameters))
    def run(case: Case) -> None:
        response = call(case)
        report.calls[label] += 1
        report.statuses[label].add(response.status_code)
        case.validate_response(response, checks=CHECKS)

    try:
        run()
    except (Exception, BaseExceptionGroup) as exc:  # every failure is collected and reported
        report.failures[label] = (
            report.failures.get(label, "") + f"{type(exc).__name__}: {exc}"[:3000]
        )


async def fuzz_app(
    app_openapi: dict[str, Any],
    client: httpx.AsyncClient,
    *,
    headers: dict[str, str] | None = None,
    max_examples: int = 25,
    skip: Iterable[str] = (),
    known: dict[str, Any] | None = None,
) -> FuzzReport:
    """Fuzz every operation of ``app_openapi`` through ``client``; ``skip`` names operations
    ("GET /path") that cannot be fuzzed as request/response (event streams). An operation
    whose path parameters are all in ``known`` runs a second time with them pinned."""
    schema = schemathesis.openapi.from_dict(app_openapi)
    loop = asyncio.get_running_loop()
    skipped = set(skip)
    report = FuzzReport()

    def call(case: Case) -> httpx.Response:
        kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers=headers)
        request = {
            key: kwargs[key]
            for key in ("method", "url", "params", "headers", "json", "content")
            if kwargs.get(key) is not None
        }
        if kwargs.get("cookies"):
            cookie = "; ".join(f"{name}={value}" for name, value in kwargs["cookies"].items())
            request.setdefault("headers", {})["Cookie"] = cookie
        if "data" in kwargs and kwargs["data"] is not None:
            data = kwargs["data"]
            request["content"] = data if isinstance(data, bytes | str) else None
            if request["content"] is None:
                request["data"] = data
        future = asyncio.run_coroutine_threadsafe(client.request(**request), loop)
        return future.result(timeout=60)

    operations = [result.ok() for result in schema.get_all_operations()]
    for operation in operations:
        if operation.label in skipped:
            continue
        await asyncio.to_thread(_fuzz_operation, operation, call, report, max_examples)
        names = [p.name for p in operation.path_parameters]
        if names and known and all(name in known for name in names):
            pinned = {name: known[name] for name in names}
            await asyncio.to_thread(_fuzz_operation, operation, call, report, max_examples, pinned)
    return report


def brief(report: FuzzReport) -> str:
    """One line per failing operation: the checks that failed and the statuses seen."""
    import re

    lines = []
    for op, text in sorted(report.failures.items()):
        kinds = sorted(set(re.findall(r"- (ST\d+ [^\n]+|[A-Z]\w+Error[^\n]*)", text)))
        received = sorted(set(re.findall(r"Received: (\d+)", text)))
        lines.append(f"{op}: {kinds} received={received} seen={sorted(report.statuses[op])}")
    return "\n".join(lines)
