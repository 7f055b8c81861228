"""POST /actions: envelopes over HTTP, through the same apply path as MQTT."""

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from central.api.deps import ProcessorDep
from central.api.security import client_address
from protocol import Ack, AckResult
from protocol.wire import decode_actions_body
from runtime.http_limits import mark_failed

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


def _wire(ack: Ack) -> dict[str, object]:
    """An ack as JSON: optional fields left out, but id and seq always present (maybe null)."""
    return {"id": ack.id, "seq": ack.seq, **ack.wire()}


@router.post("/actions", openapi_extra=_BODY_SCHEMA)
async def post_actions(request: Request, processor: ProcessorDep) -> JSONResponse:
    """Apply envelopes; answers the ack (one object) or the acks (an array, in order)."""
    lone: list[bool] = []  # set while decoding: the body was one envelope, not an array

    def decode(payload: bytes) -> list[Any]:
        """Parse the body once, noting its shape."""
        raws, single = decode_actions_body(payload)
        lone.append(single)
        return raws

    acks = await processor.process_message(
        await request.body(),
        topic_site=None,
        topic_edge=None,
        via="http",
        decode=decode,
        source=client_address(request),
    )
    if all(ack.result is AckResult.REJECTED for ack in acks):
        mark_failed(request.scope.setdefault("state", {}))  # junk counts against its sender
    if lone == [True] and len(acks) == 1:
        return JSONResponse(_wire(acks[0]))
    return JSONResponse([_wire(ack) for ack in acks])
