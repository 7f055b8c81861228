"""SSCC-18 allocation for LPs received or produced without a label number."""

from sqlalchemy import insert, update
from sqlalchemy.ext.asyncio import AsyncConnection

from central.db.tables import number_sequences

SSCC_SEQUENCE = "sscc"


def gs1_check_digit(digits: str) -> int:
    """GS1 mod-10 check digit: weights 3,1,3,... from the rightmost digit."""
    total = sum(int(d) * (3 if i % 2 == 0 else 1) for i, d in enumerate(reversed(digits)))
    return (10 - total % 10) % 10


def make_sscc(*, extension: str, company_prefix: str, serial: int) -> str:
    """The 18-digit SSCC for one serial reference under a GS1 company prefix."""
    width = 16 - len(company_prefix)
    if serial >= 10**width:
        raise ValueError(f"SSCC serials under prefix {company_prefix} are exhausted")
    body = f"{extension}{company_prefix}{serial:0{width}d}"
    return body + str(gs1_check_digit(body))


async def next_serial(conn: AsyncConnection, *, name: str = SSCC_SEQUENCE) -> int:
    """Take the next value of a number sequence (row-locked, so replicas never share one)."""
    result = await conn.execute(
        update(number_sequences).where(number_sequences.c.name == name)
        .values(next_value=number_sequences.c.next_value + 1)
        .returning(number_sequences.c.next_value))
    value = result.scalar_one_or_none()
    if value is not None:
        return int(value) - 1
    await conn.execute(insert(number_sequences).values(name=name, next_value=2))
    return 1


async def allocate_sscc(conn: AsyncConnection, *, company_prefix: str, extension: str) -> str:
    """A fresh SSCC-18 from the GS1 company prefix, extension digit and the serial sequence."""
    serial = await next_serial(conn)
    return make_sscc(extension=extension, company_prefix=company_prefix, serial=serial)
