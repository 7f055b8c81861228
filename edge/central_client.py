"""The edge's few calls to central's REST API (provisioning, key rotation, revocation): one
POST with the errors a person at a terminal can act on."""

from typing import Any

import httpx

from edge.errors import ProvisionError

# What a refusal most likely means, for the calls an admin token makes.
REFUSAL_HINTS = {
    401: " (a valid admin token is needed)",
    403: " (the token may not manage edges of this site)",
}


def central_error(response: httpx.Response) -> str:
    """Central's own words for a refusal, when it sent the usual error JSON."""
    try:
        body = response.json()
    except ValueError:
        return response.text[:200] or response.reason_phrase
    if isinstance(body, dict) and ("code" in body or "message" in body):
        return f"{body.get('code', '')}: {body.get('message', '')}".strip(": ")
    if isinstance(body, dict) and "detail" in body:
        return str(body["detail"])
    return str(body)[:200]


async def post_to_central(
    central_url: str,
    path: str,
    *,
    what: str,
    admin_token: str | None,
    json: dict[str, Any] | None = None,
    expect: int = 200,
    timeout: float = 10.0,
    transport: httpx.AsyncBaseTransport | None = None,
) -> dict[str, Any]:
    """POST to central's ``path`` and answer its JSON object; a clear ProvisionError otherwise
    (unreachable, refused with central's reason, or an answer that is not an object)."""
    headers = {"Authorization": f"Bearer {admin_token}"} if admin_token else {}
    url = central_url.rstrip("/") + path
    try:
        async with httpx.AsyncClient(timeout=timeout, transport=transport) as client:
            response = await client.post(url, json=json, headers=headers)
    except httpx.HTTPError as err:
        raise ProvisionError(
            f"central at {central_url} is unreachable ({err.__class__.__name__}: {err}); "
            "check the URL and that central is running"
        ) from err
    if response.status_code != expect:
        hint = REFUSAL_HINTS.get(response.status_code, "")
        raise ProvisionError(
            f"central refused to {what}: HTTP {response.status_code} "
            f"{central_error(response)}{hint}"
        )
    try:
        body = response.json()
    except ValueError as err:
        raise ProvisionError(f"central answered {what} with: {response.text[:200]}") from err
    if not isinstance(body, dict):
        raise ProvisionError(f"central answered {what} with: {response.text[:200]}")
    return body
