"""POST /actions: envelopes over HTTP, through the same apply path as MQTT."""

import json
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from central.api.deps import ProcessorDep
from protocol import Ack
from protocol.wire import dumps

router = APIRouter(tags=["actions"])

_BODY_SCHEMA = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {
                    "description": "One signed envelope, or a JSON array of 1..200 of them",
                    "oneOf": [
                        {"type": "object"},
                        {
                            "type": "array",
                            "items": {"type": "object"},
                            "minItems": 1,
                            "maxItems": 200,
                        },
                    ],
                }
            }
        },
    }
}


def _single(payload: bytes) -> dict[str, Any] | None:
    """The envelope when the body is one JSON object, else None (an array, or unreadable)."""
    try:
        value = json.loads(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _wire(ack: Ack) -> dict[str, object]:
    """An ack as JSON: optional fields left out, but id and seq always present (maybe null)."""
    return {"id": ack.id, "seq": ack.seq, **ack.wire()}


@router.post("/actions", openapi_extra=_BODY_SCHEMA)
async def post_actions(request: Request, processor: ProcessorDep) -> JSONResponse:
    """Apply envelopes; answers the ack (one object) or the acks (an array, in order)."""
    payload = await request.body()
    single = _single(payload)
    if single is not None:
        payload = dumps([single])
    acks = await processor.process_message(payload, topic_site=None, topic_edge=None, via="http")
    if single is not None and len(acks) == 1:
        return JSONResponse(_wire(acks[0]))
    return JSONResponse([_wire(ack) for ack in acks])
