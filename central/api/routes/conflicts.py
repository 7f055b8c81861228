"""/conflicts: the inbox of valid actions that could not apply."""

from fastapi import APIRouter

from central.api.deps import Limit, Offset, ReadConn
from central.api.schemas import ConflictOut, Page
from central.services import queries

router = APIRouter(prefix="/conflicts", tags=["conflicts"])


@router.get("", response_model=Page[ConflictOut])
async def list_conflicts(conn: ReadConn, status: str | None = None, site: str | None = None,
                         edge: str | None = None, limit: Limit = 100,
                         offset: Offset = 0) -> dict[str, object]:
    """Conflicts, oldest first, each with the envelope exactly as the edge sent it."""
    items = await queries.list_conflicts(conn, status=status, site=site, edge=edge, limit=limit,
                                         offset=offset)
    return {"items": items, "limit": limit, "offset": offset}
