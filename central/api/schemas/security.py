"""Security events as the API lists them."""

from datetime import datetime

from pydantic import BaseModel

from central.db.enums import SecurityKind


class SecurityEventOut(BaseModel):
    """One aggregated security event: how often it came from one source, first and last."""

    kind: SecurityKind
    source: str
    site: str | None
    edge: str | None
    subject: str | None
    count: int
    first_seen: datetime
    last_seen: datetime
    detail: str
