"""Over HTTPS every cookie is a `__Host-` one (Secure, Path=/, no Domain), and a plain-named cookie, which a sibling
host could have tossed, is ignored: it neither signs anyone in nor vouches for a form."""

import re
from collections.abc import Callable, Iterator

import pytest
from fastapi.testclient import TestClient
from httpx import Response

from app.main import create_app
from tests.accounts import PASSWORD, add_user, csrf_of, sign_in

KEY = "host-cookie-admin-key"
HTML = {"accept": "text/html"}
# The form cookies' 43-character token, never the header's sign-out token (64 hex digits).
FORM_TOKEN = re.compile(r'name="form_token" value="([A-Za-z0-9_-]{43})"')
CUSTOMERS = b"CustomerID,Annual Income (k$),Spending Score (1-100)\n1,15,39\n2,16,81\n3,80,20\n"


@pytest.fixture
def site_over(make_settings, fresh_dir, tmp_path) -> Iterator[Callable[[str], TestClient]]:
    """A client of one app (admin key, accounts database, a signed-up analyst) over `scheme`."""
    app = create_app(
        make_settings(
            model_dir=fresh_dir,
            admin_api_keys=[KEY],
            jobs_dir=tmp_path / "jobs",
            database_url=f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        )
    )
    opened: list[TestClient] = []

    def build(scheme: str) -> TestClient:
        client = TestClient(app, base_url=f"{scheme}://testserver", follow_redirects=False)
        client.__enter__()
        if not opened:
            add_user(app, "ann@example.com", "admin")
        opened.append(client)
        return client

    yield build
    for client in opened:
        client.__exit__(None, None, None)


def set_cookies(response: Response) -> list[str]:
    return [value for name, value in response.headers.multi_items() if name == "set-cookie"]


def cookie_value(response: Response, name: str) -> str:
    (value,) = [cookie.split(";")[0].split("=", 1)[1] for cookie in set_cookies(response) if cookie.startswith(name)]
    return value


def score(client: TestClient, token: str) -> Response:
    files = {"file": ("customers.csv", CUSTOMERS, "text/csv")}
    return client.post("/score", files=files, data={"form_token": token}, headers=HTML)


def test_over_https_every_cookie_the_pages_set_is_a_host_cookie(site_over):
    client = site_over("https")
    answers = [login_page := client.get("/login")]
    token = FORM_TOKEN.search(login_page.text).group(1)
    answers.append(client.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "form_token": token}))
    answers.append(score_page := client.get("/score"))
    answers.append(score(client, FORM_TOKEN.search(score_page.text).group(1)))
    answers.append(models_page := client.get("/models", headers=HTML))
    files = {"file": ("customers.csv", CUSTOMERS, "text/csv")}
    kept = client.post(
        "/models/segmentations/new",
        files=files,
        data={"form_token": FORM_TOKEN.search(models_page.text).group(1)},
        headers=HTML | {"X-API-Key": KEY},
    )
    assert kept.status_code == 303, kept.text
    answers.append(client.get(kept.headers["location"], headers=HTML))
    answers.append(client.post("/logout", data={"form_token": csrf_of(client)}))

    assert [answer.status_code for answer in answers] == [200, 303, 200, 200, 200, 200, 303]
    sent = [cookie for answer in answers for cookie in set_cookies(answer)]
    names = {cookie.split("=", 1)[0] for cookie in sent}
    assert names == {f"__Host-{name}" for name in ("login_form", "session", "score_form", "models_form")}
    for cookie in sent:
        attributes = [part.strip().lower() for part in cookie.split(";")[1:]]
        assert "secure" in attributes and "path=/" in attributes and "httponly" in attributes, cookie
        assert not any(part.startswith("domain") for part in attributes), cookie
    # Signing out deletes the cookie it set, with the attributes a browser needs to accept a __Host- deletion.
    (deleted,) = set_cookies(answers[-1])
    assert deleted.startswith('__Host-session=""') and "max-age=0" in deleted.lower()


def test_over_http_the_cookies_keep_their_plain_names_and_paths(site_over):
    client = site_over("http")
    cookies = set_cookies(client.get("/login")) + set_cookies(client.get("/score"))
    cookies += set_cookies(client.get("/models", headers=HTML))
    assert [cookie.split(";")[0].split("=")[0] for cookie in cookies] == ["login_form", "score_form", "models_form"]
    assert all("secure" not in cookie.lower() for cookie in cookies)
    assert [re.search(r"Path=[^;]+", c).group(0) for c in cookies] == ["Path=/login", "Path=/score", "Path=/models"]
    sign_in(client, "ann@example.com")
    assert client.cookies.get("session") and client.get("/api/v1/auth/keys").status_code == 200


def test_over_https_a_plain_session_cookie_signs_nobody_in(site_over):
    client = site_over("https")
    sign_in(client, "ann@example.com")
    token = client.cookies.get("__Host-session")
    assert token and client.get("/api/v1/auth/keys").status_code == 200
    tossed = site_over("https")
    tossed.cookies.set("session", token)  # a valid session's token, under the name any sibling host can set
    assert tossed.get("/api/v1/auth/keys").status_code == 401
    page = tossed.get("/about")
    assert page.status_code == 200 and "ann@example.com" not in page.text and "Sign in" in page.text
    # Nor does it sign anyone out: the logout form needs the session it names.
    assert tossed.post("/logout", data={"form_token": csrf_of(client)}).status_code == 403


def test_over_http_a_host_session_cookie_is_not_read(site_over):
    client = site_over("https")
    sign_in(client, "ann@example.com")
    plain = site_over("http")
    plain.cookies.set("__Host-session", client.cookies.get("__Host-session"))
    assert plain.get("/api/v1/auth/keys").status_code == 401


def test_over_https_a_plain_score_form_cookie_with_its_field_is_the_expired_form(site_over):
    client = site_over("https")
    token = FORM_TOKEN.search(client.get("/score").text).group(1)
    assert score(client, token).status_code == 200  # the page's own __Host- cookie vouches for the form
    tossed = site_over("https")
    tossed.cookies.set("score_form", token)
    refused = score(tossed, token)
    assert refused.status_code == 403 and "This form has expired" in refused.text


def test_over_https_a_plain_login_form_cookie_with_its_field_signs_nobody_in(site_over):
    tossed = site_over("https")
    token = "t" * 43
    tossed.cookies.set("login_form", token)
    refused = tossed.post("/login", data={"email": "ann@example.com", "password": PASSWORD, "form_token": token})
    assert refused.status_code == 403 and "session" not in str(set_cookies(refused))


def test_over_https_a_plain_models_form_cookie_uploads_nothing(site_over):
    tossed = site_over("https")
    token = "m" * 43
    tossed.cookies.set("models_form", token)
    refused = tossed.post(
        "/models/segmentations/new",
        files={"file": ("customers.csv", CUSTOMERS, "text/csv")},
        data={"form_token": token},
        headers=HTML | {"X-API-Key": KEY},
    )
    assert refused.status_code == 403 and "this form has expired" in refused.text
