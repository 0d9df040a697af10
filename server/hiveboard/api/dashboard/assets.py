"""The dashboard's files: read once, served from memory under a content-hashed prefix.

Every asset is served at `/assets/<build>/<path>`, where `<build>` is a hash of all the files; the
browser's ES modules import each other with relative paths, so they all inherit the prefix without
a build step, and they can be cached for good (`immutable`): a changed file changes every URL. The
pages (index.html, the sign-in page) name the prefix and are revalidated on every load (ETag).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import html
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Final

STATIC_DIR: Final = Path(__file__).parent / "static"
ASSETS_PATH: Final = "/assets"
# Pages name the assets' prefix with this placeholder.
_ASSETS_PLACEHOLDER = "{{assets}}"
# ... and where the `modulepreload` links of every module go.
_MODULE_PRELOADS_PLACEHOLDER = "{{module_preloads}}"
_MEDIA_TYPES: Final = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
    ".json": "application/json",
}
_TEXT = "text/plain; charset=utf-8"  # LICENSE and VERSION files
_PAGES = ("index.html", "signin.html")
_INLINE_SCRIPT = re.compile(r"<script type=\"importmap\">(.*?)</script>", re.DOTALL)


@dataclass(frozen=True)
class Asset:
    """A file as served: its bytes, the same gzipped, its media type and ETag."""

    body: bytes
    gzipped: bytes
    media_type: str
    etag: str


class Assets:
    """The files of `root` (the package's static directory by default), loaded now."""

    def __init__(self, root: Path = STATIC_DIR) -> None:
        files = sorted(path for path in root.rglob("*") if path.is_file())
        if not files:
            raise FileNotFoundError("the dashboard's files are missing from the hiveboard_api package")
        digest = hashlib.sha256()
        contents: dict[str, bytes] = {}
        for path in files:
            relative = path.relative_to(root).as_posix()
            contents[relative] = path.read_bytes()
            digest.update(relative.encode() + b"\0" + contents[relative] + b"\0")
        self.build = digest.hexdigest()[:16]
        self.prefix = f"{ASSETS_PATH}/{self.build}"
        self._files = {
            relative: _asset(relative, body) for relative, body in contents.items() if relative not in _PAGES
        }
        # Every module at once: without this the browser finds them level by level of imports, each
        # level a round trip, before the view can ask for its data.
        preloads = "\n".join(
            f'<link rel="modulepreload" href="{self.prefix}/{relative}">'
            for relative in self._files
            if relative.endswith((".js", ".mjs"))
        )
        self._pages = {
            name: contents[name]
            .decode()
            .replace(_MODULE_PRELOADS_PLACEHOLDER, preloads)
            .replace(_ASSETS_PLACEHOLDER, self.prefix)
            for name in _PAGES
        }

    def get(self, relative: str) -> Asset | None:
        return self._files.get(relative)

    def total_gzipped_bytes(self) -> int:
        """What a browser downloads for the whole dashboard, compressed (pages included)."""
        pages = sum(len(gzip.compress(page.encode(), mtime=0)) for page in self._pages.values())
        return pages + sum(len(asset.gzipped) for asset in self._files.values())

    def page(self, name: str, **values: str) -> str:
        """The page `name` with each `{{name}}` replaced by the HTML-escaped value."""
        text = self._pages[name]
        for key, value in values.items():
            text = text.replace("{{" + key + "}}", html.escape(value))
        return text

    def content_security_policy(self) -> str:
        """Only our own origin, plus the pages' inline import map by its hash."""
        hashes = " ".join(
            f"'sha256-{base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()}'"
            for page in self._pages.values()
            for script in _INLINE_SCRIPT.findall(page)
        )
        return (
            "default-src 'self'; "
            f"script-src 'self' {hashes}; "
            "style-src 'self' 'unsafe-inline'; "
            "img-src 'self' data:; "
            "connect-src 'self'; "
            "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
        )


def _asset(relative: str, body: bytes) -> Asset:
    media_type = _MEDIA_TYPES.get(Path(relative).suffix, _TEXT)
    etag = '"' + hashlib.sha256(body).hexdigest()[:20] + '"'
    return Asset(body, gzip.compress(body, compresslevel=9, mtime=0), media_type, etag)
