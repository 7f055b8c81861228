"""The edge's settings: `edge.toml` read with tomllib, a few environment overrides, TOML out."""

import ipaddress
import math
import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StringConstraints,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from edge.barcodes.decode import BarcodeDecoder
from edge.barcodes.quantities import decimal_mark
from edge.barcodes.rules import DEFAULT_RULES, BarcodeRule, check_gs_substitute, check_rule_names
from edge.errors import ConfigError
from edge.flows import DEFAULT_QUALITY_REASONS, FlowName
from edge.queue_reserve import DEFAULT_RESERVE_BYTES
from edge.scanners.serial import SerialScannerConfig
from edge.scanners.simulated import SimulatedScannerConfig
from edge.scanners.wedge import WedgeScannerConfig
from protocol.types import NAME_PATTERN, Code, Name
from runtime.errors import BrokerUrlError
from runtime.mqtt_options import BrokerAddress

# Scanner kinds this build can drive.
SCANNER_KINDS = ("simulated", "serial", "evdev")

# Environment variables that override the file (they mirror the CLI flags).
ENV_OVERRIDES = {
    "IOE_MQTT_URL": "mqtt_url",
    "IOE_MQTT_USERNAME": "mqtt_username",
    "IOE_MQTT_PASSWORD": "mqtt_password",
    "IOE_MQTT_CA_FILE": "mqtt_ca_file",
    "IOE_MQTT_CERT_FILE": "mqtt_cert_file",
    "IOE_MQTT_KEY_FILE": "mqtt_key_file",
    "IOE_HOST": "host",
    "IOE_PORT": "port",
    "IOE_EDGE_API_KEY": "api_key",
    "IOE_EDGE_CENTRAL_URL": "central_url",
    "IOE_EDGE_CENTRAL_TOKEN": "central_token",
    "IOE_EDGE_SUPERVISORS": "supervisors",  # comma-separated operator ids
}
# Overrides whose value is a list, written comma-separated in the environment.
LIST_OVERRIDES = ("supervisors",)

MqttUrl = Annotated[str, StringConstraints(pattern=r"^mqtts?://[^\s]+$")]
# A per-action quantity ceiling, in the action's own unit; TOML may write 5000 or "5000".
MaxQty = Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]
# Far above any real pallet, drum or tank, far below the typo or attack (999,999,999 kg).
DEFAULT_MAX_QTY = Decimal(1_000_000)
MIN_API_KEY_LENGTH = 24


def is_loopback_host(host: str) -> bool:
    """True when ``host`` only accepts connections from this machine (127.x, ::1, localhost).

    A name other than localhost may resolve to anything, so it counts as reachable.
    """
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _scanner_kind(value: Any) -> str | None:
    """The ``kind`` of a [stations.scanner] table, which picks its model (simulated if absent)."""
    if isinstance(value, Mapping):
        kind = value.get("kind", "simulated")
        return kind if isinstance(kind, str) else None
    return getattr(value, "kind", None)


# Which driver reads a station's scanner, and from where: one model per kind, chosen by
# `kind`. A new driver adds its model here and its kind to SCANNER_KINDS.
ScannerConfig = Annotated[
    Annotated[SimulatedScannerConfig, Tag("simulated")]
    | Annotated[SerialScannerConfig, Tag("serial")]
    | Annotated[WedgeScannerConfig, Tag("evdev")],
    Discriminator(_scanner_kind),
]


