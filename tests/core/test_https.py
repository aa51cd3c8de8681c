"""FORCE_HTTPS: redirects of plain HTTP (never the probes or /metrics), HSTS, and Secure cookies."""

import asyncio

import pytest

from app.core import cookies
from app.core.https import ForceHttpsMiddleware, hsts_value, https_location, is_https
from app.core.proxy import ProxyHeadersMiddleware
from app.main import create_app

HSTS = "max-age=31536000; includeSubDomains"
# The headers every answer carries (app/core/middleware.py), a redirect included.
SECURITY_HEADER_NAMES = (
    "content-security-policy",
    "x-content-type-options",
    "referrer-policy",
    "x-frame-options",
    "permissions-policy",
)


def call(middleware, *, scheme: str, path: str = "/", headers=(), query: bytes = b"", root_path: str = "") -> dict:
    """Run one request through `middleware`; the response's status and headers (decoded)."""
    sent: list[dict] = []
    scope = {
        "type": "http", "method": "POST", "scheme": scheme, "path": path, "raw_path": path.encode(),
        "query_string": query, "root_path": root_path, "headers": [(b"host", b"segments.example.com:8080"), *headers],
        "server": ("127.0.0.1", 8080),
    }  # fmt: skip

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(middleware(scope, None, send))
    start = sent[0]
    return {"status": start["status"], "headers": [(k.decode(), v.decode()) for k, v in start["headers"]]}


async def app_with_cookies(scope, receive, send) -> None:
    """An app that answers 200 with two cookies, one already Secure."""
    headers = [(b"set-cookie", b"a=1; Path=/; HttpOnly"), (b"set-cookie", b"b=2; Secure; Path=/")]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": b"ok"})


def force(public_url: str | None = None) -> ForceHttpsMiddleware:
    hsts = hsts_value(max_age=31_536_000, include_subdomains=True)
    return ForceHttpsMiddleware(app_with_cookies, hsts=hsts, public_url=public_url)


def test_plain_http_is_redirected_with_308_to_the_same_path_and_query_on_https():
    answer = call(force(), scheme="http", path="/api/v1/predict", query=b"x=1&y=%20")
    assert answer["status"] == 308
    assert dict(answer["headers"])["location"] == "https://segments.example.com/api/v1/predict?x=1&y=%20"


def test_redirect_goes_to_public_url_when_it_is_https():
    answer = call(force("https://segments.example.com:8443"), scheme="http", path="/score")
    assert answer["status"] == 308
    assert dict(answer["headers"])["location"] == "https://segments.example.com:8443/score"


def test_redirect_brackets_an_ipv6_host():
    ipv6 = {"type": "http", "headers": [(b"host", b"[2001:db8::1]:8000")], "path": "/p", "raw_path": b"/p"}
    assert https_location(ipv6, None) == b"https://[2001:db8::1]/p"


@pytest.mark.parametrize("path", ["/livez", "/readyz", "/metrics"])
def test_probes_and_metrics_are_never_redirected(path):
    answer = call(force(), scheme="http", path=path)
    assert answer["status"] == 200
    # HSTS over plain HTTP means nothing (RFC 6797): only HTTPS answers carry it.
    assert "strict-transport-security" not in dict(answer["headers"])
    behind_prefix = call(force(), scheme="http", path=f"/segments{path}", root_path="/segments")
    assert behind_prefix["status"] == 200


def test_https_answers_carry_hsts_and_only_secure_cookies():
    answer = call(force(), scheme="https", path="/score")
    assert answer["status"] == 200
    headers = answer["headers"]
    assert ("strict-transport-security", HSTS) in headers
    cookies = [value for name, value in headers if name == "set-cookie"]
    assert cookies == ["a=1; Path=/; HttpOnly; Secure", "b=2; Secure; Path=/"]


def test_hsts_value_follows_the_settings():
    assert hsts_value(max_age=600, include_subdomains=False) == b"max-age=600"
    assert hsts_value(max_age=0, include_subdomains=True) == b"max-age=0; includeSubDomains"


def test_is_https_reads_the_scheme():
    assert is_https({"scheme": "https"}) and not is_https({"scheme": "http"}) and not is_https({})


def score_cookie(answer) -> str:
    sent = answer.headers.multi_items()
    return next(value for name, value in sent if name == "set-cookie" and cookies.SCORE_FORM in value)


