"""/tokens and /audit: API tokens (roles, sites) and the audit log of API writes."""

from fastapi import APIRouter

router = APIRouter(tags=["access"])
