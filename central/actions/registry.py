"""Which operation each floor action type runs, and what a batch must load before it runs.

This is the floor's one adapter onto the domains: an envelope becomes an ``Origin`` and its
parsed body, handed to the operation its domain lists in ``ACTIONS``. The API reaches the same
operations through each domain's service module.
"""

from central.apply.context import ApplyContext, Origin
from central.apply.outcome import Applied, Operation
from central.counts import operations as counts
from central.errors import ActionConflict
from central.inventory import operations as inventory
from central.orders import picking
from central.production import operations as production
from central.quality import operations as quality
from central.shipping import loading as shipping
from protocol import Envelope

ACTIONS: dict[str, Operation] = {
    **inventory.ACTIONS,
    **production.ACTIONS,
    **quality.ACTIONS,
    **counts.ACTIONS,
    **shipping.ACTIONS,
    **picking.ACTIONS,
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
    operation = ACTIONS.get(env.type)
    if operation is None:  # a type protocol knows but central has no operation for yet
        raise ActionConflict(
            f"{env.type} is not handled by this central yet", code="TYPE_NOT_HANDLED"
        )
    return await operation(ctx, Origin.of(env), env.parsed_body)


__all__ = ["ACTIONS", "Applied", "apply_action", "lp_numbers", "needs_sscc", "wo_numbers"]
