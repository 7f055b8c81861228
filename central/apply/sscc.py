"""SSCC-18 allocation for LPs received or produced without a label number."""

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    if end is None:  # the sequence's first use: two transactions may both get here
        end = await _first_use(conn, name, count)
    return list(range(int(end) - count, int(end)))


async def _first_use(conn: AsyncConnection, name: str, count: int) -> int:
    """Create the sequence row, or take from it when a concurrent first use created it
    meanwhile (an upsert: the loser of the race waits for the winner's row, then counts on
    from it, instead of failing on the primary key)."""
    dialect = conn.dialect.name
    upsert = (sqlite_insert if dialect == "sqlite" else postgresql_insert)(number_sequences)
    statement = (
        upsert.values(name=name, next_value=1 + count)
        .on_conflict_do_update(
            index_elements=[number_sequences.c.name],
            set_={"next_value": number_sequences.c.next_value + count},
        )
        .returning(number_sequences.c.next_value)
    )
    return int((await conn.execute(statement)).scalar_one())
