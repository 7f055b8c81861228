"""Building scans and walking a flow through them, for the flow tests."""

from edge.barcodes.scan import Scan, ScanKind
from edge.flows import Answer, Flow, Progress
from edge.flows.base import Data


def scan(kind: ScanKind, value: str, **fields: str) -> Scan:
    """A decoded scan as the decoder would hand it over."""
    return Scan(kind, value, value, f"test-{kind}", None, fields)


def walk(flow: Flow, *scans: Scan, data: Data | None = None) -> tuple[list[Answer], Data]:
    """Feed ``scans`` in order; the answers and the data the flow ends with.

    A refusal leaves the data as it was, as the station does.
    """
    data = flow.start() if data is None else data
    answers: list[Answer] = []
    for item in scans:
        answer = flow.done(data) if item.kind == "command" else flow.scan(data, item)
        answers.append(answer)
        if isinstance(answer, Progress):
            data = answer.data
    return answers, data


def actions(answers: list[Answer]) -> list[tuple[str, dict]]:
    """The (type, body) of every action the answers made."""
    return [
        (a.action.type, a.action.body)
        for a in answers
        if isinstance(a, Progress) and a.action is not None
    ]


DONE = scan("command", "done")
