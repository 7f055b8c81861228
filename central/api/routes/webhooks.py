"""/webhooks: subscriptions of outside endpoints to events, their secrets and deliveries."""

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status

from central.access.callers import Caller
from central.api.deps import ReadConn, SettingsDep, WriteConn, require
from central.api.paging import Page, PagingDep
from central.api.schemas.webhooks import (
    DeliveryOut,
    WebhookIn,
    WebhookMade,
    WebhookOut,
    WebhookPatch,
)
from central.db.enums import WebhookDeliveryStatus
from central.webhooks import deliveries, subscriptions
from central.webhooks.secrets import WebhookSecretBox
from runtime.http_errors import error_responses

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

# Webhooks send plant events out of the plant: integrators (technical) and admins set them up.
WebhookCaller = Annotated[Caller, require("technical")]


def secret_box(settings: SettingsDep) -> WebhookSecretBox:
    """Seals new secrets under the master key."""
    return WebhookSecretBox(settings.load_master_key())


BoxDep = Annotated[WebhookSecretBox, Depends(secret_box)]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=WebhookMade,
    responses=error_responses(422),
)
async def create_webhook(
    body: WebhookIn, conn: WriteConn, caller: WebhookCaller, box: BoxDep
) -> subscriptions.MadeSubscription:
    """Subscribe an endpoint to events from now on; its signing secret is answered this once."""
    return await subscriptions.create_webhook(
        conn,
        caller=caller,
        box=box,
        url=body.url,
        types=body.types,
        sites=body.sites,
        description=body.description,
        enabled=body.enabled,
    )


@router.get("", response_model=Page[WebhookOut])
async def list_webhooks(conn: ReadConn, caller: WebhookCaller, paging: PagingDep) -> dict[str, Any]:
    """The subscriptions within the caller's sites, oldest first, with their health; never
    secrets."""
    found = await subscriptions.list_webhooks(conn, caller=caller)
    return paging.of(found[paging.offset : paging.offset + paging.limit])


@router.get("/{webhook_id}", response_model=WebhookOut, responses=error_responses(404))
async def get_webhook(
    webhook_id: int, conn: ReadConn, caller: WebhookCaller
) -> subscriptions.Subscription:
    """One subscription with its health (last success, failures in a row, why disabled)."""
    return await subscriptions.get_webhook(conn, caller=caller, webhook_id=webhook_id)


@router.patch("/{webhook_id}", response_model=WebhookOut, responses=error_responses(404, 422))
async def update_webhook(
    webhook_id: int, body: WebhookPatch, conn: WriteConn, caller: WebhookCaller
) -> subscriptions.Subscription:
    """Change what is given; enabling a disabled endpoint sends what waited for it."""
    return await subscriptions.update_webhook(
        conn,
        caller=caller,
        webhook_id=webhook_id,
        changes=body.model_dump(exclude_unset=True, exclude_none=True),
    )


@router.delete("/{webhook_id}", response_model=WebhookOut, responses=error_responses(404))
async def delete_webhook(
    webhook_id: int, conn: WriteConn, caller: WebhookCaller
) -> subscriptions.Subscription:
    """Remove a subscription with its deliveries."""
    return await subscriptions.delete_webhook(conn, caller=caller, webhook_id=webhook_id)


@router.post(
    "/{webhook_id}/rotate-secret", response_model=WebhookMade, responses=error_responses(404)
)
async def rotate_secret(
    webhook_id: int, conn: WriteConn, caller: WebhookCaller, box: BoxDep, settings: SettingsDep
) -> subscriptions.MadeSubscription:
    """A new secret, answered once; the previous one also signs during the overlap."""
    return await subscriptions.rotate_secret(
        conn,
        caller=caller,
        box=box,
        webhook_id=webhook_id,
        overlap_hours=settings.webhook_secret_overlap_hours,
    )


@router.get(
    "/{webhook_id}/deliveries", response_model=Page[DeliveryOut], responses=error_responses(404)
)
async def list_deliveries(
    webhook_id: int,
    conn: ReadConn,
    caller: WebhookCaller,
    paging: PagingDep,
    status: Annotated[WebhookDeliveryStatus | None, Query()] = None,
) -> dict[str, object]:
    """The subscription's deliveries, newest first, each with its tries."""
    items = await deliveries.list_deliveries(
        conn,
        caller=caller,
        webhook_id=webhook_id,
        status=status,
        limit=paging.limit,
        offset=paging.offset,
    )
    return paging.of(items)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=DeliveryOut,
    responses=error_responses(404, 422),
)
async def retry_delivery(
    webhook_id: int, delivery_id: int, conn: WriteConn, caller: WebhookCaller
) -> deliveries.Delivery:
    """A failed delivery back to pending now, with the same webhook-id."""
    return await deliveries.retry_delivery(
        conn, caller=caller, webhook_id=webhook_id, delivery_id=delivery_id
    )


@router.post(
    "/{webhook_id}/test",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryOut,
    responses=error_responses(404),
)
async def ping(webhook_id: int, conn: WriteConn, caller: WebhookCaller) -> deliveries.Delivery:
    """Send the endpoint a signed ``webhook.ping`` (follow it in its deliveries)."""
    return await deliveries.ping(conn, caller=caller, webhook_id=webhook_id)
