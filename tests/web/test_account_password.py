"""The /account page's password form: the current password first, the session's form token, other sessions end."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.accounts import PASSWORD, add_user, sign_in

HTML = {"accept": "text/html"}
NEW = "a brand new passphrase"


@pytest.fixture
def site(client_for, fresh_dir, tmp_path):
    client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'account.sqlite3'}")
    add_user(client.app, "vic@example.com", "viewer")
    return client


def _form_token(client) -> str:
    page = client.get("/account", headers=HTML)
    return re.search(r'id="password-form".*?name="form_token" value="([^"]+)"', page.text, re.S).group(1)


def _change(client, token: str, *, current: str = PASSWORD, new: str = NEW, again: str = NEW):
    data = {"current_password": current, "new_password": new, "new_password_again": again, "form_token": token}
    return client.post("/account/password", data=data, headers=HTML)


def test_the_form_changes_the_password_and_ends_the_other_sessions(site):
    sign_in(site, "vic@example.com")
    other = TestClient(site.app)
    sign_in(other, "vic@example.com")
    changed = _change(site, _form_token(site))
    assert changed.status_code == 200 and 'id="account-done"' in changed.text  # this session stays signed in
    assert other.get("/account", follow_redirects=False).status_code == 303  # the other one is sent to /login
    sign_in(other, "vic@example.com", NEW)


def test_a_wrong_current_password_or_two_different_new_ones_show_the_form_again(site):
    sign_in(site, "vic@example.com")
    token = _form_token(site)
    wrong = _change(site, token, current="not my password")
    assert (
        wrong.status_code == 403
        and 'class="banner" role="alert" id="account-error"' in wrong.text
        and "current password" in wrong.text
    )
    differ = _change(site, token, again="something else entirely")
    assert differ.status_code == 422 and "differ" in differ.text
    short = _change(site, token, new="short", again="short")
    assert short.status_code == 422 and "at least 10" in short.text
    sign_in(TestClient(site.app), "vic@example.com", PASSWORD)  # unchanged


def test_the_form_needs_the_sessions_token(site):
    sign_in(site, "vic@example.com")
    refused = _change(site, "forged")
    assert refused.status_code == 403
    sign_in(TestClient(site.app), "vic@example.com", PASSWORD)


def test_wrong_current_passwords_on_the_form_are_throttled_with_the_apis(client_for, fresh_dir, tmp_path):
    site = client_for(
        model_dir=fresh_dir,
        database_url=f"sqlite:///{tmp_path / 'throttled.sqlite3'}",
        rate_limit_login="3/minute",
    )
    add_user(site.app, "vic@example.com", "viewer")
    csrf = sign_in(site, "vic@example.com")
    token = _form_token(site)
    assert [_change(site, token, current="not my password").status_code for _ in range(2)] == [403, 403]
    # The form and the API spend the same allowance of the account.
    wrong = {"current_password": "not my password", "new_password": NEW}
    assert site.post("/api/v1/auth/password", json=wrong, headers={"X-CSRF-Token": csrf}).status_code == 403
    spent = _change(site, token)
    assert spent.status_code == 429 and 'id="account-error"' in spent.text
    assert site.get("/account", follow_redirects=False).status_code == 200  # still signed in, nothing changed
