"""The page's own files (``GET /``, ``GET /static/<file>``), served from the package."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from vecmatte.web._limits import HTTPError

__all__ = ["StaticFiles"]

_STATIC_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
# The page loads only its own files; images it draws come from blob: URLs of its own making.
_CSP = (
    "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


class StaticFiles:
    """The files of ``vecmatte/web/static``, answered by exact name only: no path is ever
    built from a request."""

    def __init__(self):
        self._folder = resources.files("vecmatte.web") / "static"
        self._names = frozenset(
            entry.name
            for entry in self._folder.iterdir()
            if entry.is_file() and Path(entry.name).suffix in _STATIC_TYPES
        )

    def response(self, name: str) -> tuple[int, list, bytes]:
        """(status, headers, body) of the file ``name``; a 404 if there is none of that name."""
        if name not in self._names:
            raise HTTPError(404, f"no such file: /static/{name[:100]}")
        body = (self._folder / name).read_bytes()
        headers = [("Content-Type", _STATIC_TYPES[Path(name).suffix])]
        if name.endswith(".html"):
            headers += [("Content-Security-Policy", _CSP), ("X-Frame-Options", "DENY")]
        return 200, headers, body
