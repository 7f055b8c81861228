"""/docs and /redoc load everything they need from the app itself (a plant network has no
internet): the pages name no http(s) URL, every script, style and icon they name is served by
the app, and Swagger UI is told not to use the defaults that would call another host (its
validator badge)."""

import re
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html

from runtime.api_docs import ASSETS_DIR, install_api_docs

REFERENCE = re.compile(
    r"""(?:src|href|spec-url)\s*=\s*["']([^"']+)["']|url\s*:\s*['"]([^"']+)['"]"""
)

# An option of Swagger UI's defaults whose value is an absolute URL (validatorUrl: the badge
# image Swagger UI loads from validator.swagger.io for any page not on localhost).
URL_DEFAULT = re.compile(r'[{,](\w+(?:Url|URL|url)):"(https?://[^"]+)"')


def swagger_url_defaults(bundle: Path = ASSETS_DIR / "swagger-ui-bundle.js") -> dict[str, str]:
    """The options the served Swagger UI bundle defaults to an absolute URL."""
    return dict(URL_DEFAULT.findall(bundle.read_text(encoding="utf-8")))


def swagger_init_config(html: str) -> dict[str, str]:
    """The options the page passes to SwaggerUIBundle({...}), each name to its value as
    written (a string literal keeps its quotes; an array is only its opening bracket)."""
    found = re.search(r"SwaggerUIBundle\(\{(.*?)\n\s*\}\)", html, re.DOTALL)
    assert found, f"/docs does not start Swagger UI:\n{html}"
    options = re.findall(r"""^\s*["']?(\w+)["']?\s*:\s*(.*?),?\s*$""", found.group(1), re.M)
    return dict(options)


def assert_swagger_calls_no_other_host(html: str) -> None:
    """Every URL option of Swagger UI is set by the page, to null or a path on this app."""
    config = swagger_init_config(html)
    defaults = swagger_url_defaults()
    assert "validatorUrl" in defaults, "the bundle's defaults changed: check them again"
    for option, default in defaults.items():
        assert option in config, f"/docs leaves {option} at its default {default}"
        value = config[option].strip("'\"")
        assert value == "null" or value.startswith("/"), f"/docs sets {option} to {value}"
    for option, value in config.items():
        assert not re.search(r"https?://", value), f"/docs sets {option} to {value}"


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
        if page == "/docs":
            assert_swagger_calls_no_other_host(html)
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


def test_the_validator_default_would_call_another_host() -> None:
    """The check above catches a page that leaves Swagger UI's validator at its default."""
    page = get_swagger_ui_html(openapi_url="/openapi.json", title="t", swagger_js_url="/s.js")
    with pytest.raises(AssertionError, match="validatorUrl"):
        assert_swagger_calls_no_other_host(page.body.decode())
