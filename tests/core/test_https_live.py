"""FORCE_HTTPS on real uvicorn servers: one serving TLS itself (a self-signed certificate made in the test), and one
serving plain HTTP behind a small TLS-terminating proxy that it trusts, and only it."""

import http.client
import json
import ssl
from urllib.parse import urlsplit

import pytest

from tests.live_server import live_server
from tests.tls import Certificate, TlsTerminatingProxy, self_signed_certificate

pytestmark = pytest.mark.slow

CUSTOMER = json.dumps({"annual_income": 55, "spending_score": 50}).encode()


@pytest.fixture
def certificate(tmp_path) -> Certificate:
    """A self-signed certificate for 127.0.0.1, made for this test."""
    return self_signed_certificate(tmp_path)  # skips without openssl, and fails for that under CI=true


def fetch(
    url: str, *, method: str = "GET", body: bytes | None = None, headers: dict | None = None, tls=None
) -> http.client.HTTPResponse:
    """One request on a new connection (redirects not followed); the response, body read."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=10, context=tls)
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    sent = {"Content-Type": "application/json", **(headers or {})} if body is not None else headers or {}
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), body=body, headers=sent)
    response = connection.getresponse()
    response.body = response.read()
    connection.close()
    return response


def cookies(response: http.client.HTTPResponse) -> list[str]:
    return response.headers.get_all("set-cookie") or []


def test_uvicorn_serving_tls_itself_sends_hsts_and_secure_cookies(model_dir, tmp_path, certificate):
    tls = certificate.client_context()
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "FORCE_HTTPS": "true", "HSTS_MAX_AGE": "86400"}
    args = ("--ssl-keyfile", str(certificate.keyfile), "--ssl-certfile", str(certificate.certfile))
    with live_server(env, tmp_path / "tls.log", extra_args=("--no-proxy-headers", *args), tls=tls) as server:
        assert server.url.startswith("https://")
        page = fetch(f"{server.url}/score", tls=tls)
        predicted = fetch(f"{server.url}/api/v1/predict", method="POST", body=CUSTOMER, tls=tls)
        with pytest.raises(ssl.SSLCertVerificationError):
            fetch(f"{server.url}/livez", tls=ssl.create_default_context())  # really TLS, with our certificate
    assert page.status == 200
    assert page.headers["strict-transport-security"] == "max-age=86400; includeSubDomains"
    form_cookies = cookies(page)
    assert form_cookies and all("; secure" in cookie.lower() for cookie in form_cookies)
    assert predicted.status == 200 and json.loads(predicted.body)["segment_id"] is not None
    assert predicted.headers["strict-transport-security"] == "max-age=86400; includeSubDomains"


def test_plain_uvicorn_behind_a_trusted_tls_proxy_redirects_direct_http_only(model_dir, tmp_path, certificate):
    tls = certificate.client_context()
    with TlsTerminatingProxy(certificate, source="127.0.0.2").running() as proxy:
        public = f"https://127.0.0.1:{proxy.port}"
        env = {
            "MODEL_DIR": str(model_dir),
            "AUTO_TRAIN": "false",
            "FORCE_HTTPS": "true",
            "PUBLIC_URL": public,
            # The proxy connects from 127.0.0.2; direct callers come from 127.0.0.1, which is not trusted.
            "TRUSTED_PROXIES": "127.0.0.2/32",
            "METRICS_ALLOWED_NETWORKS": "127.0.0.1/32",
        }
        with live_server(env, tmp_path / "plain.log", extra_args=("--no-proxy-headers",), ready_path="/livez") as app:
            proxy.backend_port = urlsplit(app.url).port
            redirected = fetch(f"{app.url}/about?segmentation=default")
            posted = fetch(f"{app.url}/api/v1/predict", method="POST", body=CUSTOMER)
            # A direct caller cannot claim HTTPS: it is not the trusted proxy.
            forged = fetch(f"{app.url}/about", headers={"X-Forwarded-Proto": "https"})
            probes = {path: fetch(f"{app.url}{path}").status for path in ("/livez", "/readyz", "/metrics")}
            # Following the redirects: through the proxy, over TLS, to the same server.
            followed = fetch(redirected.headers["location"], tls=tls)
            reposted = fetch(posted.headers["location"], method="POST", body=CUSTOMER, tls=tls)
            page = fetch(f"{public}/score", tls=tls)
            # The app sees the proxy's client (127.0.0.1, allowed), not the proxy's own 127.0.0.2 (not allowed).
            scraped = fetch(f"{public}/metrics", tls=tls)
    assert redirected.status == 308 and redirected.headers["location"] == f"{public}/about?segmentation=default"
    assert posted.status == 308 and posted.headers["location"] == f"{public}/api/v1/predict"
    assert "strict-transport-security" not in redirected.headers
    assert forged.status == 308
    assert probes == {"/livez": 200, "/readyz": 200, "/metrics": 200}
    assert followed.status == 200 and followed.headers["strict-transport-security"].startswith("max-age=31536000")
    assert reposted.status == 200 and json.loads(reposted.body)["segment_id"] is not None
    assert page.status == 200 and all("; secure" in cookie.lower() for cookie in cookies(page)) and cookies(page)
    assert scraped.status == 200
