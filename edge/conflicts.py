"""Conflicts for the kiosks: this edge's refused actions from its own queue (offline too), and
a supervisor's read and resolution of one, forwarded to central's conflict inbox.

Only central can resolve a conflict; the edge forwards with its ``central_token`` and a short
timeout, so a kiosk is told at once when central cannot be reached, and keeps what central
confirmed, so the station's list shows the outcome while central is away.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import httpx

from edge.central_client import central_error
from edge.config import EdgeConfig
from edge.errors import (
    CentralNotConfigured,
    CentralRefused,
    CentralUnreachable,
    ConflictNotFound,
    NotASupervisor,
    ResolutionFailed,
)
from edge.station_log import LocalResolution, StationLog
from protocol import format_ts

CENTRAL_TIMEOUT = 3.0  # seconds: a kiosk waits no longer than this for central
MAX_REASON = 500  # central's limit on a resolution's reason


class ConflictDesk:
    """The conflicts list, and the forwarding of reads and resolutions to central."""

    def __init__(
        self,
        config: EdgeConfig,
        log: StationLog,
        *,
        timeout: float = CENTRAL_TIMEOUT,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.config, self.log = config, log
        self.timeout, self._transport = timeout, transport

    async def listed(self, station: str | None, limit: int) -> list[dict[str, Any]]:
        """This edge's actions in state conflict or rejected, newest first, with the
        resolution central confirmed through this edge."""
        out = []
        for action, resolution in await self.log.refused(station, limit):
            out.append(
                {
                    "action_id": action.id,
                    "seq": action.seq,
                    "type": action.type,
                    "station": action.station,
                    "operator": action.operator,
                    "state": action.state,
                    "code": action.code,
                    "message": action.message,
                    "conflict_id": action.conflict_id,
                    "body": action.body,
                    "ts": action.ts,
                    "acked_at": action.acked_at,
                    "resolution": asdict(resolution) if resolution is not None else None,
                }
            )
        return out

    async def read(self, conflict_id: int) -> dict[str, Any]:
        """Central's record of one conflict, as central answers it."""
        return await self._call("GET", f"/api/v1/conflicts/{conflict_id}", conflict_id)

    async def resolve(
        self,
        conflict_id: int,
        *,
        supervisor: str,
        resolution: str,
        reason: str,
        body: dict[str, Any] | None,
    ) -> dict[str, Any]:
        """Forward a supervisor's resolution of one of this edge's conflicts to central and
        keep what central confirmed. Refused before central is called when ``supervisor`` is
        not one of the edge's supervisors, or the conflict is not of this edge's actions."""
        if not self.config.is_supervisor(supervisor):
            raise NotASupervisor(
                f"{supervisor!r} is not a supervisor at this edge: only the operators listed "
                "in edge.toml's supervisors may resolve conflicts from a kiosk"
            )
        action = await self.log.by_conflict(conflict_id)
        if action is None:
            raise ConflictNotFound(
                f"conflict {conflict_id} is not one of this edge's actions: a kiosk resolves "
                "its own edge's conflicts; resolve others at central",
                details={"conflict_id": conflict_id},
            )
        if resolution == "apply" and body is not None:
            resolution = "apply_with_changes"  # central's name for applying a changed body
        said = f"{supervisor} at kiosk of station {action.station}: {reason}"[:MAX_REASON]
        answer = await self._call(
            "POST",
            f"/api/v1/conflicts/{conflict_id}/resolve",
            conflict_id,
            json={"resolution": resolution, "reason": said, "body": body},
        )
        record = answer.get("conflict")
        conflict: dict[str, Any] = record if isinstance(record, dict) else {}
        await self.log.record_resolution(
            conflict_id=conflict_id,
            action_id=action.id,
            resolution=LocalResolution(
                resolution=resolution,
                by=supervisor,
                at=format_ts(datetime.now(UTC)),
                status=str(conflict.get("status") or "resolved"),
            ),
        )
        return answer

    async def _call(
        self, method: str, path: str, conflict_id: int, json: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """One call to central with the edge's token; central's errors as the edge's own."""
        base = self.config.central_url
        if not base:
            raise CentralNotConfigured(
                "this edge has no central_url in edge.toml: conflicts can be seen and resolved "
                "at central"
            )
        token = self.config.central_token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with httpx.AsyncClient(
                base_url=base.rstrip("/"), timeout=self.timeout, transport=self._transport
            ) as client:
                response = await client.request(method, path, json=json, headers=headers)
        except httpx.HTTPError as err:
            raise CentralUnreachable(
                f"central cannot be reached from this edge ({err.__class__.__name__}: {err}): "
                "the conflict can be seen and resolved when central is back, or at central",
                details={"central_url": base},
            ) from err
        answer = _json(response)
        if response.status_code < 300:
            if not isinstance(answer, dict):
                raise CentralRefused(
                    f"central answered with something not JSON: {response.text[:200]}",
                    details={"status": response.status_code},
                )
            return answer
        said: dict[str, Any] = answer if isinstance(answer, dict) else {}
        code, message = str(said.get("code") or "HTTP_ERROR"), central_error(response)
        found = said.get("details")
        details: dict[str, Any] = found if isinstance(found, dict) else {}
        if response.status_code == 404:
            raise ConflictNotFound(
                f"central has no conflict {conflict_id} this edge may see ({message})",
                details={"conflict_id": conflict_id, "central": {"code": code, **details}},
            )
        if response.status_code == 409:
            raise ResolutionFailed(str(said.get("message") or message), code=code, details=details)
        raise CentralRefused(
            f"central refused the call: HTTP {response.status_code} {message}"
            + _hint(response.status_code),
            details={
                "status": response.status_code,
                "code": code,
                "message": str(said.get("message") or message),
                "details": details,
            },
        )


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _hint(status: int) -> str:
    """What most likely fixes a refusal of the edge's own token."""
    if status == 401:
        return " (set central_token in edge.toml to a valid central API token)"
    if status == 403:
        return " (central_token needs a supervisor role at this edge's site)"
    return ""
