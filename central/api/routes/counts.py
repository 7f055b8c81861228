"""/counts: stock count sessions, variances and approval."""

from fastapi import APIRouter

router = APIRouter(prefix="/counts", tags=["counts"])
