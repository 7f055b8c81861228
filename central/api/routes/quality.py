"""/quality/holds: LPs and lots on quality hold."""

from fastapi import APIRouter

router = APIRouter(prefix="/quality", tags=["quality"])
