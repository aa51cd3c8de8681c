"""Who the client is and which scheme it used, behind reverse proxies: one rule, applied once to the ASGI scope.

X-Forwarded-For and X-Forwarded-Proto are believed only from a trusted direct peer: one in TRUSTED_PROXIES, or any
peer with TRUST_FORWARDED_FOR=true. The middleware then rewrites `scope["client"]` and `scope["scheme"]`, so the
rate limits, the /metrics networks, `request.url` and `is_https` all read the same answer. uvicorn's own
proxy-header handling stays off (`python main.py`, or `--no-proxy-headers`) so the scope is rewritten once, here.
"""

from collections.abc import Sequence
from ipaddress import IPv4Address, IPv4Network, IPv6Address, IPv6Network, ip_address

from starlette.types import ASGIApp, Receive, Scope, Send

from app.core.middleware import HttpMiddleware

Network = IPv4Network | IPv6Network
_SCHEMES = frozenset({"http", "https"})


def parse_address(value: str) -> IPv4Address | IPv6Address | None:
    """An IP address from a forwarded entry (bare, `a.b.c.d:port` or `[v6]:port`), or None when it holds none."""
    value = value.strip()
    if value.startswith("["):
        value = value[1 : value.find("]")] if "]" in value else value
    elif value.count(":") == 1:
        value = value.split(":", 1)[0]
    try:
        return ip_address(value)
    except ValueError:
        return None


def is_trusted(address: IPv4Address | IPv6Address | None, networks: Sequence[Network]) -> bool:
    """Whether an address lies in one of the trusted proxies' networks."""
    return address is not None and any(address in network for network in networks)


def forwarded_client(
    peer: str | None, forwarded_for: str | None, *, trusted_proxies: Sequence[Network], trust_peer: bool
) -> tuple[str | None, int | None]:
    """The client's address, and its index in X-Forwarded-For (None when the peer is the client).

    A trusted peer's X-Forwarded-For is read from the right: each entry is the address the hop to its right saw,
    so entries are skipped while they are trusted proxies themselves, and the first other one is the client. An
    entry that is no address ends the walk at the last hop known good, since a trusted proxy never writes one.
    """
    if not forwarded_for or not (trust_peer or is_trusted(parse_address(peer or ""), trusted_proxies)):
        return peer, None
    entries = forwarded_for.split(",")
    client, index = peer, None
    for position in range(len(entries) - 1, -1, -1):
        address = parse_address(entries[position])
        if address is None:
            break
        client, index = str(address), position
        if not is_trusted(address, trusted_proxies):
            break
    return client, index


def forwarded_scheme(forwarded_proto: str, *, index: int | None, hops: int) -> str | None:
    """The scheme the client used, from X-Forwarded-Proto (None when it names no http scheme).

    One value (a proxy that sets the header) is used as is; a list as long as X-Forwarded-For (proxies that
    append) is read at the client's entry; any other list at its last entry, the one the trusted peer wrote.
    """
    values = [value.strip().lower() for value in forwarded_proto.split(",")]
    scheme = values[index] if len(values) == hops and index is not None else values[-1]
    return scheme if scheme in _SCHEMES else None


def _headers(scope: Scope) -> tuple[str | None, str | None]:
    forwarded_for: list[str] = []
    forwarded_proto = None
    for name, value in scope["headers"]:
        if name == b"x-forwarded-for":
            forwarded_for.append(value.decode("latin-1"))
        elif name == b"x-forwarded-proto":
            forwarded_proto = value.decode("latin-1")
    return ",".join(forwarded_for) or None, forwarded_proto


class ProxyHeadersMiddleware(HttpMiddleware):
    """Rewrite the scope's client and scheme from a trusted peer's X-Forwarded-For and X-Forwarded-Proto.

    Added by create_app only when TRUSTED_PROXIES or TRUST_FORWARDED_FOR is set: otherwise it costs nothing.
    It wraps no `send`, so it adds no work to the response.
    """

    def __init__(self, app: ASGIApp, *, trusted_proxies: Sequence[Network], trust_peer: bool) -> None:
        super().__init__(app)
        self.trusted_proxies = tuple(trusted_proxies)
        self.trust_peer = trust_peer

    def peer_is_trusted(self, peer: str | None) -> bool:
        """Whether the direct peer's forwarded headers are believed."""
        return self.trust_peer or is_trusted(parse_address(peer or ""), self.trusted_proxies)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Rewrite one request's scope when its peer is trusted, then pass it on."""
        peer = scope["client"][0] if scope.get("client") else None
        if self.peer_is_trusted(peer):
            forwarded_for, forwarded_proto = _headers(scope)
            client, index = forwarded_client(peer, forwarded_for, trusted_proxies=self.trusted_proxies, trust_peer=True)
            if client != peer and client is not None:
                scope["client"] = (client, 0)
            if forwarded_proto:
                hops = len(forwarded_for.split(",")) if forwarded_for else 0
                scheme = forwarded_scheme(forwarded_proto, index=index, hops=hops)
                if scheme:
                    scope["scheme"] = scheme
        await self.app(scope, receive, send)
