"""Every closed value set is spelled once: the tables' CHECK constraints and the API's OpenAPI
enums must both equal central/db/enums.py."""

import re
import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import CheckConstraint

from central.api.app import create_app
from central.db import enums
from central.db.tables import metadata
from central.settings import CentralSettings

CHECKED = {
    ("products", "type"): enums.PRODUCT_TYPES,
    ("locations", "kind"): enums.LOCATION_KINDS,
    ("work_orders", "status"): enums.WO_STATUSES,
    ("license_plates", "status"): enums.LP_STATUSES,
    ("stock_moves", "kind"): enums.MOVE_KINDS,
    ("stock_moves", "cause"): enums.MOVE_CAUSES,
    ("reservations", "status"): enums.RESERVATION_STATUSES,
    ("quality_holds", "status"): enums.HOLD_STATUSES,
    ("count_sessions", "status"): enums.COUNT_STATUSES,
    ("count_sessions", "scope"): enums.COUNT_SCOPES,
    ("conflicts", "status"): enums.CONFLICT_STATUSES,
    ("processed_actions", "result"): enums.FIRST_OUTCOMES,
    ("security_events", "kind"): enums.SECURITY_KINDS,
    ("purchase_orders", "status"): enums.PO_STATUSES,
    ("sales_orders", "status"): enums.SO_STATUSES,
    ("sales_orders", "invoice_status"): enums.INVOICE_STATUSES,
    ("sales_order_lines", "status"): enums.SO_LINE_STATUSES,
    ("pick_tasks", "status"): enums.TASK_STATUSES,
    ("shipments", "status"): enums.SHIPMENT_STATUSES,
    ("site_settings", "auto_release_wave"): enums.AUTO_RELEASE_WAVES,
    ("order_sync_runs", "status"): enums.SYNC_RUN_STATUSES,
    ("webhook_deliveries", "status"): enums.WEBHOOK_DELIVERY_STATUSES,
}
QUERY_ENUMS = {
    ("/api/v1/work-orders", "status"): enums.WO_STATUSES,
    ("/api/v1/license-plates", "status"): enums.LP_STATUSES,
    ("/api/v1/stock-moves", "kind"): enums.MOVE_KINDS,
    ("/api/v1/counts", "status"): enums.COUNT_STATUSES,
    ("/api/v1/quality/holds", "status"): enums.HOLD_STATUSES,
    ("/api/v1/conflicts", "status"): enums.CONFLICT_STATUSES,
    ("/api/v1/products", "type"): enums.PRODUCT_TYPES,
    ("/api/v1/security-events", "kind"): enums.SECURITY_KINDS,
    ("/api/v1/purchase-orders", "status"): enums.PO_STATUSES,
}
BODY_ENUMS = {
    ("ProductIn", "type"): enums.PRODUCT_TYPES,
    ("LocationIn", "kind"): enums.LOCATION_KINDS,
    ("ResolveIn", "resolution"): enums.RESOLUTIONS,
    ("CountIn", "scope"): enums.COUNT_SCOPES,
    ("TokenIn", "roles"): enums.ROLES,
}


def _checks() -> dict[tuple[str, str], tuple[str, ...]]:
    """(table, column) -> the values its CHECK ... IN (...) constraint allows."""
    found = {}
    for table in metadata.tables.values():
        for constraint in table.constraints:
            if isinstance(constraint, CheckConstraint):
                match = re.fullmatch(r"(\w+) IN \((.*)\)", str(constraint.sqltext))
                if match:
                    values = tuple(re.findall(r"'([^']*)'", match.group(2)))
                    found[(table.name, match.group(1))] = values
    return found


def test_check_constraints_come_from_the_enums() -> None:
    assert _checks() == CHECKED


def _enum(schema: dict[str, Any], components: dict[str, Any]) -> tuple[str, ...]:
    """The enum values of a schema, through $ref, anyOf (optional) and array items."""
    if "$ref" in schema:
        return _enum(components[schema["$ref"].rsplit("/", 1)[-1]], components)
    for key in ("anyOf", "oneOf"):
        for option in schema.get(key, ()):
            if values := _enum(option, components):
                return values
    if "items" in schema:
        return _enum(schema["items"], components)
    return tuple(schema.get("enum", ()))


def test_api_enums_come_from_the_enums(tmp_path: Any) -> None:
    app = create_app(CentralSettings(db_url=f"sqlite+aiosqlite:///{tmp_path / 'c.db'}"))
    doc = app.openapi()
    components = doc["components"]["schemas"]
    for (path, name), values in QUERY_ENUMS.items():
        [param] = [p for p in doc["paths"][path]["get"]["parameters"] if p["name"] == name]
        assert _enum(param["schema"], components) == values, (path, name)
    for (model, field), values in BODY_ENUMS.items():
        prop = components[model]["properties"][field]
        assert _enum(prop, components) == values, (model, field)


def test_the_migrated_schema_checks_the_same_values(_sqlite_template: Path) -> None:
    # A value added to enums.py without a migration would pass the tables' own check but be
    # refused by every database upgraded before it: the migrations must say the same.
    with sqlite3.connect(_sqlite_template) as conn:
        tables = conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'table'").fetchall()
    migrated = {}
    for table, create in tables:
        for column, values in re.findall(r"CHECK \((\w+) IN \(([^)]*)\)\)", create):
            migrated[(table, column)] = tuple(re.findall(r"'([^']*)'", values))
    assert migrated == CHECKED
