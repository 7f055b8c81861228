"""How exposed a central is at start: a guessable admin token is refused, an open central
reachable from the network is announced loudly.

The admin token is every site's master: a short one falls to guessing, so central will not
start with it. Without one, central is open (every caller is an admin of every site); that is
meant for the demo and a laptop, so serving it beyond loopback gets a warning nobody misses.
"""

import ipaddress
import logging

from central.errors import CentralError
from central.settings import CentralSettings

MIN_ADMIN_TOKEN = 32
log = logging.getLogger(__name__)


class WeakAdminToken(CentralError):
    """IOE_ADMIN_TOKEN is too short to resist guessing."""

    code = "ADMIN_TOKEN_TOO_SHORT"


def is_loopback(host: str) -> bool:
    """True for a host only this machine reaches (localhost, 127.0.0.0/8, ::1)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name, or 0.0.0.0 / :: (every interface)


def open_warning(settings: CentralSettings) -> str | None:
    """The warning for an open central on a non-loopback address, else None."""
    if settings.admin_token or is_loopback(settings.host):
        return None
    return (
        f"CENTRAL IS OPEN on {settings.host}:{settings.port}: no IOE_ADMIN_TOKEN is set, so "
        "anyone who reaches this address is an admin of every site. Set IOE_ADMIN_TOKEN "
        f"(at least {MIN_ADMIN_TOKEN} characters) or serve on 127.0.0.1."
    )


def check_exposure(settings: CentralSettings) -> None:
    """Refuse a short admin token (WeakAdminToken); log the open-central warning."""
    token = settings.admin_token
    if token is not None and len(token) < MIN_ADMIN_TOKEN:
        raise WeakAdminToken(
            f"IOE_ADMIN_TOKEN is {len(token)} characters; it must be at least "
            f"{MIN_ADMIN_TOKEN} (make one with: python -c 'import secrets; "
            "print(secrets.token_urlsafe(32))')",
            details={"length": len(token), "minimum": MIN_ADMIN_TOKEN},
        )
    if warning := open_warning(settings):
        log.warning("%s\n%s\n%s", "!" * 78, warning, "!" * 78)
