"""The /users page: admins list, add, change and disable users with the session's form token; nobody else can."""

import html
import re

import pytest
from sqlalchemy import select

from app.db.tables import AuditEvent, User
from tests.accounts import JWT_SECRET, add_user, bearer, sign_in

HTML = {"accept": "text/html"}


@pytest.fixture
def site(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'users.sqlite3'}", jwt_secret=JWT_SECRET
    )
    add_user(client.app, "ada@example.com", "admin")
    add_user(client.app, "vic@example.com", "viewer")
    return client


def _token(page: str) -> str:
    return re.search(r'id="new-user".*?name="form_token" value="([^"]+)"', page, re.S).group(1)


def _user(client, email: str) -> User:
    with client.app.state.db_sessions() as session:
        return session.scalar(select(User).where(User.email == email))


def test_anyone_not_signed_in_is_sent_to_sign_in_and_a_viewer_is_refused(site):
    response = site.get("/users", headers=HTML, follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/login?next=/users"
    sign_in(site, "vic@example.com")
    refused = site.get("/users", headers=HTML)
    assert refused.status_code == 403 and "needs the admin role" in refused.text
    assert "ada@example.com" not in refused.text  # nobody else's address


def test_an_admin_adds_a_user_changes_the_role_and_disables_them(site):
    sign_in(site, "ada@example.com")
    page = site.get("/users", headers=HTML)
    assert page.status_code == 200 and "vic@example.com" in page.text and "password_hash" not in page.text
    token = _token(page.text)
    added = site.post(
        "/users",
        data={"email": "Nia@Example.com", "password": "a long password", "role": "analyst", "form_token": token},
        headers=HTML,
    )
    assert added.status_code == 200 and 'id="users-done"' in added.text and "nia@example.com" in added.text
    nia = _user(site, "nia@example.com")
    assert nia.role == "analyst" and not nia.disabled
    assert site.post(f"/users/{nia.id}", data={"role": "viewer", "form_token": token}).status_code == 200
    assert _user(site, "nia@example.com").role == "viewer"
    assert site.post(f"/users/{nia.id}", data={"disabled": "true", "form_token": token}).status_code == 200
    assert _user(site, "nia@example.com").disabled
    with site.app.state.db_sessions() as session:
        actions = list(session.scalars(select(AuditEvent.action).where(AuditEvent.target == "nia@example.com")))
    assert actions == ["user.create", "user.update", "user.update"]


def test_the_done_message_keeps_an_address_with_a_plus(site):
    # The address went into the redirect's query unencoded, so its '+' came back as a space.
    sign_in(site, "ada@example.com")
    token = _token(site.get("/users", headers=HTML).text)
    form = {"email": "nia+crm@example.com", "password": "a long password", "role": "analyst", "form_token": token}
    added = site.post("/users", data=form, headers=HTML, follow_redirects=False)
    assert added.status_code == 303 and added.headers["location"] == "/users?done=added&user=nia%2Bcrm%40example.com"
    assert "added nia+crm@example.com" in site.get(added.headers["location"], headers=HTML).text


def test_the_page_says_why_a_change_is_refused(site):
    sign_in(site, "ada@example.com")
    token = _token(site.get("/users", headers=HTML).text)
    ada = _user(site, "ada@example.com").id
    last = site.post(f"/users/{ada}", data={"disabled": "true", "form_token": token}, headers=HTML)
    assert last.status_code == 409 and "last active admin" in last.text
    assert not _user(site, "ada@example.com").disabled
    short = site.post("/users", data={"email": "x@example.com", "password": "short", "form_token": token})
    assert short.status_code == 422 and "at least 10 characters" in short.text
    taken = site.post("/users", data={"email": "vic@example.com", "password": "a long password", "form_token": token})
    assert taken.status_code == 409 and "exists already" in taken.text


def test_a_form_without_the_sessions_token_changes_nothing(site):
    sign_in(site, "ada@example.com")
    vic = _user(site, "vic@example.com").id
    forged = site.post(f"/users/{vic}", data={"role": "admin", "form_token": "x" * 43}, headers=HTML)
    assert forged.status_code == 403 and _user(site, "vic@example.com").role == "viewer"
    # Another site's page: refused before anything is read.
    cross = site.post(f"/users/{vic}", data={"role": "admin"}, headers=HTML | {"sec-fetch-site": "cross-site"})
    assert cross.status_code == 403 and _user(site, "vic@example.com").role == "viewer"


def test_an_admin_token_reads_the_list_without_forms(site):
    page = site.get("/users", headers=HTML | bearer(site, "ada@example.com"))
    assert page.status_code == 200 and "vic@example.com" in page.text
    assert 'id="new-user"' not in page.text and 'id="users-read-only"' in page.text
    # A form post needs a session: a token is not one.
    vic = _user(site, "vic@example.com").id
    post = site.post(f"/users/{vic}", data={"role": "admin"}, headers=HTML | bearer(site, "ada@example.com"))
    assert post.status_code == 403 and _user(site, "vic@example.com").role == "viewer"


def test_the_account_page_links_users_for_admins_only(site):
    sign_in(site, "vic@example.com")
    assert 'href="/users"' not in site.get("/account").text
    site.cookies.clear()
    sign_in(site, "ada@example.com")
    assert 'href="/users"' in site.get("/account").text


def test_a_refused_new_user_keeps_what_was_typed_and_names_every_field(site):
    sign_in(site, "ada@example.com")
    token = _token(site.get("/users", headers=HTML).text)
    form = {"email": "bad email@x", "display_name": "Nia", "password": "short", "role": "analyst", "form_token": token}
    refused = site.post("/users", data=form, headers=HTML)
    assert refused.status_code == 422
    page = html.unescape(refused.text)
    assert re.search(r'class="banner" role="alert" id="users-error" tabindex="-1" autofocus', page)
    assert "Email: 'bad email@x' holds a space" in page and "email: " not in page
    assert "Password: Use at least 10 characters" in page
    assert re.search(
        r'id="new-user-email"[^>]*value="bad email@x" aria-invalid="true" aria-describedby="new-user-email-error"', page
    )
    assert re.search(r'id="new-user-password"[^>]*aria-invalid="true" aria-describedby="new-user-password-error"', page)
    assert 'id="new-user-email-error"' in page and 'id="new-user-password-error"' in page
    assert re.search(r'id="new-user-display_name"[^>]*value="Nia"', page)
    assert '<option value="analyst" selected>' in page
    assert "short" not in re.sub(r"<[^>]+>", "", page).replace("Password: Use", "")
    assert _user(site, "bad email@x") is None


def test_a_taken_email_is_marked_on_the_email_field(site):
    sign_in(site, "ada@example.com")
    token = _token(site.get("/users", headers=HTML).text)
    form = {"email": "vic@example.com", "password": "a long password", "role": "viewer", "form_token": token}
    refused = site.post("/users", data=form, headers=HTML)
    assert refused.status_code == 409
    assert "Email: A user with the email vic@example.com exists already." in refused.text
    assert re.search(r'id="new-user-email"[^>]*value="vic@example.com" aria-invalid="true"', refused.text)


@pytest.mark.parametrize(
    "query",
    [
        "done=Your+account+is+locked%3A+call+%2B1-555-0100",  # text of a link's author's choosing
        "done=added&user=someone%40nowhere.example",  # no such user
        "done=deleted&user=vic%40example.com",  # not something the page does
    ],
)
def test_the_done_message_says_only_what_the_page_did_to_a_listed_user(site, query):
    # An admin following a crafted link saw its text in the page's "Done:" banner.
    sign_in(site, "ada@example.com")
    page = site.get(f"/users?{query}", headers=HTML)
    assert page.status_code == 200 and 'id="users-done"' not in page.text
    assert "locked" not in page.text and "nowhere.example" not in page.text and "deleted" not in page.text


def test_the_form_says_why_a_display_name_is_refused(site):
    sign_in(site, "ada@example.com")
    token = _token(site.get("/users", headers=HTML).text)
    form = {"email": "nia@example.com", "password": "a long password", "display_name": "Nia\u202e", "form_token": token}
    refused = site.post("/users", data=form, headers=HTML)
    assert refused.status_code == 422 and "U+202E" in refused.text
    assert _user(site, "nia@example.com") is None
