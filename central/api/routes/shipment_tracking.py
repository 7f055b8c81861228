"""/shipments/tracking: carriers' signed tracking updates (no bearer token; the signature
with the shared secret is the authentication)."""

from typing import Annotated

from fastapi import APIRouter, Header, Request

from central.api.deps import SettingsDep, WriteConn
from central.api.schemas.order_sync import TrackingOut
from central.clock import now
from central.order_sync import tracking
from central.order_sync.source import TrackingUpdate
from runtime.http_errors import error_responses

router = APIRouter(prefix="/shipments", tags=["shipments"])


@router.post(
    "/tracking",
    response_model=TrackingOut,
    responses=error_responses(401, 422, 503),
    # The body is read raw (the signature covers its bytes); its schema is documented here.
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": TrackingUpdate.model_json_schema()}},
        }
    },
)
async def receive_tracking(
    request: Request,
    conn: WriteConn,
    settings: SettingsDep,
    timestamp: Annotated[str | None, Header(alias=tracking.TIMESTAMP_HEADER)] = None,
    signature: Annotated[str | None, Header(alias=tracking.SIGNATURE_HEADER)] = None,
) -> tracking.TrackingOutcome:
    """Make or move on a shipment by tracking number; signed with the shared secret over
    ``<timestamp>.<body>``, idempotent by (carrier, event_id)."""
    body = await request.body()  # the signature covers the bytes as sent
    at = now()
    secret = settings.tracking_secret.get_secret_value() if settings.tracking_secret else None
    tracking.verify(
        secret=secret,
        timestamp=timestamp,
        given=signature,
        body=body,
        at=at,
        tolerance=settings.tracking_tolerance_seconds,
    )
    return await tracking.apply_update(conn, tracking.parse(body), at=at)
