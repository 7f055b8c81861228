"""Health probes: alive, and ready only when the database and the process's extras are."""

import httpx

from central.api.app import create_app
from tests.central.conftest import Central


async def probe(central: Central, readiness: dict[str, bool] | None) -> httpx.Response:
    app = create_app(
        central.settings,
        engine=central.engine,
        readiness=None if readiness is None else (lambda: readiness),
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central"
    ) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        return await client.get("/readyz")


async def test_ready_with_database(central: Central) -> None:
    response = await probe(central, None)
    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": True}}


async def test_not_ready_while_mqtt_is_down(central: Central) -> None:
    response = await probe(central, {"mqtt": False})
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": True, "mqtt": False}