class StationConfig(BaseModel):
    """One station: its default operator and step, starting context, and scanner."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    operator: Name | None = None
    action: FlowName = "lp.move"  # the flow the station starts in (docs/stations.md)
    flows: list[FlowName] | None = None  # the flows ACT: may switch to; absent: all
    location: Code | None = None
    work_order: Code | None = None
    require_sign_in: bool = False
    idle_timeout_seconds: float = Field(default=120.0, ge=0)  # 0: never drop a sequence
    # Absent: the edge's quality_reasons.
    quality_reasons: list[Code] | None = Field(default=None, min_length=1)
    scanner: ScannerConfig | None = None
    # How the station's operators write numbers ("de": 1.000,5; "en": 1,000.5): decides an
    # ambiguous typed quantity such as 1.720; without it such a quantity is refused.
    locale: str | None = None
    # Which pick tasks GET /tasks?station= lists: tasks whose location is one of these codes,
    # or starts with one ending in "*" (a zone, "A-*"); absent: every open task of the site.
    task_locations: list[str] | None = Field(default=None, min_length=1)

    @field_validator("locale")
    @classmethod
    def _known_locale(cls, locale: str | None) -> str | None:
        if locale is not None:
            decimal_mark(locale)  # ValueError names the problem
        return locale

    @model_validator(mode="after")
    def _operator_or_sign_in(self) -> "StationConfig":
        # A station either has a standing operator or starts with nobody signed in.
        if self.require_sign_in and self.operator is not None:
            raise ValueError(
                f"station {self.name!r} requires sign-in, so it starts with nobody signed in: "
                "remove its operator (operators sign in by scanning OP:<id>)"
            )
        if not self.require_sign_in and self.operator is None:
            raise ValueError(f"station {self.name!r} needs an operator, or require_sign_in = true")
        if self.flows is not None and self.action not in self.flows:
            raise ValueError(
                f"station {self.name!r} starts in {self.action}, which its flows do not allow; "
                f"add it to flows or start in one of: {', '.join(self.flows)}"
            )
        return self


class EdgeConfig(BaseModel):
    """Everything one edge agent needs; passed in, never imported as a global."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: Name
    edge_id: Name
    secret: str = Field(min_length=16)
    # Hex Ed25519 public key of central's signed state, written by `ioe edge provision`.
    central_key: str | None = Field(default=None, pattern=r"^[0-9a-fA-F]{64}$")
    mqtt_url: MqttUrl = "mqtt://127.0.0.1:1883"
    # The edge's broker login (made at provisioning) and TLS files for an mqtts:// URL: the
    # CA that signed the broker's certificate, and a client certificate and key for mutual TLS.
    mqtt_username: str | None = Field(default=None, min_length=1)
    mqtt_password: str | None = Field(default=None, min_length=1, repr=False)
    mqtt_ca_file: str | None = Field(default=None, min_length=1)
    mqtt_cert_file: str | None = Field(default=None, min_length=1)
    mqtt_key_file: str | None = Field(default=None, min_length=1)
    central_url: str | None = Field(default=None, pattern=r"^https?://[^\s]+$")
    # A central API token (role production, warehouse or quality, this site only) the edge
    # uses to read and resolve conflicts for its kiosks; none: it calls central without one.
    central_token: str | None = Field(default=None, min_length=1, pattern=r"^\S+$", repr=False)
    # Operator ids whose badge (OP:<id>) is a supervisor's: they may unlock a locked kiosk and
    # resolve conflicts from one.
    supervisors: list[Name] = Field(default_factory=list)
    data_dir: str = ""
    # Disk held back next to the queue for acks and sends once scans have filled the disk.
    queue_reserve_bytes: int = Field(default=DEFAULT_RESERVE_BYTES, ge=0)
    host: str = Field(default="127.0.0.1", min_length=1)
    port: int = Field(default=8701, ge=0, le=65535)
    batch_size: int = Field(default=200, ge=1, le=200)
    ack_timeout_seconds: float = Field(default=10.0, gt=0)
    backlog_warn_seconds: float = Field(default=900.0, gt=0)
    api_key: str | None = Field(default=None, min_length=MIN_API_KEY_LENGTH, pattern=r"^\S+$")
    # Largest request body the local API reads (413 beyond it); failed calls per client
    # address per second (and burst) before it answers 429.
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    failure_rate: float = Field(default=20.0, gt=0)
    failure_burst: int = Field(default=200, ge=1)
    max_qty: MaxQty = DEFAULT_MAX_QTY
    max_qty_by_product: dict[Code, MaxQty] = Field(default_factory=dict)
    # Reason codes of quality holds and releases; a station may list its own.
    quality_reasons: list[Code] = Field(
        default_factory=lambda: list(DEFAULT_QUALITY_REASONS), min_length=1
    )
    stations: list[StationConfig] = Field(default_factory=list)
    # Barcode rules in order (docs/barcodes.md); absent: the defaults; a list replaces them all.
    barcode_rules: list[BarcodeRule] | None = None
    # The character scanners send instead of GS (FNC1) when they cannot send GS, e.g. "|".
    gs_substitute: str | None = None
    # The reference cache (docs/edge.md#reference-cache-and-lookups): how long LPs consumed
    # or shipped, and tasks done or cancelled and holds released, stay for lookups; records
    # per kind at most; how long a snapshot may take before it is asked again (doubling up to
    # a minute); how long a kind may trail central's head before the edge asks for a snapshot.
    ref_lp_keep_hours: float = Field(default=72.0, ge=0)
    ref_done_keep_hours: float = Field(default=72.0, ge=0)
    ref_max_items: int = Field(default=200_000, ge=1)
    ref_snapshot_timeout_seconds: float = Field(default=10.0, gt=0)
    ref_catchup_seconds: float = Field(default=2.0, gt=0)

    @field_validator("barcode_rules")
    @classmethod
    def _unique_rules(cls, rules: list[BarcodeRule] | None) -> list[BarcodeRule] | None:
        if rules is not None:
            check_rule_names(rules)
        return rules

    @field_validator("gs_substitute")
    @classmethod
    def _substitute(cls, char: str | None) -> str | None:
        return None if char is None else check_gs_substitute(char)

    @model_validator(mode="after")
    def _defaults_and_unique_stations(self) -> "EdgeConfig":
        if not self.data_dir:
            # Frozen model: set through object.__setattr__ once, at validation time.
            object.__setattr__(self, "data_dir", f"./var/edge-{self.edge_id}")
        names = [station.name for station in self.stations]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise ValueError(f"station names must be unique; repeated: {', '.join(duplicates)}")
        if self.api_key_required and not self.api_key:
            raise ValueError(
                f"the local API listens on {self.host}, which other machines can reach, so it "
                "needs an api_key: provision the edge with `ioe edge provision`, set api_key in "
                "edge.toml or IOE_EDGE_API_KEY, or listen on 127.0.0.1"
            )
        return self

    @model_validator(mode="after")
    def _broker_settings_fit(self) -> "EdgeConfig":
        try:
            self.broker_address()
        except BrokerUrlError as err:
            raise ValueError(str(err)) from err
        return self

    def broker_address(self) -> BrokerAddress:
        """Where and as whom the edge connects: ``mqtt_url`` with the login and TLS files."""
        return BrokerAddress.parse(self.mqtt_url).with_options(
            username=self.mqtt_username,
            password=self.mqtt_password,
            ca_file=self.mqtt_ca_file,
            cert_file=self.mqtt_cert_file,
            key_file=self.mqtt_key_file,
        )

    @property
    def api_key_required(self) -> bool:
        """Every local API call but /healthz needs the key unless only this machine can call."""
        return not is_loopback_host(self.host)

    @property
    def queue_path(self) -> Path:
        """Where the durable queue lives: ``<data_dir>/queue.db``."""
        return Path(self.data_dir) / "queue.db"

    @property
    def ref_path(self) -> Path:
        """Where the reference cache lives: ``<data_dir>/ref.db``, beside the queue."""
        return Path(self.data_dir) / "ref.db"

    def central_public_key(self) -> bytes:
        """Central's state key as bytes; an edge without one cannot tell central from a forger."""
        if self.central_key is None:
            raise ConfigError(
                f"edge {self.site}/{self.edge_id} has no central_key, so it cannot check that "
                "central's state and acks are genuine; provision it again with "
                "`ioe edge provision` (or copy central_key from the provisioning answer)"
            )
        return bytes.fromhex(self.central_key)

    def barcode_decoder(self) -> BarcodeDecoder:
        """The decoder this file describes: its barcode_rules (or the defaults), gs_substitute."""
        rules = DEFAULT_RULES if self.barcode_rules is None else self.barcode_rules
        return BarcodeDecoder(rules, gs_substitute=self.gs_substitute)

    def is_supervisor(self, operator: str) -> bool:
        """True when ``operator``'s badge is a supervisor's (listed in ``supervisors``)."""
        return operator in self.supervisors

    def station(self, name: str) -> StationConfig | None:
        """The station called ``name``, or None."""
        return next((s for s in self.stations if s.name == name), None)


