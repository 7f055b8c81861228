"""What every operation answers: the Applied outcome, or an ActionConflict with a code.

Every check that can refuse an operation runs before its first write, so a conflict never
leaves half an action behind. Conflicts carry a protocol ConflictCode and a sentence a kiosk
can show as is. With ``ctx.force`` (a supervisor's "apply anyway") status checks are waived;
checks about things that do not exist never are.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from central.apply.context import ApplyContext, Origin
from central.errors import ActionConflict
from protocol import ConflictCode


@dataclass(frozen=True)
class Applied:
    """The outcome of an applied action: usually no code, and a short confirmation."""

    message: str
    code: str | None = None


# An operation as the floor runs it: the context, what caused it, and the action's body.
Operation = Callable[[ApplyContext, Origin, Any], Awaitable[Applied]]


def conflict(
    code: ConflictCode, message: str, details: dict[str, Any] | None = None
) -> ActionConflict:
    """An ActionConflict carrying a protocol conflict code (and the figures behind it, which
    the conflict inbox keeps)."""
    return ActionConflict(message, code=code.value, details=details)
