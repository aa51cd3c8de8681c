"""The sign-in page: a session cookie (HttpOnly, SameSite=Lax, hashed in the database), CSRF, logout and expiry."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from app.db.tables import LoginSession
from tests.accounts import PASSWORD, add_user, csrf_of, sign_in


@pytest.fixture
def site(client_for, two_versions, tmp_path):
    client = client_for(model_dir=two_versions[0], database_url=f"sqlite:///{tmp_path / 'accounts.sqlite3'}")
    add_user(client.app, "ada@example.com", "admin")
    add_user(client.app, "vic@example.com", "viewer")
    return client


def _login_form(client):
    page = client.get("/login")
    return re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)


def test_login_sets_an_httponly_samesite_cookie_whose_hash_is_stored(site):
    token = _login_form(site)
    response = site.post(
        "/login", data={"email": "ada@example.com", "password": PASSWORD, "form_token": token}, follow_redirects=False
    )
    assert response.status_code == 303
    cookie = next(
        value for name, value in response.headers.multi_items() if name == "set-cookie" and "session=" in value
    )
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Secure" not in cookie  # plain HTTP in the test
    value = re.search(r"session=([^;]+)", cookie).group(1)
    with site.app.state.db_sessions() as session:
        stored = [row.token_hash for row in session.query(LoginSession)]
    assert value not in stored and len(stored) == 1
    assert "ada@example.com" in site.get("/about").text


def test_wrong_password_shows_the_form_again_with_one_message(site):
    token = _login_form(site)
    wrong = site.post("/login", data={"email": "ada@example.com", "password": "nope nope nope", "form_token": token})
    unknown = site.post("/login", data={"email": "who@example.com", "password": PASSWORD, "form_token": token})
    assert wrong.status_code == unknown.status_code == 401
    message = re.search(r'id="login-error"[^>]*>([^<]+)<', wrong.text).group(1)
    assert message == re.search(r'id="login-error"[^>]*>([^<]+)<', unknown.text).group(1)
    assert "session=" not in wrong.headers.get("set-cookie", "")


def test_wrong_password_keeps_the_email_never_the_password_and_says_a_sentence(site):
    token = _login_form(site)
    wrong = site.post("/login", data={"email": "ada@example.com", "password": "nope nope nope", "form_token": token})
    assert wrong.status_code == 401
    assert re.search(
        r'<p class="banner" role="alert" id="login-error" tabindex="-1" autofocus>Wrong email or password\.<',
        wrong.text,
    )
    assert re.search(r'id="login-email"[^>]*value="ada@example.com"[^>]*aria-describedby="login-error"', wrong.text)
    assert "nope nope nope" not in wrong.text


def test_login_form_without_its_token_is_refused(site):
    site.get("/login")
    response = site.post("/login", data={"email": "ada@example.com", "password": PASSWORD, "form_token": "x" * 43})
    assert response.status_code == 403
    assert "session=" not in response.headers.get("set-cookie", "")


def test_a_session_activates_with_its_csrf_header_and_not_without(site, two_versions):
    csrf = sign_in(site, "ada@example.com")
    versions = site.get("/api/v1/models").json()["versions"]
    inactive = next(v["version"] for v in versions if not v["active"])
    forged = site.post(f"/api/v1/models/{inactive}/activate")
    assert forged.status_code == 403 and "x-csrf-token" in forged.json()["message"]
    done = site.post(f"/api/v1/models/{inactive}/activate", headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200
    history = site.get("/api/v1/models/history").json()
    assert "ada@example.com" in str(history)


def test_cross_site_form_post_with_the_session_cookie_is_refused(site):
    csrf = sign_in(site, "ada@example.com")
    # What another site's auto-submitting form sends: the cookie (were it not SameSite), no token, its own Origin.
    logout = site.post("/logout", data={}, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert logout.status_code == 403
    no_token = site.post("/logout", data={"form_token": "0" * 64})
    assert no_token.status_code == 403
    rollback = site.post("/api/v1/models/rollback", data={"reason": "x"}, headers={"Sec-Fetch-Site": "cross-site"})
    assert rollback.status_code == 403
    assert "ada@example.com" in site.get("/about").text  # still signed in: nothing above went through
    assert csrf


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("/login", "sign-in is refused from pages of other sites"),
        ("/logout", "this form is refused from pages of other sites"),
        ("/models/segmentations/new", "this form is refused from pages of other sites"),
        ("/users", "this form is refused from pages of other sites"),
    ],
)
def test_a_cross_site_form_is_refused_in_words_that_fit_it(site, url, words):
    refused = site.post(url, data={}, headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"})
    assert refused.status_code == 403
    assert words in refused.text
    assert "scored" not in refused.text


def test_logout_ends_the_session_everywhere(site):
    sign_in(site, "ada@example.com")
    cookie = site.cookies.get("session")
    assert site.get("/api/v1/auth/keys").status_code == 200
    response = site.post("/logout", data={"form_token": csrf_of(site)}, follow_redirects=False)
    assert response.status_code == 303
    assert site.get("/api/v1/auth/keys").status_code == 401
    site.cookies.set("session", cookie)  # a copy of the old cookie: revoked in the database
    assert site.get("/api/v1/auth/keys").status_code == 401


def test_an_expired_session_ends(site):
    sign_in(site, "ada@example.com")
    assert site.get("/api/v1/auth/keys").status_code == 200
    with site.app.state.db_sessions() as session:
        session.execute(update(LoginSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
        session.commit()
    assert site.get("/api/v1/auth/keys").status_code == 401
    assert "Sign in" in site.get("/about").text
    # The next sign-in clears what can no longer sign anyone in: the table keeps live sessions only.
    sign_in(site, "ada@example.com")
    with site.app.state.db_sessions() as session:
        assert session.query(LoginSession).count() == 1


def test_session_lasts_session_ttl(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", session_ttl=120)
    add_user(client.app, "ada@example.com", "admin")
    sign_in(client, "ada@example.com")
    with client.app.state.db_sessions() as session:
        login = session.query(LoginSession).one()
        assert login.expires_at - login.created_at == timedelta(seconds=120)


def test_models_page_uses_the_session_instead_of_the_key_field(site):
    sign_in(site, "ada@example.com")
    page = site.get("/models")
    assert page.status_code == 200
    assert 'id="admin-key"' not in page.text and 'data-csrf="' in page.text
    assert 'data-action="activate"' in page.text


def test_a_viewer_sees_no_admin_buttons(site):
    sign_in(site, "vic@example.com")
    page = site.get("/models")
    assert page.status_code == 200
    assert 'data-action="activate"' not in page.text and 'id="admin-key"' not in page.text
    assert "vic@example.com" in page.text


def test_next_never_leads_to_another_site(site):
    token = _login_form(site)
    response = site.post(
        "/login",
        data={"email": "ada@example.com", "password": PASSWORD, "form_token": token, "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/"


def test_pages_need_a_viewer_when_reads_are_closed(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", public_reads=False)
    add_user(client.app, "vic@example.com", "viewer")
    assert client.get("/about").status_code == 401
    assert client.get("/login").status_code == 200
    sign_in(client, "vic@example.com")
    assert client.get("/about").status_code == 200


def test_score_form_is_hidden_from_a_viewer_when_reads_are_closed(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", public_reads=False)
    add_user(client.app, "vic@example.com", "viewer")
    add_user(client.app, "ann@example.com", "analyst")
    sign_in(client, "vic@example.com")
    page = client.get("/score")
    assert page.status_code == 200 and 'id="score-form"' not in page.text and 'id="score-off"' in page.text
    client.post("/logout", data={"form_token": csrf_of(client)})
    sign_in(client, "ann@example.com")
    assert 'id="score-form"' in client.get("/score").text


def test_account_page_lists_the_keys_made_with_the_session(site):
    assert site.get("/account", follow_redirects=False).status_code == 303  # nobody signed in: to /login
    sign_in(site, "vic@example.com")
    page = site.get("/account")
    assert page.status_code == 200 and "vic@example.com" in page.text
    csrf = re.search(r'id="keys" data-csrf="([^"]+)"', page.text).group(1)
    assert re.findall(r'<option value="(\w+)"', page.text) == ["viewer"]  # no role above the user's own
    created = site.post("/api/v1/auth/keys", json={"name": "laptop"}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201
    listed = site.get("/account").text
    assert "laptop" in listed and created.json()["key"] not in listed
    assert site.post("/api/v1/auth/keys", json={"name": "forged"}).status_code == 403  # no CSRF header


def test_home_page_predictions_carry_the_sessions_csrf_token_when_reads_are_closed(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", public_reads=False)
    add_user(client.app, "vic@example.com", "viewer")
    body = {"annual_income": 50, "spending_score": 50}
    assert client.post("/api/v1/predict", json=body).status_code == 401
    sign_in(client, "vic@example.com")
    home = client.get("/")
    token = re.search(r'<meta name="csrf-token" content="([^"]+)">', home.text).group(1)
    assert client.post("/api/v1/predict", json=body, headers={"X-CSRF-Token": token}).status_code == 200
    assert client.post("/api/v1/predict", json=body).status_code == 403
