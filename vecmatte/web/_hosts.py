"""Which requests are answered: the ``Host`` header (DNS rebinding) and the ``Origin``.

A page on another site cannot read the answers, but it can make the browser post to a
server on 127.0.0.1: these checks refuse requests naming a host the server does not serve
under, and posts from pages of another origin.
"""

from __future__ import annotations

import ipaddress
import re
import sys
from collections.abc import Iterable, Set
from urllib.parse import urlsplit

from vecmatte.web._clients import request_label
from vecmatte.web._limits import HTTPError

__all__ = ["HOST", "LOCAL_HOSTS", "allowed_host_names", "check_host", "check_host_name"]

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
HOST = re.compile(r"(?:\[(?P<ipv6>[0-9A-Za-z:.%]+)\]|(?P<name>[^\s:\[\]/,@]+))(?::[0-9]{0,5})?")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_LABEL = re.compile(r"[0-9A-Za-z_-]{1,63}")


def check_host_name(name: str) -> str:
    """``name`` if a ``Host`` header can name it (any port), else a one-line ValueError.

    A name the header can never carry ("", ",", "a b", "example.com:8000") was accepted and
    never matched, so the server refused its own clients (421) without saying why.
    """
    text = name.strip()
    inner = text[1:-1] if text[:1] == "[" and text[-1:] == "]" else text
    if ":" in inner:  # only an IPv6 address has colons (a port is not part of the name)
        try:
            valid = ipaddress.ip_address(inner.split("%")[0]).version == 6
        except ValueError:
            valid = False
    else:
        # Labels of letters, digits, "-" and "_" between single dots (one may end the name):
        # "." or "a..b" passed the Host pattern, yet no client sends them. A name whose
        # last label is a number is an IPv4 address to a browser (1.2.3 is 1.2.0.3).
        labels = text[:-1].split(".") if text.endswith(".") else text.split(".")
        valid = all(_LABEL.fullmatch(label) for label in labels) and (
            not labels[-1].isdigit() or _is_ipv4(text)
        )
        spelled = None if valid or text.isascii() else _idna(text)
        if spelled is not None:  # a browser sends its ASCII spelling, never this one
            raise ValueError(
                f"not a host name: {name!r}; browsers send it as {spelled!r}: give that"
            )
    if not valid:
        raise ValueError(
            f"not a host name: {name!r}; give one name or address per option, without a "
            "port (every port is answered), e.g. --allow-host matting.lan"
        )
    return text


def _idna(text: str) -> str | None:
    """The ASCII spelling (IDNA) of an international name, if it is a host name, else None."""
    try:
        return check_host_name(text.encode("idna").decode("ascii"))
    except ValueError:  # UnicodeError too
        return None


