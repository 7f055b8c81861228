"""Central's settings: one pydantic-settings class, read from ``IOE_*`` variables and passed in."""

from decimal import Decimal
from pathlib import Path
from typing import Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from central.broker.accounts import central_password
from central.keys import MasterKey, load_master_key
from runtime.http_limits import DEFAULT_MAX_BODY_BYTES
from runtime.mqtt_options import BrokerAddress

# The databases central is built and tested for: their drivers are installed with it.
DATABASE_DRIVERS = ("sqlite+aiosqlite", "postgresql+asyncpg")
DATABASE_URLS = (
    "sqlite+aiosqlite:///path/to/central.db or "
    "postgresql+asyncpg://user:password@host:5432/database"
)


class CentralSettings(BaseSettings):
    """Everything central needs to run; environment variables mirror the CLI flags."""

    model_config = SettingsConfigDict(env_prefix="IOE_", extra="ignore")

    db_url: str = "sqlite+aiosqlite:///./var/central.db"
    mqtt_url: str = "mqtt://127.0.0.1:1883"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    gs1_company_prefix: str = Field(default="0614141", pattern=r"^\d{7,10}$")
    sscc_extension: str = Field(default="0", pattern=r"^\d$")
    late_after_seconds: float = Field(default=60, ge=0)
    admin_token: str | None = None
    # The one secret kept outside the database (central/keys.py): hex, or a 0600 file.
    master_key: SecretStr | None = None
    master_key_file: Path | None = None
    # The broker login (central/broker/accounts.py): with a username and no password, the
    # password is the one derived from the master key for that account (`ioe broker-config`).
    mqtt_username: str | None = None
    mqtt_password: SecretStr | None = None
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None

    def broker_address(self) -> BrokerAddress:
        """Where and as whom central connects: ``mqtt_url`` with the settings above on top."""
        address = BrokerAddress.parse(self.mqtt_url)
        password = self.mqtt_password.get_secret_value() if self.mqtt_password else None
        if self.mqtt_username and password is None and address.password is None:
            password = central_password(self.load_master_key(), self.mqtt_username)
        return address.with_options(
            username=self.mqtt_username,
            password=password,
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
        )

    # After `ioe edge rotate-secret`, how long the edge's previous key is still accepted for
    # what it queued before (retired earlier once the edge signs with its new key).
    edge_key_overlap_hours: float = Field(default=7 * 24, gt=0)

    # Bounds on what callers and made-up edges can cost (docs/central.md#limits).
    max_body_bytes: int = Field(default=DEFAULT_MAX_BODY_BYTES, ge=1024)
    # Failed or unauthenticated HTTP calls per client address: refill per second, burst.
    failure_rate: float = Field(default=20.0, gt=0)
    failure_burst: int = Field(default=200, ge=1)
    # Messages per second from one unregistered (site, edge), and the one bounded lane
    # all unregistered edges share: its queue and how many batches it works on at once.
    unknown_edge_rate: float = Field(default=2.0, gt=0)
    unknown_lane_size: int = Field(default=500, ge=1)
    unknown_lane_workers: int = Field(default=2, ge=1)
    # Database connections MQTT ingest may hold at once; the rest of the pool is the API's.
    ingest_db_connections: int = Field(default=4, ge=1)
    # A registered edge's lane is reclaimed after this long without a message.
    lane_idle_seconds: float = Field(default=300.0, gt=0)
    # Refused envelopes kept for inspection (rejected_actions): at most this many rows,
    # none older than this; what does not fit is counted, not stored.
    rejected_keep_rows: int = Field(default=100_000, ge=1)
    rejected_keep_days: float = Field(default=30.0, gt=0)
    # How far past a work order's limits the floor may go before lp.consume or wo.output is
    # a conflict, as fractions (docs/central-production.md#consumption-and-output-checks);
    # a product's own tolerance, when set, wins.
    over_consumption_tolerance: Decimal = Field(default=Decimal("0.05"), ge=0, le=10)
    over_production_tolerance: Decimal = Field(default=Decimal("0.10"), ge=0, le=10)
    # How far past a purchase order line's ordered quantity receipts may go before lp.receive
    # is OVER_RECEIPT, as a fraction (docs/central-orders.md#purchase-orders).
    over_receipt_tolerance: Decimal = Field(default=Decimal("0.05"), ge=0, le=10)

    # Order sync (docs/central-orders.md#order-sync): the order system's page URL, the site
    # its orders are for, and a bearer token it wants; with an interval too, central pulls
    # periodically (off by default). Each page request is retried on connection errors,
    # timeouts and 5xx answers, waiting backoff x 2^n seconds between tries.
    order_sync_url: str | None = None
    order_sync_site: str | None = Field(default=None, min_length=1, max_length=64)
    order_sync_token: SecretStr | None = None
    order_sync_interval: float | None = Field(default=None, gt=0)  # seconds
    order_sync_retries: int = Field(default=4, ge=0, le=10)
    order_sync_backoff: float = Field(default=0.5, ge=0, le=60)
    order_sync_timeout: float = Field(default=30.0, gt=0)
    # Carrier tracking updates (docs/central-orders.md#carrier-tracking): the shared secret
    # they are signed with (none: the endpoint refuses every update) and how far their
    # signing time may be from central's clock.
    tracking_secret: SecretStr | None = None
    tracking_tolerance_seconds: float = Field(default=300.0, gt=0, le=86_400)
    # Events out of central (docs/events.md). ``outbox`` off writes no events at all (nothing
    # reaches SSE, webhooks or the edges' reference caches); it exists to measure what events
    # cost the floor. The relay sequences and delivers; it wakes on commit and otherwise polls
    # every ``relay_poll_seconds``; a consumer's lease outlives a crashed relay by at most
    # ``relay_lease_seconds``. Sequenced events are kept ``events_retention_hours`` (SSE resume
    # and history reach that far back).
    outbox: bool = True
    relay: bool = True
    relay_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    relay_lease_seconds: float = Field(default=30.0, gt=0, le=3600)
    # Under a stream of commits (a replay drain) the relay passes at most once per
    # ``relay_batch_seconds``, so one pass numbers and hands over many transactions' events.
    relay_batch_seconds: float = Field(default=0.25, ge=0, le=60)
    events_retention_hours: float = Field(default=7 * 24, gt=0)
    # Reference data to the edges (docs/events.md#reference-data-to-the-edges): items per
    # snapshot page; how long consumed or shipped LPs and finished work orders stay in
    # snapshots; how long the broker may take to confirm a step's deltas (or a snapshot
    # answer may wait for the connection) before the work is retried later; snapshot
    # requests per second one edge may make (and its burst), and how many may wait at once.
    ref_page_size: int = Field(default=500, ge=1, le=5000)
    ref_lp_keep_hours: float = Field(default=72.0, gt=0)  # as long as an edge keeps them
    ref_publish_wait_seconds: float = Field(default=10.0, gt=0, le=300)
    ref_request_rate: float = Field(default=0.2, gt=0)
    ref_request_burst: int = Field(default=3, ge=1)
    ref_request_queue: int = Field(default=100, ge=1)
    # Server-sent events (docs/events.md#server-sent-events): streams open at once (more are
    # 503), the keep-alive comment on an idle stream, and the slow poll behind the commit wake.
    sse_max_streams: int = Field(default=200, ge=1)
    sse_keepalive_seconds: float = Field(default=15.0, gt=0, le=3600)
    sse_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    # Webhooks (docs/events.md#webhooks). ``webhook_delivery`` off: deliveries are still
    # written but this replica sends none. A send that takes longer than
    # ``webhook_timeout_seconds`` fails; retries follow the Standard Webhooks schedule
    # (immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h) times ``webhook_retry_scale``
    # (tests shorten it), each wait drawn at random below its step (full jitter). At most
    # ``webhook_concurrency`` sends at once per replica. After a secret's rotation the previous
    # secret signs too for ``webhook_secret_overlap_hours``.
    webhook_delivery: bool = True
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    webhook_retry_scale: float = Field(default=1.0, ge=0, le=100)
    webhook_concurrency: int = Field(default=16, ge=1, le=1000)
    webhook_poll_seconds: float = Field(default=5.0, gt=0, le=3600)
    webhook_secret_overlap_hours: float = Field(default=24.0, ge=0)

    def load_master_key(self) -> MasterKey:
        """The configured master key; on SQLite a key file beside the database by default."""
        return load_master_key(
            key=self.master_key.get_secret_value() if self.master_key else None,
            key_file=self.master_key_file,
            db_url=self.db_url,
        )

    @model_validator(mode="after")
    def _periodic_sync_has_a_site(self) -> "CentralSettings":
        """A periodic pull must know which site its orders are for."""
        if self.order_sync_url and self.order_sync_interval and not self.order_sync_site:
            raise PydanticCustomError(
                "order_sync_site",
                "IOE_ORDER_SYNC_URL with IOE_ORDER_SYNC_INTERVAL pulls orders periodically: "
                "set IOE_ORDER_SYNC_SITE to the site they are for",
            )
        return self

    @field_validator("db_url")
    @classmethod
    def _supported_database(cls, value: str) -> str:
        """Refuse any other URL here, where every command reads it: later it would fail deep
        in SQLAlchemy (an unparsable URL, a driver that is not installed) with a traceback."""
        try:
            url = make_url(value)
        except ArgumentError:
            raise PydanticCustomError(
                "database_url",
                "not a database URL (--db / IOE_DB_URL); use {urls}",
                {"urls": DATABASE_URLS},
            ) from None
        if url.drivername not in DATABASE_DRIVERS:
            raise PydanticCustomError(
                "database_url",
                "{scheme}:// is not a database central supports (--db / IOE_DB_URL); use {urls}",
                {"scheme": url.drivername, "urls": DATABASE_URLS},
            )
        return value

    @field_validator("db_url")
    @classmethod
    def _sqlite_parent_exists(cls, value: str) -> str:
        """Create the directory of a SQLite file, so a first start needs no preparation."""
        url = make_url(value)
        if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
            Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        return value


def settings_from(**given: Any) -> CentralSettings:
    """Settings from the environment with the values a command line gave on top (None: not
    given, so the environment or the default stands)."""
    chosen: dict[str, Any] = {name: value for name, value in given.items() if value is not None}
    return CentralSettings(**chosen)
