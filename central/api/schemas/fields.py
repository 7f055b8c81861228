"""Field types every schema shares: quantities go out as decimal strings, never floats."""

from decimal import Decimal
from typing import Annotated

from pydantic import PlainSerializer

from protocol.types import format_qty

QtyOut = Annotated[Decimal, PlainSerializer(format_qty, return_type=str)]
