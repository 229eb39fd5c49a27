"""Notification URLs: split the variable's value, name each without its secrets, and list the
pieces the redactor must remove.

An apprise URL carries its credentials in different places per service: Telegram's bot token
is the *host* (`tgram://123456:ABC.../CHAT`), Discord's webhook id and token the path, ntfy's
topic the path, email the password. So a channel is shown as its scheme and host only, and the
host only when it is a host name or an address (it has a dot, or is `localhost`); anything
else is `…`. Pure code: no apprise import, so the config loader can use it.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import parse_qsl, unquote, urlsplit

_SPLIT = re.compile(r"[\s,]+")
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*)://")
_HOSTNAME = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+$")


def split_urls(value: str | None) -> list[str]:
    """The URLs in a variable's value (separated by spaces, commas or new lines), in order,
    without duplicates."""
    out: list[str] = []
    for part in _SPLIT.split(value or ""):
        if part and part not in out:
            out.append(part)
    return out


def _netloc(url: str) -> str:
    rest = _SCHEME.sub("", url, count=1)
    return re.split(r"[/?#]", rest, maxsplit=1)[0]


def _host_port(netloc: str) -> tuple[str, str]:
    """(host, port) of a netloc without its user info; ("", "") when it is not host-like."""
    hostport = netloc.rpartition("@")[2]
    if hostport.startswith("["):  # [v6]:port
        host, _, rest = hostport[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        host, _, port = hostport.partition(":")
    if port and not port.isdigit():
        return "", ""
    if host == "localhost" or _HOSTNAME.match(host):
        return host, port
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return "", ""
    return (f"[{host}]" if ":" in host else host), port


def label(url: str) -> str:
    """The channel as it may be shown: ``scheme://host[:port]``, or ``scheme://…`` when the
    host itself is a credential (never the path, the user, the password or the query)."""
    m = _SCHEME.match(url)
    scheme = m.group(1).lower() if m else "?"
    host, port = _host_port(_netloc(url))
    if not host:
        return f"{scheme}://…"
    return f"{scheme}://{host}" + (f":{port}" if port else "")


def _looks_secret(piece: str) -> bool:
    # Long enough that redacting it cannot blank ordinary words (the Redactor skips pieces
    # under 6 characters anyway), and not a plain word like `hooks` or `webhook`.
    return len(piece) >= 20 or (len(piece) >= 8 and not piece.isalpha())


def secret_parts(url: str) -> list[str]:
    """Everything of ``url`` the redactor must remove: the URL itself (and without its
    scheme), and each piece not shown by :func:`label` that could be a credential. A URL that
    is only a shown host (``json://localhost:8080``) has none."""
    netloc = _netloc(url)
    host, port = _host_port(netloc)
    bare = _SCHEME.sub("", url, count=1)
    if bare.rstrip("/") == netloc and host:
        return []  # nothing but a host: nothing to hide (and its label must stay readable)
    out = [url, bare]
    pieces: list[str] = []
    userinfo, at, hostport = netloc.rpartition("@")
    if at:
        pieces += [userinfo, *userinfo.split(":")]
    if not host:
        pieces += [hostport, *re.split(r"[:@]", hostport)]
    try:
        parts = urlsplit(url)
        path, query = parts.path, parts.query
    except ValueError:  # a malformed netloc: take the rest after it as it is
        rest = _SCHEME.sub("", url, count=1)[len(netloc) :]
        path, _, query = rest.partition("?")
    pieces += [seg for seg in path.split("/") if seg]
    pieces += [unquote(seg) for seg in path.split("/") if seg]
    for k, v in parse_qsl(query, keep_blank_values=True):
        pieces += [v, k] if _looks_secret(k) else [v]
    shown = {host, port}
    out += [p for p in pieces if p and p not in shown and _looks_secret(p)]
    return list(dict.fromkeys(out))


def secrets_of(value: str | None) -> list[str]:
    """The redactor's secrets for a variable holding URLs: the whole value, and each URL's."""
    out = [value] if value else []
    for url in split_urls(value):
        out += secret_parts(url)
    return list(dict.fromkeys(out))
