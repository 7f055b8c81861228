"""/healthz (the process is alive) and /readyz (it can do its job)."""

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from central.api.deps import EngineDep

router = APIRouter(tags=["health"])


class ReadyOut(BaseModel):
    """Whether central can do its job, and each check behind the answer."""

    ready: bool
    checks: dict[str, bool]


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """Alive: answers as long as the process serves requests."""
    return {"status": "ok"}


@router.get(
    "/readyz",
    response_model=ReadyOut,
    responses={503: {"model": ReadyOut, "description": "not ready: a check failed"}},
)
async def readyz(request: Request, engine: EngineDep) -> JSONResponse:
    """Ready: the database answers, and so do the extras (e.g. MQTT) of the running process."""
    checks: dict[str, bool] = {}
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        checks["database"] = True
    except (SQLAlchemyError, OSError):
        checks["database"] = False
    readiness = request.app.state.readiness
    if readiness is not None:
        checks.update(readiness())
    ready = all(checks.values())
    return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)