def _is_ipv4(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 4
    except ValueError:
        return False


def allowed_host_names(allowed_hosts: Iterable[str]) -> frozenset[str]:
    """:data:`LOCAL_HOSTS` and ``allowed_hosts`` as :func:`check_host` compares them (lower
    case, IPv6 without brackets), each checked by :func:`check_host_name`."""
    if isinstance(allowed_hosts, str):  # its letters were taken for names: "m", "a" ...
        raise TypeError(
            f"allowed_hosts must be a list of host names, got the string {allowed_hosts!r}: "
            f"give [{allowed_hosts!r}]"
        )
    names = (*LOCAL_HOSTS, *allowed_hosts)
    return frozenset(_canonical(check_host_name(name).strip("[]")) for name in names)


def _canonical(name: str) -> str:
    """A host name as compared: lower case, without the dot that may end it.

    ``localhost.`` and ``example.com.`` (fully qualified, as some tools and resolvers
    write them) are the same hosts as without the dot, and were refused (421).
    """
    name = name.lower()
    return name[:-1] if name.endswith(".") and ":" not in name else name


def _origin(url: str) -> tuple[str, str, int | None] | None:
    """(scheme, host, port as written or None) of ``http://127.0.0.1:8000``, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[evil", "http://a:99999"
        return None
    # A browser sends scheme://host[:port] only; a trailing "/" is a non-browser client's.
    if not parts.hostname or parts.path not in ("", "/") or parts.query or parts.username:
        return None
    return parts.scheme.lower(), _canonical(parts.hostname), port


def _is_own_origin(page: tuple[str, str, int | None] | None, own: str) -> bool:
    """Whether a page of origin ``page`` (:func:`_origin` of the ``Origin`` header) is served
    at the host and port of ``own`` (``scheme://Host`` of the request: the server's scheme
    and the ``Host`` header).

    The host and the port decide, not the scheme: while the server holds a port, no page
    can be served on it under the other scheme. A ``Host`` without a port names the default
    port of the scheme the client used, which a server behind a TLS proxy (https to the
    browser, http to the server, ``Host`` kept) cannot know: the page's origin must then be
    on the default port of its own scheme, ``http://name`` or ``https://name``; only the
    latter when the server speaks https itself (``wsgi.url_scheme``: the client came on 443).
    """
    server = _origin(own)
    if page is None or server is None or page[0] not in _DEFAULT_PORTS or page[1] != server[1]:
        return False
    page_scheme, _, page_port = page
    default = _DEFAULT_PORTS[page_scheme]
    page_port = default if page_port is None else page_port
    if server[2] is not None:
        return page_port == server[2]
    return page_port == default and (server[0] != "https" or page_scheme == "https")


def check_host(environ: dict, allowed_hosts: Set[str]) -> None:
    """Refuse a request whose ``Host`` is not in ``allowed_hosts`` (421), or a ``POST`` from a
    page of another origin than the server's own (403).

    A host name is allowed on every port (the client's port may be a proxy's); a page's
    ``Origin`` must name the host and port of the request's ``Host`` (see
    :func:`_is_own_origin`: behind a TLS proxy, the https page of a ``Host`` without a port),
    or a name of ``allowed_hosts`` other than :data:`LOCAL_HOSTS`, on any port.
    """
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
    if _canonical(name) not in allowed_hosts:
        raise HTTPError(
            421,
            f"this server does not answer to host {name[:100]!r}; allowed: "
            f"{', '.join(sorted(allowed_hosts))} (to serve under it: vecmatte serve "
            f"--allow-host {name if _is_host_name(name) else 'NAME'})",
        )
    origin = environ.get("HTTP_ORIGIN")
    # "null" is refused too: it is what a sandboxed iframe on any site sends (<iframe
    # sandbox="allow-scripts">, its form or fetch), so every page the user visited could
    # make the server solve; the page served here sends its own origin, and curl none.
    # The port counts: another web application on 127.0.0.1 (a dev server on :3000, a
    # notebook) had its pages post here, since only the host was compared. The scheme does
    # not: behind nginx (https, Host kept) the page is https and this server http. So a Host
    # without a port also takes the https page on 443 when this server is on 80: that server
    # is the proxy in front, or (no proxy) another server of this machine's name, trusted.
    # A page on a name the user added with --allow-host posts from any port and scheme, as
    # its Host is answered on any port: a proxy in front may rewrite Host (nginx's and
    # Apache's default sends the upstream's 127.0.0.1:8000) or drop its own port.
    if environ.get("REQUEST_METHOD") == "POST" and origin:
        own = f"{environ.get('wsgi.url_scheme', 'http')}://{host}"
        page = _origin(origin)
        named = page is not None and page[0] in _DEFAULT_PORTS and page[1] not in LOCAL_HOSTS
        if not (named and page[1] in allowed_hosts) and not _is_own_origin(page, own):
            message = (
                f"requests from pages of {origin[:100]!r} are not allowed: only this server's "
                f"own page ({own[:100]}) may post"
            )
            if named and _is_host_name(page[1]) and _is_address(name):
                # Behind a proxy that rewrites Host (nginx's default: the upstream's
                # 127.0.0.1:8000), the server's own page is on the proxy's name: the refusal
                # said nothing of the option that lets it post. (A Host of a name, not an
                # address, was kept or set by the proxy: a page on another name is not its.)
                hint = (
                    f"if that page is this server's, behind a proxy that rewrites Host, start "
                    f"the server with --allow-host {page[1]}"
                )
                message = f"{message}; {hint}"
                print(
                    f"vecmatte serve: {environ.get('REMOTE_ADDR', '-')} {request_label(environ)}: "
                    f"refused (403) a post from a page of {origin[:100]!r}; {hint}",
                    file=environ.get("wsgi.errors", sys.stderr),
                )
            raise HTTPError(403, message)


def _is_address(name: str) -> bool:
    """Whether a Host's ``name`` is an IP address or localhost, a proxy's upstream."""
    return name.lower() == "localhost" or _is_ipv4(name) or ":" in name


def _is_host_name(name: str) -> bool:
    try:
        check_host_name(name)
    except ValueError:
        return False
    return True
