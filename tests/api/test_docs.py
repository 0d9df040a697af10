"""`/docs` and `/redoc` render offline: every asset they load comes from the API's own origin."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from tests.serve_process import serve_process

# What the pages load: scripts, styles, the icon, and the OpenAPI document they render.
_REFERENCES = re.compile(r"""(?:src|href|spec-url)="([^"]+)"|url: '([^']+)'""")
EXPECTED_TYPES = {
    ".js": "javascript",
    ".css": "text/css",
    ".png": "image/png",
    ".json": "application/json",
}
Get = Callable[[str], httpx.Response]


def assert_docs_served_from_own_origin(get: Get) -> None:
    for page, renderer in (("/docs", "swagger-ui-bundle.js"), ("/redoc", "redoc.standalone.js")):
        response = get(page)
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        html = response.text
        assert "://" not in html, f"{page} names another origin:\n{html}"
        references = {first or second for first, second in _REFERENCES.findall(html)}
        assert any(reference.endswith(renderer) for reference in references), references
        assert "/openapi.json" in references
        for reference in references:
            assert reference.startswith("/") and not reference.startswith("//"), reference
            asset = get(reference)
            suffix = Path(reference).suffix
            assert asset.status_code == 200, reference
            assert EXPECTED_TYPES[suffix] in asset.headers["content-type"], (reference, asset.headers)
            assert len(asset.content) > 1000, reference  # the real asset, not an empty placeholder


def test_the_docs_pages_load_only_same_origin_assets(client: TestClient) -> None:
    assert_docs_served_from_own_origin(client.get)


def test_the_real_serve_process_serves_the_docs_offline(tmp_path: Path) -> None:
    with (
        serve_process(tmp_path / "data") as server,
        httpx.Client(base_url=server.api_url, timeout=30) as http,
    ):
        assert_docs_served_from_own_origin(http.get)
