"""The one rule for the client address and scheme behind proxies (app/core/proxy.py), and the app that uses it."""

import asyncio
from ipaddress import ip_network

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.core.proxy import ProxyHeadersMiddleware, forwarded_client, forwarded_scheme, parse_address

PROXIES = [ip_network("10.0.0.0/8"), ip_network("fd00::/8")]


def client_of(peer: str, forwarded_for: str | None, *, trust_peer: bool = False) -> str | None:
    return forwarded_client(peer, forwarded_for, trusted_proxies=PROXIES, trust_peer=trust_peer)[0]


def test_forwarded_for_from_an_untrusted_peer_is_ignored():
    assert client_of("203.0.113.9", "198.51.100.1") == "203.0.113.9"


def test_forwarded_for_from_a_peer_in_a_trusted_network_names_the_client():
    assert client_of("10.1.2.3", "198.51.100.1") == "198.51.100.1"
    assert client_of("fd00::5", "2001:db8::1") == "2001:db8::1"


def test_chain_skips_trusted_hops_from_the_right_and_stops_at_the_first_other():
    # The client forged the first entry; the edge proxy 10.0.0.2 appended the real client, 198.51.100.7.
    assert client_of("10.0.0.1", "192.0.2.66, 198.51.100.7, 10.0.0.2") == "198.51.100.7"


def test_chain_of_only_trusted_hops_ends_at_the_leftmost():
    assert client_of("10.0.0.1", "10.0.0.3, 10.0.0.2") == "10.0.0.3"


def test_entry_that_is_no_address_stops_at_the_last_good_hop():
    assert client_of("10.0.0.1", "198.51.100.7, not-an-ip") == "10.0.0.1"
    assert client_of("10.0.0.1", "garbage, 10.0.0.2") == "10.0.0.2"


def test_trust_forwarded_for_trusts_any_direct_peer_and_takes_the_last_entry():
    assert client_of("203.0.113.9", "192.0.2.66, 198.51.100.1", trust_peer=True) == "198.51.100.1"
    # The proxy list still lets a chain through known proxies.
    assert client_of("203.0.113.9", "198.51.100.1, 10.0.0.2", trust_peer=True) == "198.51.100.1"


def test_forwarded_entries_with_ports_are_read_as_addresses():
    assert parse_address(" 198.51.100.1:4711") == ip_network("198.51.100.1/32").network_address
    assert str(parse_address("[2001:db8::1]:443")) == "2001:db8::1"
    assert parse_address("unknown") is None


def test_forwarded_scheme_reads_one_value_or_the_clients_entry():
    assert forwarded_scheme("HTTPS", index=None, hops=0) == "https"
    # Appending proxies: one entry per X-Forwarded-For hop; the client's hop is the one the user chose.
    assert forwarded_scheme("https, http", index=0, hops=2) == "https"
    # A list that does not line up: the last entry, which the trusted peer wrote.
    assert forwarded_scheme("https, http", index=0, hops=3) == "http"
    assert forwarded_scheme("gopher", index=None, hops=0) is None


def seen_by_app(headers: dict[str, str], *, peer: str, scheme: str = "http", **rule) -> tuple[str, str]:
    """The (client, scheme) the app below the middleware sees for one request."""
    seen: list[tuple[str, str]] = []

    async def app(scope, receive, send) -> None:
        seen.append((scope["client"][0], scope["scheme"]))

    middleware = ProxyHeadersMiddleware(app, **{"trusted_proxies": PROXIES, "trust_peer": False, **rule})
    scope = {
        "type": "http", "method": "GET", "path": "/", "scheme": scheme, "client": (peer, 50_000),
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }  # fmt: skip
    asyncio.run(middleware(scope, None, None))
    return seen[0]


def test_middleware_rewrites_client_and_scheme_for_a_trusted_peer():
    headers = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    assert seen_by_app(headers, peer="10.9.9.9") == ("198.51.100.1", "https")


def test_middleware_leaves_an_untrusted_peers_scope_alone():
    headers = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    assert seen_by_app(headers, peer="203.0.113.9") == ("203.0.113.9", "http")
    # Nor can a client downgrade a real TLS connection.
    assert seen_by_app({"X-Forwarded-Proto": "http"}, peer="203.0.113.9", scheme="https") == ("203.0.113.9", "https")


def test_middleware_takes_the_scheme_without_forwarded_for():
    assert seen_by_app({"X-Forwarded-Proto": "https"}, peer="10.0.0.1") == ("10.0.0.1", "https")
    assert seen_by_app({"X-Forwarded-Proto": "bogus"}, peer="10.0.0.1") == ("10.0.0.1", "http")


def test_middleware_with_trust_forwarded_for_believes_any_peer():
    headers = {"X-Forwarded-For": "198.51.100.1", "X-Forwarded-Proto": "https"}
    assert seen_by_app(headers, peer="203.0.113.9", trusted_proxies=[], trust_peer=True) == ("198.51.100.1", "https")


def test_trusted_proxies_setting_reads_cidrs_like_the_metrics_networks():
    settings = Settings(_env_file=None, trusted_proxies="10.0.0.0/8, 192.168.1.7/32,fd00::/8")
    assert settings.trusted_proxies == [ip_network("10.0.0.0/8"), ip_network("192.168.1.7/32"), ip_network("fd00::/8")]
    assert Settings(_env_file=None, trusted_proxies='["127.0.0.1/32"]').trusted_proxies == [ip_network("127.0.0.1/32")]
    assert Settings(_env_file=None).trusted_proxies == []
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(_env_file=None, trusted_proxies="not-a-network")


CUSTOMER = {"annual_income": 55, "spending_score": 50}


def test_rate_limit_counts_clients_behind_trusted_proxies_only(client_for_peer):
    proxied = client_for_peer(("10.0.0.1", 1), rate_limit_predict="1/minute", trusted_proxies="10.0.0.0/8")
    for address in ("198.51.100.1", "198.51.100.2"):
        answer = proxied.post("/api/v1/predict", json=CUSTOMER, headers={"X-Forwarded-For": f"{address}, 10.0.0.2"})
        assert answer.status_code == 200, address
    again = proxied.post("/api/v1/predict", json=CUSTOMER, headers={"X-Forwarded-For": "198.51.100.1"})
    assert again.status_code == 429

    direct = client_for_peer(("203.0.113.9", 1), rate_limit_predict="1/minute", trusted_proxies="10.0.0.0/8")
    assert direct.post("/api/v1/predict", json=CUSTOMER, headers={"X-Forwarded-For": "198.51.100.3"}).status_code == 200
    spoofed = direct.post("/api/v1/predict", json=CUSTOMER, headers={"X-Forwarded-For": "198.51.100.4"})
    assert spoofed.status_code == 429


def test_metrics_networks_see_the_forwarded_client(client_for_peer):
    proxy = client_for_peer(("10.0.0.1", 1), trusted_proxies="10.0.0.0/8", metrics_allowed_networks="10.0.0.0/8")
    # The proxy itself may scrape; a client it forwards from outside may not.
    assert proxy.get("/metrics").status_code == 200
    assert proxy.get("/metrics", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 403
