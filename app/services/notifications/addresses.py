"""Where a webhook may point: public addresses only, unless WEBHOOK_ALLOW_PRIVATE (server-side request forgery)."""

import ipaddress
import re
import socket
from urllib.parse import urlsplit

from app.core.errors import InvalidRequest

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class RefusedAddress(Exception):
    """A webhook's host is, or resolves to, an address it may not reach."""


def is_public(address: IPAddress) -> bool:
    """True for a globally routable unicast address (not loopback, private, link-local, multicast or reserved)."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
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
    """The URL when it is http(s) with a host, and not a literal private address unless allowed (else 422)."""
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
        parts.port  # noqa: B018 - raises on a port out of range
    except ValueError as error:
        raise InvalidRequest(f"`url` has an invalid port: {error}") from None
    if allow_private:
        return url
    literal = literal_address(ascii_host)
    if (literal is not None and not is_public(literal)) or parts.hostname.lower().rstrip(".") in ("localhost",):
        raise InvalidRequest(
            "`url` points at a loopback, private or link-local address; set WEBHOOK_ALLOW_PRIVATE=true to allow it"
        )
    return url


def resolve_for_sending(host: str, port: int, *, allow_private: bool) -> str:
    """The address to connect to for `host`, resolved now (a name may have changed since the subscription).

    Every address the name has must be public: connecting to the one checked keeps a DNS answer that changes
    between the check and the connection (rebinding) from reaching an internal service.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise OSError(f"cannot resolve {host!r}: {error.strerror}") from None
    addresses = [ipaddress.ip_address(info[4][0].split("%", 1)[0]) for info in infos]
    if not allow_private:
        refused = [str(address) for address in addresses if not is_public(address)]
        if refused:
            raise RefusedAddress(f"{host!r} resolves to a non-public address ({refused[0]}); not sent")
    return str(addresses[0])
