"""/docs and /redoc load everything they need from the app itself (a plant network has no
internet): the pages name no http(s) URL, and every script, style and icon they name is
served by the app."""

import re

import httpx
from fastapi import FastAPI

from runtime.api_docs import install_api_docs

REFERENCE = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^"']+)['"]"""
)


async def assert_docs_served_offline(client: httpx.AsyncClient) -> None:
    """Fetch /docs and /redoc and every asset they reference from ``client``'s app."""
    for page in ("/docs", "/redoc"):
        response = await client.get(page)
        assert response.status_code == 200, f"{page}: {response.status_code}"
        html = response.text
        assert not re.search(r"https?://", html), f"{page} names an outside URL:\n{html}"
        referenced = {a or b for a, b in REFERENCE.findall(html)}
        assets = {ref for ref in referenced if ref.startswith("/docs-assets/")}
        assert any(ref.endswith(".js") for ref in assets), f"{page} loads no script: {html}"
        assert "/openapi.json" in referenced, f"{page} does not name the schema"
        for ref in referenced:
            assert ref.startswith("/"), f"{page} references {ref!r} outside the app"
            asset = await client.get(ref)
            assert asset.status_code == 200, f"{page} -> {ref}: {asset.status_code}"
            assert asset.content, f"{page} -> {ref} is empty"
    script = await client.get("/docs-assets/swagger-ui-bundle.js")
    assert "javascript" in script.headers["content-type"]


async def test_a_bare_app_serves_its_docs_offline() -> None:
    app = FastAPI(title="t", docs_url=None, redoc_url=None)
    install_api_docs(app)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://plant") as client:
        await assert_docs_served_offline(client)
        assert (await client.get("/docs/oauth2-redirect")).status_code == 200
        assert (await client.get("/docs-assets/../__init__.py")).status_code == 404


async def test_fastapis_own_pages_would_reach_a_cdn() -> None:
    """The check above catches the default pages, which load Swagger UI from a CDN."""
    transport = httpx.ASGITransport(app=FastAPI())
    async with httpx.AsyncClient(transport=transport, base_url="http://plant") as client:
        html = (await client.get("/docs")).text
    assert re.search(r"https?://", html)