def _describe(err: ValidationError) -> str:
    """One line per bad field, in TOML terms ("stations[0].scanner.kind: ...")."""
    lines = []
    for item in err.errors():
        where = ""
        loc = list(item["loc"])
        if "scanner" in loc and loc.index("scanner") + 1 < len(loc):
            del loc[loc.index("scanner") + 1]  # the union's tag (the kind), not a TOML key
        for part in loc:
            where += f"[{part}]" if isinstance(part, int) else (f".{part}" if where else str(part))
        message = item["msg"].removeprefix("Value error, ")
        if item["type"] in ("union_tag_invalid", "union_tag_not_found"):
            where += ".kind"
            message = _unknown_kind(item.get("ctx", {}).get("tag"))
        elif item["type"] == "missing":
            message = "required field is missing"
        elif item["type"] == "extra_forbidden":
            message = "unknown field (check the spelling)"
        elif item["type"] == "string_pattern_mismatch" and item["loc"][-1] in (
            "site",
            "edge_id",
            "name",
            "operator",
        ):
            message = f"must match {NAME_PATTERN} (letters, digits, '_', '.', '-')"
        lines.append(f"  {where or '(top level)'}: {message}")
    return "\n".join(lines)


def _unknown_kind(kind: str | None) -> str:
    return f"unknown scanner kind {kind!r}; supported: {', '.join(SCANNER_KINDS)}"


