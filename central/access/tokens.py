"""API tokens: made with roles and sites, listed, revoked.

Tokens are stored only as SHA-256 digests (``callers.digest``), so a copy of the database
gives none of them away; a new token is shown once, when it is made.
"""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import Caller, digest
from central.clock import now
from central.db.enums import ROLES
from central.db.rows import as_dict
from central.db.tables import api_tokens
from central.errors import AlreadyExists, CentralError, NotFound


@dataclass(frozen=True, slots=True)
class Token:
    """A token as listed: its name, roles and sites, never the token itself."""

    name: str
    roles: list[str]
    sites: list[str]
    created_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class MadeToken(Token):
    """A token just made, with the token itself: the only time it is shown."""

    token: str

    @classmethod
    def of(cls, row: Token, token: str) -> "MadeToken":
        """The made token from its listed row and the token."""
        return cls(
            name=row.name,
            roles=row.roles,
            sites=row.sites,
            created_at=row.created_at,
            revoked_at=row.revoked_at,
            token=token,
        )


def _checked(roles: list[str], sites: list[str]) -> None:
    """Refuse unknown roles and an empty site list."""
    unknown = sorted(set(roles) - set(ROLES))
    if unknown or not roles:
        raise CentralError(
            f"roles must be some of {', '.join(ROLES)}",
            code="INVALID_ROLE",
            details={"unknown": unknown},
        )
    if not sites:
        raise CentralError("a token needs at least one site (or '*' for all)", code="INVALID_SITE")


async def create_token(
    conn: AsyncConnection, *, caller: Caller, name: str, roles: list[str], sites: list[str]
) -> tuple[Token, str]:
    """Make a token, audited; answers its row and the token itself, never shown again."""
    _checked(roles, sites)
    token = "ioe_" + secrets.token_urlsafe(32)
    try:
        row = (
            await conn.execute(
                insert(api_tokens)
                .values(
                    name=name,
                    token_sha256=digest(token),
                    roles=sorted(set(roles)),
                    sites=sorted(set(sites)),
                    created_at=now(),
                )
                .returning(*_PUBLIC)
            )
        ).one()
    except IntegrityError as err:
        raise AlreadyExists(f"a token named {name} already exists", details={"name": name}) from err
    await audit.record(
        conn,
        caller=caller,
        action="token.create",
        target=name,
        site=None,
        details={"roles": row.roles, "sites": row.sites},
    )
    return Token(**as_dict(row)), token


_PUBLIC = (
    api_tokens.c.name,
    api_tokens.c.roles,
    api_tokens.c.sites,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
)


async def list_tokens(conn: AsyncConnection) -> list[Token]:
    """Every token by name, without its secret."""
    rows = await conn.execute(select(*_PUBLIC).order_by(api_tokens.c.name))
    return [Token(**as_dict(r)) for r in rows]


async def revoke_token(conn: AsyncConnection, *, caller: Caller, name: str) -> Token:
    """Revoke a token by name, audited; it is refused from the next call on."""
    row = (
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.name == name)
            .values(revoked_at=now())
            .returning(*_PUBLIC)
        )
    ).first()
    if row is None:
        raise NotFound(f"no token named {name}", details={"name": name})
    await audit.record(conn, caller=caller, action="token.revoke", target=name, site=None)
    return Token(**as_dict(row))
