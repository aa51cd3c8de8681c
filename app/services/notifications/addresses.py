"""Where a webhook may point: public addresses only, unless WEBHOOK_ALLOW_PRIVATE (server-side request forgery)."""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from app.core.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """A delivery's target cannot be reached as it stands: sending again would be refused again."""


# IPv6 prefixes whose addresses carry an IPv4 address that a translator reaches on the sender's behalf: NAT64's
# well-known prefix and its local-use one (RFC 6052, RFC 8215), and the deprecated IPv4-compatible form.
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to through NAT64, 6to4 or Teredo (Teredo's server and client)."""
    value = int(address)
    found = []
    if address in _NAT64 or address in _NAT64_LOCAL or address in _IPV4_COMPATIBLE:
        found.append(ipaddress.IPv4Address(value & 0xFFFF_FFFF))
    if address in _NAT64_LOCAL:
        # RFC 8215 leaves the layout to the operator: the /48 one (RFC 6052 §2.2, bits 48-63 and 72-87) is judged
        # too, so an address of this prefix is public only when both readings are (in practice: never).
        found.append(ipaddress.IPv4Address(((value >> 64) & 0xFFFF) << 16 | (value >> 40) & 0xFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    return found


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, multicast or reserved).

    An IPv6 address that leads to an IPv4 one (mapped, NAT64, 6to4, Teredo) is public only when that one is too:
    http://[64:ff9b::a9fe:a9fe]/ reaches 169.254.169.254 through a NAT64 gateway.
    """
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        elif not all(is_public(inner) for inner in embedded_ipv4(address)):
            return False
    return address.is_global and not address.is_multicast


# A host name's characters (IDNA names in their ASCII form, IPv6 literals without their brackets).
_HOST = re.compile(r"^[a-z0-9._:-]+$")


def literal_address(host: str) -> IPAddress | None:
    """The address a host is written as, or None for a name.

    Beyond ipaddress's dotted quads this reads what the C library's resolver takes as an IPv4 literal: 127.1,
    2130706433, 0x7f000001, 0 (all loopback or "this host").
    """
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host))
    except OSError:
        return None


def check_webhook_url(url: str, *, allow_private: bool) -> str:
    """The URL when it is http(s) with a host that is not, and does not resolve now to, a private address (else 422).

    WEBHOOK_ALLOW_PRIVATE skips the address checks. A name that does not resolve at all is accepted (sending checks).
    """
    if any(character.isspace() or not character.isprintable() for character in url):
        raise InvalidRequest("`url` must not contain spaces or control characters")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidRequest("`url` must be an http:// or https:// URL with a host")
    try:
        ascii_host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        ascii_host = ""
    if not _HOST.match(ascii_host):
        raise InvalidRequest("`url` has a host name that is not valid")
    if parts.username or parts.password:
        raise InvalidRequest("`url` must not carry a user name or password")
    try:
        port = parts.port  # raises on a port out of range
    except ValueError as error:
        raise InvalidRequest(f"`url` has an invalid port: {error}") from None
    if port == 0:  # within urlsplit's range, but nothing can be sent to it
        raise InvalidRequest("`url` has an invalid port: 0; use a port from 1 to 65535")
    if allow_private:
        return url
    name = ascii_host.rstrip(".")
    literal = literal_address(name)
    if literal is not None:
        refused = None if is_public(literal) else str(literal)
    elif name == "localhost" or name.endswith(".localhost"):
        refused = name  # RFC 6761: every *.localhost name is loopback, whatever a resolver answers
    else:
        refused = _non_public_address(name, parts.port or (443 if parts.scheme == "https" else 80))
    if refused is not None:
        raise InvalidRequest(
            f"`url` points at a loopback, private or link-local address ({refused}); set WEBHOOK_ALLOW_PRIVATE=true "
            "to allow it"
        )
    return url


def _non_public_address(host: str, port: int) -> str | None:
    """The first non-public address a host name resolves to now, or None (also when it does not resolve).

    A name that does not resolve is taken: DNS may be away for a moment, and every send resolves and checks again.
    """
    try:
        addresses = _resolved(host, port)
    except OSError:
        return None
    return next((f"{host} is {address}" for address in addresses if not is_public(address)), None)


def _resolved(host: str, port: int) -> list[IPAddress]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]


def resolve_for_sending(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`, resolved now (a name may have changed since the subscription).

    Every address the name has must be public: connecting to the one checked keeps a DNS answer that changes
    between the check and the connection (rebinding) from reaching an internal service.
    """
    try:
        addresses = _resolved(host, port)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host!r}: {error.strerror}") from None
    if not allow_private:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise RefusedAddress(f"{host!r} resolves to a non-public address ({refused[0]}); not sent")
    return str(addresses[0])
