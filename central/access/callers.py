"""Who is calling: a caller's roles and sites, and the checks every call makes.

A central started without an admin token runs open (every caller is an admin of every site),
which is what the demo and a developer's laptop want; with ``IOE_ADMIN_TOKEN`` set, every API
call needs a bearer token: the admin token itself, or one made with ``ioe central token``.
"""

import hashlib
import hmac
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from central.clock import now
from central.db.tables import api_tokens
from central.errors import Forbidden, NotFound, Unauthorized

ALL_SITES = "*"


@dataclass(frozen=True)
class Caller:
    """An authenticated caller: a name for the audit log, roles, and the sites it may see."""

    name: str
    roles: frozenset[str]
    sites: frozenset[str] | None  # None: every site

    @property
    def is_admin(self) -> bool:
        """Admins pass every role check."""
        return "admin" in self.roles

    def has_role(self, role: str) -> bool:
        """True when the caller holds ``role`` (admins hold every role)."""
        return self.is_admin or role in self.roles

    def require(self, *roles: str) -> None:
        """Refuse the call unless the caller holds one of ``roles`` (or is an admin)."""
        if self.is_admin or self.roles.intersection(roles):
            return
        raise Forbidden(
            f"{self.name} lacks the role this call needs: {' or '.join(roles)}",
            code="ROLE_REQUIRED",
            details={"needs": list(roles), "has": sorted(self.roles)},
        )

    def sees(self, site: str) -> bool:
        """True when the caller may see records of ``site``."""
        return self.sites is None or site in self.sites

    def require_site(self, site: str) -> None:
        """Refuse a call about a site the caller does not belong to."""
        if not self.sees(site):
            raise Forbidden(
                f"{self.name} has no access to site {site}",
                code="SITE_FORBIDDEN",
                details={"site": site},
            )

    def require_visible(self, site: str, *, what: str, key: object, field: str = "id") -> None:
        """Answer a record of a site the caller may not see exactly as a missing one (404, the
        same message), so an answer never tells whether another plant's record exists."""
        if not self.sees(site):
            raise NotFound(f"{what} {key} does not exist", details={field: key})

    @property
    def is_global_admin(self) -> bool:
        """An admin of every site: the only caller that may make tokens for every site."""
        return self.is_admin and self.sites is None

    def site_filter(self, site: str | None = None) -> list[str] | None:
        """The sites a list query may return: ``site`` if asked (and allowed), else all the
        caller's sites; None means no filter at all."""
        if site is not None:
            self.require_site(site)
            return [site]
        return None if self.sites is None else sorted(self.sites)


OPEN_CALLER = Caller("anonymous", frozenset({"admin"}), None)
ADMIN_CALLER = Caller("admin", frozenset({"admin"}), None)


def command_line_caller(user: str) -> Caller:
    """The caller of ``ioe central token ...``: whoever can open central's database is its
    administrator; the audit log names the operating-system user (``cli:<user>``)."""
    return Caller(f"cli:{user}", frozenset({"admin"}), None)


def digest(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


async def caller_for_token(conn: AsyncConnection, *, token: str, admin_token: str | None) -> Caller:
    """The caller a bearer token stands for; Unauthorized when it is unknown, revoked or
    expired."""
    if admin_token and hmac.compare_digest(token.encode(), admin_token.encode()):
        return ADMIN_CALLER
    row = (
        await conn.execute(select(api_tokens).where(api_tokens.c.token_sha256 == digest(token)))
    ).first()
    if row is None or row.revoked_at is not None:
        raise Unauthorized("the bearer token is unknown or revoked")
    if row.expires_at is not None and row.expires_at <= now():
        raise Unauthorized(
            f"the bearer token {row.name} expired at {row.expires_at.isoformat()}",
            code="TOKEN_EXPIRED",
            details={"name": row.name, "expired_at": row.expires_at.isoformat()},
        )
    sites = None if ALL_SITES in row.sites else frozenset(row.sites)
    return Caller(row.name, frozenset(row.roles), sites)
