"""Which requests are answered: the ``Host`` header (DNS rebinding) and the ``Origin``.

A page on another site cannot read the answers, but it can make the browser post to a
server on 127.0.0.1: these checks refuse requests naming a host the server does not serve
under, and posts from pages of another origin.
"""

from __future__ import annotations

import re
from collections.abc import Set
from urllib.parse import urlsplit

from vecmatte.web._limits import HTTPError

__all__ = ["HOST", "LOCAL_HOSTS", "check_host"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
HOST = re.compile(r"(?:\[(?P<ipv6>[0-9A-Za-z:.%]+)\]|(?P<name>[^\s:\[\]/,@]+))(?::[0-9]{0,5})?")


def check_host(environ: dict, allowed_hosts: Set[str]) -> None:
    """Refuse a request whose ``Host`` is not in ``allowed_hosts`` (421), or a ``POST`` from a
    page whose ``Origin`` is not (403)."""
    # A page on another site whose name resolves to 127.0.0.1 (DNS rebinding) sends its
    # own name in Host; refusing names we do not serve under closes that door.
    host = environ.get("HTTP_HOST", "")
    if not host:
        raise HTTPError(400, "the request has no Host header")
    # host[:port] once (RFC 9112 3.2; the server joins repeated headers with commas):
    # "127.0.0.1:x,evil.example" was taken for 127.0.0.1.
    match = HOST.fullmatch(host)
    if match is None:
        raise HTTPError(400, f"the Host header is not one host[:port]: {host[:100]!r}")
    name = match["ipv6"] or match["name"]
    if name.lower() not in allowed_hosts:
        raise HTTPError(
            421,
            f"this server does not answer to host {name[:100]!r}; allowed: "
            f"{', '.join(sorted(allowed_hosts))} (vecmatte serve --allow-host NAME)",
        )
    origin = environ.get("HTTP_ORIGIN")
    # "null" is refused too: it is what a sandboxed iframe on any site sends (<iframe
    # sandbox="allow-scripts">, its form or fetch), so every page the user visited could
    # make the server solve; the page served here sends its own origin, and curl none.
    if environ.get("REQUEST_METHOD") == "POST" and origin:
        try:
            origin_host = (urlsplit(origin).hostname or "").lower()
        except ValueError:  # "http://[evil": not a page of ours either (it was a 500)
            origin_host = ""
        if origin_host not in allowed_hosts:
            raise HTTPError(403, f"requests from pages of {origin[:100]!r} are not allowed")
