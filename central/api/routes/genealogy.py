"""/license-plates/{number}/genealogy: the recall query, up and down."""

from fastapi import APIRouter

router = APIRouter(tags=["genealogy"])