def test_app_redirects_plain_http_but_serves_probes(client_for_peer):
    client = client_for_peer(("127.0.0.1", 1), force_https=True)
    for method, path in (("GET", "/about?x=1"), ("POST", "/api/v1/predict")):
        answer = client.request(method, path, json={"annual_income": 55, "spending_score": 50})
        assert answer.status_code == 308, path
        assert answer.headers["location"] == f"https://testserver{path}"
        assert answer.headers["x-request-id"]  # redirects are reported like any answer
    for path in ("/livez", "/readyz", "/metrics"):
        assert client.get(path).status_code == 200, path


def test_app_over_https_sends_hsts_and_a_secure_form_cookie(client_for_peer):
    client = client_for_peer(("203.0.113.9", 1), scheme="https", force_https=True, hsts_max_age=600)
    answer = client.get("/score")
    assert answer.status_code == 200
    assert answer.headers["strict-transport-security"] == "max-age=600; includeSubDomains"
    assert "; secure" in score_cookie(answer).lower()
    # Request ids and the security headers are still there: the middleware adds, it does not replace.
    assert answer.headers["x-request-id"] and answer.headers["x-content-type-options"] == "nosniff"


def test_form_cookie_is_a_secure_host_cookie_exactly_when_a_trusted_proxy_says_https(client_for_peer):
    proxied = client_for_peer(("10.0.0.1", 1), trusted_proxies="10.0.0.0/8")
    over_https = score_cookie(proxied.get("/score", headers={"X-Forwarded-Proto": "https"}))
    assert "; secure" in over_https.lower() and over_https.startswith("__Host-score_form=")
    over_http = score_cookie(proxied.get("/score", headers={"X-Forwarded-Proto": "http"}))
    assert "; secure" not in over_http.lower() and over_http.startswith("score_form=")
    untrusted = client_for_peer(("203.0.113.9", 1), trusted_proxies="10.0.0.0/8")
    forged = score_cookie(untrusted.get("/score", headers={"X-Forwarded-Proto": "https"}))
    assert "; secure" not in forged.lower() and forged.startswith("score_form=")


def test_force_https_believes_a_trusted_proxys_scheme_only(client_for_peer):
    settings = {"force_https": True, "trusted_proxies": "10.0.0.0/8"}
    proxied = client_for_peer(("10.0.0.1", 1), **settings)
    answer = proxied.get("/about", headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 200 and answer.headers["strict-transport-security"] == HSTS
    assert proxied.get("/about", headers={"X-Forwarded-Proto": "http"}).status_code == 308
    forged = client_for_peer(("203.0.113.9", 1), **settings).get("/about", headers={"X-Forwarded-Proto": "https"})
    assert forged.status_code == 308


def test_without_force_https_nothing_is_redirected_or_added(client_for_peer):
    answer = client_for_peer(("203.0.113.9", 1)).get("/about")
    assert answer.status_code == 200
    assert "strict-transport-security" not in answer.headers


def test_neither_layer_is_added_unless_configured(make_settings):
    # The predict path pays for these layers only when a deployment asks for them.
    def layers(**overrides) -> set[type]:
        return {layer.cls for layer in create_app(make_settings(**overrides)).user_middleware}

    assert not {ForceHttpsMiddleware, ProxyHeadersMiddleware} & layers()
    assert {ForceHttpsMiddleware, ProxyHeadersMiddleware} <= layers(force_https=True, trusted_proxies="10.0.0.0/8")
    assert ProxyHeadersMiddleware in layers(trust_forwarded_for=True)


@pytest.mark.parametrize("path", ["/about", "/api/v1/clusters/info", "/docs"])
def test_a_redirect_carries_the_security_headers_of_the_answer_it_stands_for(client_for_peer, path):
    redirect = client_for_peer(("127.0.0.1", 1), force_https=True).get(path)
    served = client_for_peer(("127.0.0.1", 1), scheme="https", force_https=True).get(path)
    assert (redirect.status_code, served.status_code) == (308, 200)
    for name in SECURITY_HEADER_NAMES:
        assert redirect.headers.get(name) == served.headers[name], name
    assert redirect.headers.get_list("cache-control") == ["no-store"]


def test_the_redirect_layer_alone_sends_the_security_headers_and_no_store():
    headers = call(force(), scheme="http", path="/score")["headers"]
    assert {name for name, _ in headers} >= {*SECURITY_HEADER_NAMES, "cache-control"}
    assert [value for name, value in headers if name == "cache-control"] == ["no-store"]
