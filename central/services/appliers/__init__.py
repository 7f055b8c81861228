"""The appliers: one function per action type, grouped by domain, found through one registry.

``apply_action`` is what the apply path calls; the helpers below let a batch load every LP and
work order its actions name in one query each, before any applier runs.
"""

from central.errors import ActionConflict
from central.services.appliers import counts, lp, production, quality
from central.services.appliers.common import Applied, Applier
from central.services.context import ApplyContext
from protocol import Envelope

APPLIERS: dict[str, Applier] = {
    **lp.APPLIERS,
    **production.APPLIERS,
    **quality.APPLIERS,
    **counts.APPLIERS,
}
_LP_FIELDS = ("lp", "parent", "into", "new_lp")


def lp_numbers(env: Envelope) -> list[str]:
    """LP numbers an envelope names, so a batch can load them in one query."""
    body = env.parsed_body
    numbers = [n for name in _LP_FIELDS if (n := getattr(body, name, None))]
    numbers.extend(line.lp for line in getattr(body, "lps", None) or ())
    return numbers


def needs_sscc(env: Envelope) -> bool:
    """True when the action makes a new LP without a label number: central allocates one."""
    body = env.parsed_body
    if env.type in ("lp.receive", "wo.output"):
        return getattr(body, "lp", 1) is None
    return env.type == "lp.split" and getattr(body, "new_lp", 1) is None


def wo_numbers(env: Envelope) -> list[tuple[str, str]]:
    """(site, work order number) pairs an envelope names, so a batch loads them in one query."""
    number = getattr(env.parsed_body, "work_order", None)
    return [(env.site, number)] if number else []


async def apply_action(ctx: ApplyContext, env: Envelope) -> Applied:
    """Apply one checked envelope; raises ActionConflict when it cannot apply."""
    applier = APPLIERS.get(env.type)
    if applier is None:  # a type protocol knows but central has no applier for yet
        raise ActionConflict(
            f"{env.type} is not handled by this central yet", code="TYPE_NOT_HANDLED"
        )
    return await applier(ctx, env, env.parsed_body)


__all__ = ["APPLIERS", "Applied", "apply_action", "lp_numbers", "needs_sscc", "wo_numbers"]
