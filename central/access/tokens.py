"""API tokens: made with roles and sites, listed, revoked, within the maker's own reach.

Tokens are stored only as SHA-256 digests (``callers.digest``), so a copy of the database
gives none of them away; a new token is shown once, when it is made.

No token can make a token stronger than itself: its roles and sites are a subset of the
caller's (an admin holds every role), and a token for every site comes only from an admin of
every site. A caller lists and revokes only tokens within its own sites, so a plant's admin
never sees or cuts another plant's access.
"""

import re
import secrets
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from central.access import audit
from central.access.callers import ALL_SITES, Caller, digest
from central.clock import now
from central.db.enums import ROLES
from central.db.rows import as_dict
from central.db.tables import api_tokens
from central.errors import AlreadyExists, CentralError, Forbidden, InvalidInput, NotFound


@dataclass(frozen=True, slots=True)
class Token:
    """A token as listed: its name, roles and sites, never the token itself."""

    name: str
    roles: list[str]
    sites: list[str]
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None


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
            expires_at=row.expires_at,
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


def _within_reach(caller: Caller, roles: list[str], sites: list[str]) -> None:
    """Refuse (403 TOKEN_ESCALATION) a token that could do more than its maker."""
    if ALL_SITES in sites and not caller.is_global_admin:
        raise Forbidden(
            f"{caller.name} cannot make a token for every site: only an admin of every site can",
            code="TOKEN_ESCALATION",
            details={"sites": sorted(sites)},
        )
    if caller.sites is not None:
        beyond = sorted(set(sites) - caller.sites)
        if beyond:
            raise Forbidden(
                f"{caller.name} cannot make a token for sites it does not hold: "
                + ", ".join(beyond),
                code="TOKEN_ESCALATION",
                details={"sites": beyond},
            )
    if not caller.is_admin:
        extra = sorted(set(roles) - caller.roles)
        if extra:
            raise Forbidden(
                f"{caller.name} cannot give roles it does not hold: {', '.join(extra)}",
                code="TOKEN_ESCALATION",
                details={"roles": extra},
            )


def _audit_site(sites: list[str]) -> str | None:
    """The site an entry about a token concerns: its one site, else none (a token of several
    sites is the business of a caller who sees them all)."""
    return sites[0] if len(sites) == 1 and sites[0] != ALL_SITES else None


_DURATION = re.compile(r"^(\d+)([mhdw])$")
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def expiry_from(text: str, *, at: datetime) -> datetime:
    """When a token given ``--expires TEXT`` at ``at`` expires: a duration (``90m``, ``12h``,
    ``30d``, ``2w``) or an ISO date or time (a date means its midnight UTC, a time without
    zone means UTC). InvalidInput for anything else or a moment already past."""
    text = text.strip()
    if match := _DURATION.match(text):
        when = at + timedelta(**{_UNITS[match[2]]: int(match[1])})
    else:
        try:
            parsed = (
                datetime.fromisoformat(text)
                if "T" in text or " " in text
                else datetime.combine(date.fromisoformat(text), datetime.min.time())
            )
        except ValueError:
            raise InvalidInput(
                f"--expires {text!r} is neither a duration (30d, 12h, 90m, 2w) nor an ISO date",
                code="INVALID_EXPIRY",
                details={"expires": text},
            ) from None
        when = parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return checked_expiry(when, at=at)


def checked_expiry(when: datetime, *, at: datetime) -> datetime:
    """``when`` in UTC, or InvalidInput when it is not after ``at``."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    if when <= at:
        raise InvalidInput(
            f"a token cannot expire in the past ({when.isoformat()})",
            code="INVALID_EXPIRY",
            details={"expires_at": when.isoformat()},
        )
    return when.astimezone(UTC)


async def create_token(
    conn: AsyncConnection,
    *,
    caller: Caller,
    name: str,
    roles: list[str],
    sites: list[str],
    expires_at: datetime | None = None,
) -> tuple[Token, str]:
    """Make a token within the caller's reach, audited; answers its row and the token itself,
    never shown again."""
    _checked(roles, sites)
    _within_reach(caller, roles, sites)
    if expires_at is not None:
        expires_at = checked_expiry(expires_at, at=now())
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
                    expires_at=expires_at,
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
        site=_audit_site(row.sites),
        details={
            "roles": row.roles,
            "sites": row.sites,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
    )
    return Token(**as_dict(row)), token


_PUBLIC = (
    api_tokens.c.name,
    api_tokens.c.roles,
    api_tokens.c.sites,
    api_tokens.c.created_at,
    api_tokens.c.revoked_at,
    api_tokens.c.expires_at,
)


def _in_reach(caller: Caller, sites: list[str]) -> bool:
    """True when every site of a token is one of the caller's (a global caller reaches all)."""
    return caller.sites is None or (ALL_SITES not in sites and set(sites) <= caller.sites)


async def list_tokens(conn: AsyncConnection, *, caller: Caller) -> list[Token]:
    """The tokens within the caller's sites, by name, without their secrets."""
    rows = await conn.execute(select(*_PUBLIC).order_by(api_tokens.c.name))
    return [Token(**as_dict(r)) for r in rows if _in_reach(caller, r.sites)]


async def revoke_token(conn: AsyncConnection, *, caller: Caller, name: str) -> Token:
    """Revoke a token within the caller's sites, audited; it is refused from the next call on.
    A token beyond the caller's sites is NotFound, as one that does not exist; revoking a
    revoked token again changes nothing (it keeps when it was first revoked)."""
    found = (
        await conn.execute(select(*_PUBLIC).where(api_tokens.c.name == name).with_for_update())
    ).first()
    if found is None or not _in_reach(caller, found.sites):
        raise NotFound(f"no token named {name}", details={"name": name})
    if found.revoked_at is not None:
        return Token(**as_dict(found))
    row = (
        await conn.execute(
            update(api_tokens)
            .where(api_tokens.c.name == name)
            .values(revoked_at=now())
            .returning(*_PUBLIC)
        )
    ).one()
    await audit.record(
        conn, caller=caller, action="token.revoke", target=name, site=_audit_site(row.sites)
    )
    return Token(**as_dict(row))
