"""SSCC-18 allocation for LPs received or produced without a label number."""

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import number_sequences
from protocol.gs1 import gs1_check_digit

SSCC_SEQUENCE = "sscc"


def make_sscc(*, extension: str, company_prefix: str, serial: int) -> str:
    """The 18-digit SSCC for one serial reference under a GS1 company prefix."""
    width = 16 - len(company_prefix)
    if serial >= 10**width:
        raise ValueError(f"SSCC serials under prefix {company_prefix} are exhausted")
    body = f"{extension}{company_prefix}{serial:0{width}d}"
    return body + str(gs1_check_digit(body))


async def reserve_serials(
    conn: AsyncConnection, count: int, *, name: str = SSCC_SEQUENCE
) -> list[int]:
    """Take ``count`` consecutive values of a number sequence in one statement.

    The row update locks the sequence until commit, so replicas never share a value; values
    taken by a transaction that rolls back, or left unused, are simply skipped.
    """
    result = await conn.execute(
        update(number_sequences)
        .where(number_sequences.c.name == name)
        .values(next_value=number_sequences.c.next_value + count)
        .returning(number_sequences.c.next_value)
    )
    end = result.scalar_one_or_none()
    if end is None:
        await conn.execute(insert(number_sequences).values(name=name, next_value=1 + count))
        end = 1 + count
    return list(range(int(end) - count, int(end)))
