"""One error shape: the shared handlers alone, then edge and central side by side."""

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel

from central.api.app import create_app
from central.db.engine import make_engine
from central.db.migrate import upgrade
from central.settings import CentralSettings
from edge.api import create_edge_api
from edge.config import EdgeConfig
from edge.events import EventBus
from edge.queue import ActionQueue
from edge.stations import StationRunner
from runtime.http_errors import ErrorOut, install_common_handlers


class Thing(BaseModel):
    """A body with one required field."""

    name: str
    size: int


def _client(app: FastAPI, base_url: str) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=base_url)


@pytest.fixture
def bare() -> FastAPI:
    """An app with only the shared handlers and one route."""
    app = FastAPI()

    @app.post("/things")
    async def post_thing(thing: Thing) -> dict[str, str]:
        return {"name": thing.name}

    install_common_handlers(app)
    return app


async def test_framework_answers_have_the_shape(bare: FastAPI) -> None:
    async with _client(bare, "http://bare") as client:
        missing = await client.get("/nowhere")
        wrong = await client.get("/things")
    assert (missing.status_code, missing.json()) == (
        404,
        {"code": "NOT_FOUND", "message": "Not Found", "details": {}},
    )
    assert (wrong.status_code, wrong.json()["code"], wrong.headers["allow"]) == (
        405,
        "METHOD_NOT_ALLOWED",
        "POST",
    )
    ErrorOut.model_validate(wrong.json())


async def test_validation_names_every_bad_field(bare: FastAPI) -> None:
    async with _client(bare, "http://bare") as client:
        bad = await client.post("/things", json={"size": "big"})
    assert bad.status_code == 422
    assert bad.json() == {
        "code": "VALIDATION_ERROR",
        "message": "name: Field required; size: Input should be a valid integer, "
        "unable to parse string as an integer",
        "details": {
            "errors": [
                {"loc": ["body", "name"], "msg": "Field required", "type": "missing"},
                {
                    "loc": ["body", "size"],
                    "msg": "Input should be a valid integer, unable to parse string as an integer",
                    "type": "int_parsing",
                },
            ]
        },
    }


@pytest.fixture
async def both(sqlite_url: str, tmp_path: Path) -> AsyncIterator[tuple[httpx.AsyncClient, ...]]:
    """Clients of a central (migrated SQLite) and of an edge (real queue file)."""
    await upgrade(sqlite_url)
    engine = make_engine(sqlite_url)
    config = EdgeConfig(site="plant-1", edge_id="edge-07", secret="s" * 32, data_dir=str(tmp_path))
    bus = EventBus()
    queue = await ActionQueue.open(
        config.queue_path, site="plant-1", edge="edge-07", secret=config.secret, events=bus
    )
    edge = create_edge_api(
        config=config,
        queue=queue,
        stations=StationRunner(config, queue, bus),
        events=bus,
        status=lambda: {},
    )
    try:
        async with (
            _client(create_app(CentralSettings(db_url=sqlite_url), engine=engine), "http://c") as c,
            _client(edge, "http://edge") as e,
        ):
            yield c, e
    finally:
        await queue.close()
        await engine.dispose()


@pytest.mark.parametrize(
    "content", [b"{}", b"[]", b'{"unfinished": '], ids=["empty", "array", "broken"]
)
async def test_edge_and_central_answer_a_bad_body_alike(
    both: tuple[httpx.AsyncClient, httpx.AsyncClient], content: bytes
) -> None:
    central, edge = both
    headers = {"content-type": "application/json"}
    answers = [
        await central.post("/api/v1/products", content=content, headers=headers),
        await edge.post("/api/v1/actions", content=content, headers=headers),
    ]
    for answer in answers:
        assert answer.status_code == 422
        body = ErrorOut.model_validate(answer.json())
        assert body.code == "VALIDATION_ERROR" and set(body.details) == {"errors"}
        assert body.details["errors"] and all(
            set(error) == {"loc", "msg", "type"} and error["loc"][0] == "body"
            for error in body.details["errors"]
        )
        first = body.details["errors"][0]
        assert body.message.startswith(f"{'.'.join(first['loc'][1:]) or 'body'}: {first['msg']}")
    kinds = [{e["type"] for e in a.json()["details"]["errors"]} for a in answers]
    assert kinds[0] == kinds[1]
    if content in (b"[]", b'{"unfinished": '):  # nothing field-specific: the same answer
        assert answers[0].json() == answers[1].json()
