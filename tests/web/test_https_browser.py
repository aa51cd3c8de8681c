"""In Chromium over HTTPS (uvicorn serving TLS with a certificate made for the test): signing in and the /score form
work on `__Host-` cookies alone, and a plain-named session cookie, as a sibling host could toss one, signs nobody in."""

from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from app.core.roles import Role
from tests.accounts import PASSWORD, database_with_users
from tests.live_server import live_server
from tests.tls import self_signed_certificate

pytestmark = pytest.mark.slow


@pytest.fixture
def https_server(model_dir, tmp_path) -> Iterator[str]:
    """The app under uvicorn serving HTTPS itself, with an analyst to sign in as."""
    certificate = self_signed_certificate(tmp_path)  # skips without openssl, and fails for that under CI=true
    url = database_with_users(f"sqlite:///{tmp_path / 'accounts.sqlite3'}", {"ann@example.com": Role.analyst})
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "DATABASE_URL": url,
        "SCORE_RESULTS_DIR": str(tmp_path / "results"),
    }
    tls = ("--ssl-keyfile", str(certificate.keyfile), "--ssl-certfile", str(certificate.certfile))
    with live_server(env, tmp_path / "server.log", extra_args=tls, tls=certificate.client_context()) as server:
        yield server.url


def test_sign_in_and_score_over_https_on_host_cookies_only(browser, https_server, default_data):
    context = browser.new_context(ignore_https_errors=True)
    page = context.new_page()
    page.goto(f"{https_server}/login?next=/score")
    page.fill("#login-email", "ann@example.com")
    page.fill("#login-password", PASSWORD)
    page.click(".login-form button[type=submit]")
    page.wait_for_url("**/score")
    expect(page.locator('[data-role="signed-in"]')).to_have_text("ann@example.com")

    page.set_input_files("#score-file", str(default_data))
    page.click("#score-submit")
    expect(page.locator("#result-title")).to_have_text("200 customers scored")

    kept = context.cookies()
    assert {cookie["name"] for cookie in kept} == {"__Host-login_form", "__Host-session", "__Host-score_form"}
    assert all(cookie["secure"] and cookie["path"] == "/" and cookie["httpOnly"] for cookie in kept)
    session = next(cookie["value"] for cookie in kept if cookie["name"] == "__Host-session")
    context.close()

    # Another browser given the same token under the plain name, the one a sibling host can set: nobody signed in.
    tossed = browser.new_context(ignore_https_errors=True)
    host = urlsplit(https_server).hostname
    tossed.add_cookies([{"name": "session", "value": session, "domain": host, "path": "/", "secure": True}])
    other = tossed.new_page()
    other.goto(f"{https_server}/about")
    expect(other.locator('[data-role="sign-in"]')).to_be_visible()
    expect(other.locator('[data-role="signed-in"]')).to_have_count(0)
    tossed.close()
