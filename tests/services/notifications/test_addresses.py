"""Which addresses a webhook may reach: IPv6 forms of a private IPv4 address, and names resolving to one, are not."""

import ipaddress

import pytest

from app.core.errors import InvalidRequest
from app.services.notifications.addresses import check_webhook_url, is_public


@pytest.mark.parametrize(
    "address",
    [
        "64:ff9b::a9fe:a9fe",  # NAT64 (well-known prefix) to 169.254.169.254
        "64:ff9b::a00:1",  # NAT64 to 10.0.0.1
        "64:ff9b:1::a9fe:a9fe",  # NAT64 (local-use prefix), /96 layout
        "64:ff9b:1:a9fe:a9:fe00::",  # NAT64 (local-use prefix), /48 layout
        "2002:a9fe:a9fe::",  # 6to4 of 169.254.169.254
        "2002:7f00:1::1",  # 6to4 of 127.0.0.1
        "2001:0:4136:e378:8000:63bf:5601:5601",  # Teredo, client 169.254.169.254
        "::127.0.0.1",  # IPv4-compatible (deprecated)
        "::ffff:127.0.0.1",
    ],
)
def test_ipv6_forms_of_a_private_ipv4_address_are_not_public(address):
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "64:ff9b::808:808", "2002:808:808::1", "::ffff:8.8.8.8", "2606:4700::1"]
)
def test_public_addresses_and_ipv6_forms_of_public_ipv4_stay_public(address):
    assert is_public(ipaddress.ip_address(address))


def _answers(*addresses: str):
    """A socket.getaddrinfo that resolves every name to `addresses`."""
    import socket

    def getaddrinfo(host, port, *args, **kwargs):
        return [
            (socket.AF_INET6 if ":" in a else socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, port)) for a in addresses
        ]

    return getaddrinfo


@pytest.mark.parametrize(
    "addresses", [("127.0.0.1",), ("::1",), ("10.0.0.5",), ("fe80::1%eth0",), ("93.184.215.14", "192.168.1.2")]
)
def test_a_name_resolving_to_any_non_public_address_is_refused(monkeypatch, addresses):
    monkeypatch.setattr("app.services.notifications.addresses.socket.getaddrinfo", _answers(*addresses))
    with pytest.raises(InvalidRequest, match="WEBHOOK_ALLOW_PRIVATE"):
        check_webhook_url("https://hooks.example.com/h", allow_private=False)
    assert check_webhook_url("https://hooks.example.com/h", allow_private=True) == "https://hooks.example.com/h"


def test_a_name_resolving_to_public_addresses_only_is_taken(monkeypatch):
    monkeypatch.setattr("app.services.notifications.addresses.socket.getaddrinfo", _answers("93.184.215.14"))
    assert check_webhook_url("https://hooks.example.com/h", allow_private=False) == "https://hooks.example.com/h"


def test_a_name_that_does_not_resolve_is_taken_and_checked_at_each_send(monkeypatch):
    import socket

    def nowhere(*args, **kwargs):
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr("app.services.notifications.addresses.socket.getaddrinfo", nowhere)
    assert check_webhook_url("https://hooks.example.com/h", allow_private=False) == "https://hooks.example.com/h"


@pytest.mark.parametrize("host", ["localhost", "localhost.", "a.localhost", "b.a.LocalHost."])
def test_localhost_names_are_refused_without_asking_a_resolver(monkeypatch, host):
    def unasked(*args, **kwargs):
        raise AssertionError("resolved")

    monkeypatch.setattr("app.services.notifications.addresses.socket.getaddrinfo", unasked)
    with pytest.raises(InvalidRequest, match="loopback"):
        check_webhook_url(f"http://{host}/h", allow_private=False)
