"""Which addresses a webhook may reach: IPv6 forms that lead to a private IPv4 address are not public."""

import ipaddress

import pytest

from app.services.notifications.addresses import is_public


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
