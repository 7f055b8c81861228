"""EdgeClient: the kiosk's only door to the world, the edge's local HTTP API and its events.

Nothing here talks to central or the broker, so a kiosk works the same while they are down;
transport failures become ``EdgeUnreachable`` and error answers ``EdgeRefused``.
"""

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import quote

import httpx

from terminals.kiosk.errors import EdgeAnswerLost, EdgeRefused, EdgeUnreachable

# Short: a kiosk must tell the operator quickly that the edge is not answering.
REQUEST_TIMEOUT = httpx.Timeout(5.0, connect=2.0)
# The stream waits for events; the edge sends a keepalive every 15 s, so 30 s of silence
# means the link is gone.
STREAM_TIMEOUT = httpx.Timeout(5.0, connect=2.0, read=30.0)


def _segment(value: str) -> str:
    """One path segment, escaped (LP numbers and station names are user data)."""
    return quote(value, safe="")


class EdgeClient:
    """Async client of one edge's local API (`/api/v1`) and its SSE event stream."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(
            base_url=f"{self.base_url}/api/v1", headers=headers, timeout=REQUEST_TIMEOUT
        )

    async def aclose(self) -> None:
        """Close the connections."""
        await self._http.aclose()

    async def _call(
        self,
        method: str,
        path: str,
        *,
        json_body: Any = None,
        params: dict[str, Any] | None = None,
    ) -> Any:
        try:
            response = await self._http.request(method, path, json=json_body, params=params)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as err:
            # No connection was made: the request never reached the edge.
            raise EdgeUnreachable(f"the edge at {self.base_url} does not answer: {err!r}") from err
        except httpx.HTTPError as err:
            raise EdgeAnswerLost(
                f"the edge at {self.base_url} did not answer a request it may have received: "
                f"{err!r}"
            ) from err
        if response.status_code >= 400:
            raise _refusal(response)
        try:
            return response.json()
        except ValueError as err:
            raise EdgeRefused(
                response.status_code, "BAD_ANSWER", "the edge answered something not JSON"
            ) from err

    async def stations(self) -> list[dict[str, Any]]:
        """Every station of the edge."""
        answer = await self._call("GET", "/stations")
        return list(answer["stations"] if isinstance(answer, dict) else answer)

    async def station(self, name: str) -> dict[str, Any]:
        """The station's state: flow, step, expect, expected, collected, operator."""
        return dict(await self._call("GET", f"/stations/{_segment(name)}"))

    async def scan(self, name: str, data: str) -> dict[str, Any]:
        """One scan, exactly as if the station's scanner read it."""
        return dict(
            await self._call("POST", f"/stations/{_segment(name)}/scans", json_body={"data": data})
        )

    async def queue(self) -> dict[str, Any]:
        """Queue depth, oldest pending action, broker and central connectivity."""
        return dict(await self._call("GET", "/queue"))

    async def progress(self, name: str) -> dict[str, Any]:
        """The running totals of the station's current job and its recent actions."""
        return dict(await self._call("GET", f"/stations/{_segment(name)}/progress"))

    async def lookup_lp(self, number: str) -> dict[str, Any]:
        """An LP from the edge's reference cache, with this edge's pending changes overlaid."""
        return dict(await self._call("GET", f"/lookup/lp/{_segment(number)}"))

    async def conflicts(self, name: str) -> dict[str, Any]:
        """This edge's conflicted and rejected actions of the station, newest first."""
        return dict(await self._call("GET", "/conflicts", params={"station": name, "limit": 50}))

    async def conflict(self, conflict_id: int | str) -> dict[str, Any]:
        """Central's view of one conflict, forwarded by the edge."""
        return dict(await self._call("GET", f"/conflicts/{_segment(str(conflict_id))}"))

    async def resolve(
        self, conflict_id: int | str, supervisor: str, resolution: str, reason: str
    ) -> dict[str, Any]:
        """Resolve a conflict at central through the edge, in a supervisor's name."""
        body = {"supervisor": supervisor, "resolution": resolution, "reason": reason, "body": None}
        path = f"/conflicts/{_segment(str(conflict_id))}/resolve"
        return dict(await self._call("POST", path, json_body=body))

    async def operator(self, operator_id: str) -> dict[str, Any]:
        """Who a badge belongs to: its id and whether it is a supervisor's."""
        return dict(await self._call("GET", f"/operators/{_segment(operator_id)}"))

    async def events(self) -> AsyncIterator[tuple[str, dict[str, Any]]]:
        """The edge's server-sent events as ``(event, data)`` until the stream ends."""
        try:
            async with self._http.stream("GET", "/events", timeout=STREAM_TIMEOUT) as response:
                if response.status_code >= 400:
                    await response.aread()
                    raise _refusal(response)
                async for event in _parse_sse(response.aiter_lines()):
                    yield event
        except httpx.HTTPError as err:
            raise EdgeUnreachable(f"the edge's event stream ended: {err!r}") from err


async def _parse_sse(lines: AsyncIterator[str]) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """Server-sent-event frames (``event:``/``data:`` lines, blank line ends one) as pairs."""
    kind, data = "message", list[str]()
    async for line in lines:
        if not line:
            if data:
                try:
                    payload = json.loads("\n".join(data))
                except ValueError:
                    payload = None
                if isinstance(payload, dict):
                    yield kind, payload
            kind, data = "message", list[str]()
        elif line.startswith(":"):
            continue  # a keepalive comment
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                kind = value
            elif field == "data":
                data.append(value)


def _refusal(response: httpx.Response) -> EdgeRefused:
    """The edge's error answer `{"code", "message", "details"}` as an EdgeRefused."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and "code" in body:
        details = body.get("details")
        return EdgeRefused(
            response.status_code,
            str(body["code"]),
            str(body.get("message", "")),
            details if isinstance(details, dict) else {},
        )
    return EdgeRefused(response.status_code, f"HTTP_{response.status_code}", response.text[:200])
