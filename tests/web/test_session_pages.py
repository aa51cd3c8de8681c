"""/about's segment edits and /webhooks for a signed-in user: the session (and its CSRF token), no key field."""

import re

import pytest

from tests.accounts import add_user, sign_in

HTML = {"accept": "text/html"}
KEY = "session-pages-admin-key"


@pytest.fixture
def site(client_for, fresh_dir, tmp_path):
    def build(**settings):
        client = client_for(model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'pages.sqlite3'}", **settings)
        for email, role in [
            ("ada@example.com", "admin"),
            ("ann@example.com", "analyst"),
            ("vic@example.com", "viewer"),
        ]:
            add_user(client.app, email, role)
        return client

    return build


def _csrf(page: str) -> str | None:
    found = re.search(r'id="admin"[^>]*data-csrf="([^"]+)"', page)
    return found.group(1) if found else None


@pytest.mark.parametrize("keys", [[], [KEY]], ids=["no-admin-keys", "admin-keys"])
def test_a_signed_in_analyst_edits_segments_on_about_without_a_key(site, keys):
    client = site(admin_api_keys=keys)
    sign_in(client, "ann@example.com")
    page = client.get("/about", headers=HTML).text
    assert 'id="admin-key"' not in page and 'id="admin-session"' in page and "segment-edit-form" in page
    token = _csrf(page)
    segment = re.search(r'class="segment-edit-form" data-segment-id="(\d+)"', page).group(1)
    # What about.js sends: the session cookie and the CSRF token header.
    body = {"name": "Edited in session", "reason": "test"}
    edited = client.patch(f"/api/v1/clusters/{segment}", json=body, headers={"X-CSRF-Token": token})
    assert edited.status_code == 200, edited.text
    assert "Edited in session" in client.get("/about", headers=HTML).text
    assert client.patch(f"/api/v1/clusters/{segment}", json=body | {"name": "No token"}).status_code == 403


def test_a_signed_in_viewer_is_offered_no_edits_and_no_key_field(site):
    client = site(admin_api_keys=[KEY])
    sign_in(client, "vic@example.com")
    page = client.get("/about", headers=HTML).text
    assert "segment-edit-form" not in page and 'id="admin-key"' not in page and 'data-action="revert"' not in page


def test_webhooks_use_a_signed_in_admins_session(site):
    client = site(admin_api_keys=[], webhook_allow_private=True)
    sign_in(client, "ada@example.com")
    page = client.get("/webhooks", headers=HTML).text
    assert 'id="admin-key"' not in page and 'id="admin-session"' in page and "webhooks.js" in page
    token = _csrf(page)
    body = {"url": "http://127.0.0.1:9/hook", "events": ["version.activated"]}
    created = client.post("/api/v1/webhooks", json=body, headers={"X-CSRF-Token": token})
    assert created.status_code == 201, created.text
    assert [s["url"] for s in client.get("/api/v1/webhooks").json()["subscriptions"]] == [body["url"]]


def test_webhooks_keep_the_key_field_for_key_operators_and_refuse_other_roles(site):
    client = site(admin_api_keys=[KEY])
    assert 'id="admin-key"' in client.get("/webhooks", headers=HTML).text  # nobody signed in: the key field
    sign_in(client, "ann@example.com")
    page = client.get("/webhooks", headers=HTML).text
    assert 'id="admin-off"' in page and "needs an admin" in page and "webhooks.js" not in page


def test_the_train_form_names_the_session_to_a_signed_in_admin_and_the_key_otherwise(site):
    client = site(admin_api_keys=[KEY])
    assert "with the admin key at the top of the page" in client.get("/models", headers=HTML).text
    sign_in(client, "ada@example.com")
    page = client.get("/models", headers=HTML).text
    assert "Training runs in the background with your session" in page and "admin key at the top" not in page


@pytest.mark.parametrize(
    ("path", "status"),
    [("/monitoring?window=7d", 422), ("/score/download/no-such-file", 404), ("/monitoring?segmentation=nope", 404)],
)
def test_an_error_page_shows_the_signed_in_user_as_every_page_does(site, path, status):
    client = site()
    anonymous = client.get(path, headers=HTML)
    assert anonymous.status_code == status and 'data-role="sign-in"' in anonymous.text
    sign_in(client, "ann@example.com")
    page = client.get(path, headers=HTML)
    assert page.status_code == status
    assert page.headers["content-type"].startswith("text/html")
    assert '<strong data-role="signed-in">ann@example.com</strong></a> (analyst)' in page.text
    assert 'data-role="sign-in"' not in page.text
    # The header's sign-out form works from the error page too: it carries the session's token.
    token = re.search(r'action="/logout"[^>]*>\s*<input type="hidden" name="form_token" value="([^"]+)"', page.text)
    assert token is not None and token.group(1)