def validate_config(data: Mapping[str, Any], *, source: str = "edge config") -> EdgeConfig:
    """Build an EdgeConfig from plain data, or raise ConfigError naming every bad field."""
    try:
        return EdgeConfig.model_validate(dict(data))
    except ValidationError as err:
        raise ConfigError(f"{source} is invalid:\n{_describe(err)}") from err


def load_config(path: str | Path, *, env: Mapping[str, str] | None = None) -> EdgeConfig:
    """Read ``edge.toml``; IOE_MQTT_URL, IOE_HOST and IOE_PORT override the file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise ConfigError(
            f"edge config {path} does not exist; create one with `ioe edge provision`"
        ) from err
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"cannot read edge config {path}: {err}") from err
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"edge config {path} is not valid TOML: {err}") from err
    env = os.environ if env is None else env
    for variable, field in ENV_OVERRIDES.items():
        value = env.get(variable)
        if value:
            data[field] = (
                [v.strip() for v in value.split(",") if v.strip()]
                if field in LIST_OVERRIDES
                else value
            )
    if isinstance(data.get("port"), str):
        try:
            data["port"] = int(data["port"])
        except ValueError as err:
            raise ConfigError(f"IOE_PORT must be a port number, not {data['port']!r}") from err
    return validate_config(data, source=f"edge config {path}")


# -- writing ------------------------------------------------------------------------------

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\t": "\\t",
    "\n": "\\n",
    "\f": "\\f",
    "\r": "\\r",
}


def toml_string(value: str) -> str:
    """A TOML basic string: quotes, backslashes and control characters escaped."""
    out = []
    for char in value:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif ord(char) < 0x20 or ord(char) == 0x7F:
            out.append(f"\\u{ord(char):04X}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):  # before int: bool is an int subclass
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ConfigError(f"cannot write non-finite number {value!r} to TOML")
        return repr(value)
    if isinstance(value, str):
        return toml_string(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    raise ConfigError(f"cannot write {type(value).__name__} to TOML")


def _toml_table(data: Mapping[str, Any]) -> list[str]:
    lines = []
    for key, value in data.items():
        if value is None or isinstance(value, dict):
            continue
        if isinstance(value, list) and any(isinstance(item, dict) for item in value):
            continue  # arrays of tables are written by their owners
        if not _BARE_KEY.match(key):
            raise ConfigError(f"cannot write key {key!r} to TOML")
        lines.append(f"{key} = {_toml_value(value)}")
    return lines


def render_config(config: EdgeConfig) -> str:
    """The TOML text of ``config``; reading it back gives the same config."""
    data = config.model_dump(mode="json")
    stations = data.pop("stations")
    product_limits = data.pop("max_qty_by_product")
    rules = data.pop("barcode_rules")
    lines = [
        "# IOE edge configuration (see docs/edge.md).",
        "# Holds this edge's signing secret, API key and broker password: keep it readable by",
        "# the edge's user only.",
        "",
    ]
    lines += _toml_table(data)
    if product_limits:
        lines += ["", "[max_qty_by_product]"]
        lines += [
            f"{code if _BARE_KEY.match(code) else toml_string(code)} = {toml_string(qty)}"
            for code, qty in product_limits.items()
        ]
    for rule in rules or ():
        gs1 = rule.pop("gs1")
        lines += ["", "[[barcode_rules]]", *_toml_table(rule)]
        if gs1 is not None:
            lines.append(f"gs1 = [{', '.join(toml_string(ai) for ai in gs1)}]")
    for station in stations:
        scanner = station.pop("scanner")
        lines += ["", "[[stations]]", *_toml_table(station)]
        if scanner is not None:
            lines += ["", "[stations.scanner]", *_toml_table(scanner)]
    text = "\n".join(lines) + "\n"
    # Belt and braces: what we write must read back as exactly this config.
    if validate_config(tomllib.loads(text), source="written config") != config:
        raise ConfigError("internal error: the written TOML does not round-trip")
    return text


def write_config(config: EdgeConfig, path: str | Path, *, overwrite: bool = False) -> None:
    """Write ``config`` as TOML, atomically and readable by the owner only (it has the secret)."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; refusing to overwrite it")
    text = render_config(config)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as err:
        raise ConfigError(f"cannot write edge config {path}: {err}") from err
