"""How to reach and log in to a broker: host and port, credentials, and TLS files.

Kept apart from the connection itself (``runtime/mqtt.py``) so configuration code (the edge's
``edge.toml``, central's settings) can build and check an address without touching paho's
network loop. Passwords never appear in ``display()`` or ``repr()``.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from runtime.errors import BrokerUrlError


@dataclass(frozen=True)
class BrokerAddress:
    """Where and how to reach a broker, parsed from ``mqtt://user:pass@host:port?version=5``.

    ``mqtts://`` turns TLS on; the server is then checked against ``ca_file`` (or the
    system's trusted CAs), and ``cert_file``/``key_file`` present a client certificate to a
    broker that requires one (mutual TLS).
    """

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: bool = False
    version: int = 4  # 4 = MQTT 3.1.1 (every broker we support), 5 = MQTT 5.0
    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        """Parse an MQTT URL; ``mqtts://`` turns TLS on."""
        parts = urlsplit(url)
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise BrokerUrlError(f"not an MQTT URL (mqtt:// or mqtts://): {_safe(url)!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        if not parts.hostname:
            raise BrokerUrlError(f"MQTT URL has no host: {_safe(url)!r}")
        try:
            port = parts.port or (8883 if tls else 1883)
        except ValueError as err:
            raise BrokerUrlError(f"bad port in MQTT URL {_safe(url)!r}") from err
        query = parse_qs(parts.query)
        version = int(query.get("version", ["4"])[0].replace("3.1.1", "4").replace("5.0", "5"))
        if version not in (4, 5):
            raise BrokerUrlError(f"MQTT version must be 4 (3.1.1) or 5: {_safe(url)!r}")
        return cls(
            host=parts.hostname,
            port=port,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            tls=tls,
            version=version,
        )

    def with_options(
        self,
        *,
        username: str | None = None,
        password: str | None = None,
        ca_file: str | Path | None = None,
        cert_file: str | Path | None = None,
        key_file: str | Path | None = None,
    ) -> BrokerAddress:
        """This address with the given settings on top of the URL's (None: keep the URL's).

        Refuses TLS files on a plain ``mqtt://`` URL and a certificate without its key, so a
        mistake shows when the configuration is read, not as a refused connection later.
        """
        address = replace(
            self,
            username=username if username is not None else self.username,
            password=password if password is not None else self.password,
            ca_file=str(ca_file) if ca_file is not None else self.ca_file,
            cert_file=str(cert_file) if cert_file is not None else self.cert_file,
            key_file=str(key_file) if key_file is not None else self.key_file,
        )
        address.check()
        return address

    def check(self) -> None:
        """BrokerUrlError when the TLS settings cannot work together or their files are missing."""
        files = {"CA file": self.ca_file, "client certificate": self.cert_file}
        files["client key"] = self.key_file
        given = [name for name, path in files.items() if path]
        if given and not self.tls:
            raise BrokerUrlError(
                f"{', '.join(given)} given for a plain connection to {self.display()}; "
                "use an mqtts:// URL for TLS"
            )
        if bool(self.cert_file) != bool(self.key_file):
            raise BrokerUrlError(
                "a client certificate needs its key and a key its certificate "
                "(set both the cert file and the key file, or neither)"
            )
        for name, path in files.items():
            if path and not Path(path).is_file():
                raise BrokerUrlError(f"MQTT {name} {path} does not exist")

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context of this address: the server verified (its name included), the
        client certificate loaded when one is configured."""
        try:
            context = ssl.create_default_context(cafile=self.ca_file)
            if self.cert_file and self.key_file:
                context.load_cert_chain(self.cert_file, self.key_file)
        except (OSError, ssl.SSLError) as err:
            raise BrokerUrlError(
                f"cannot load the MQTT TLS files for {self.display()}: {err}"
            ) from err
        return context

    def display(self) -> str:
        """The URL without its password, for logs."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"


def _safe(url: str) -> str:
    """A URL for an error message: the password, if any, replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()


def configure_client(client: Any, address: BrokerAddress) -> None:
    """Give a paho client the address's credentials and TLS context (before it connects)."""
    if address.username:
        client.username_pw_set(address.username, address.password)
    if address.tls:
        client.tls_set_context(address.tls_context())
