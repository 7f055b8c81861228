"""/products/{id}/bom: versioned bills of materials."""

from fastapi import APIRouter

router = APIRouter(prefix="/products", tags=["boms"])
