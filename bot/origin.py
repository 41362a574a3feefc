"""Browsers say which page opened a WebSocket (the Origin header); these
sockets are for our own pages only, so another site cannot open them from a
visitor's browser (with the visitor's cookies, or at our expense)."""

from __future__ import annotations

from urllib.parse import urlparse

from starlette.datastructures import Headers


def same_origin(headers: Headers) -> bool:
    """True for our own pages and for clients that send no Origin (not a browser)."""
    origin = headers.get("origin", "")
    return not origin or urlparse(origin).netloc == headers.get("host", "")
