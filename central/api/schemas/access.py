"""Bodies of the access endpoints: tokens, the caller, the audit log."""

from datetime import datetime
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from central.db.enums import Role
from protocol.types import Name

SiteOrAll = Name | Literal["*"]


class TokenIn(BaseModel):
    """A token to make: who it is for, what it may do, where."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    roles: list[Role] = Field(min_length=1)
    sites: list[SiteOrAll] = Field(min_length=1)
    expires_at: AwareDatetime | None = Field(
        default=None, description="refused (401 TOKEN_EXPIRED) from this moment on"
    )


class TokenOut(BaseModel):
    """A token as listed: never the token itself."""

    name: str
    roles: list[str]
    sites: list[str]
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None


class TokenMade(TokenOut):
    """The answer to making a token: the only time the token is shown."""

    token: str


class CallerOut(BaseModel):
    """Who the presented token stands for."""

    name: str
    roles: list[str]
    sites: list[str] | None


class AuditOut(BaseModel):
    """One audited API write."""

    id: str
    site: str | None
    actor: str
    action: str
    target: str
    details: dict[str, Any]
    at: datetime
