"""Pages' form posts refuse a field sent twice with a 422 page naming it, never acting on its last value."""

import html
import re

import pytest

from app.models.synthetic_crm import write_crm
from tests.accounts import add_user, sign_in
from tests.web.test_score_page import form_token as score_token
from tests.web.test_segmentation_pages import KEY, choose_columns

HTML = {"accept": "text/html"}


def _refused(response, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("text/html")
    text = html.unescape(re.sub(r"<[^>]+>", "", response.text))
    # The /score page starts the reason with a capital, after its own "The file could not be scored."
    said = rf"[Tt]he form sends the field '{re.escape(field)}' more than once: send each field once"
    assert re.search(said, text), text


@pytest.fixture
def pages(client_for, fresh_dir, tmp_path):
    """A client with admin keys and its own models and jobs folders, as tests/web/test_segmentation_pages.py's."""
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], jobs_dir=tmp_path / "jobs")


@pytest.fixture
def site(client_for, fresh_dir, tmp_path):
    client = client_for(
        model_dir=fresh_dir, database_url=f"sqlite:///{tmp_path / 'forms.sqlite3'}", admin_api_keys=[KEY]
    )
    add_user(client.app, "ada@example.com", "admin")
    return client


def test_sign_in_and_sign_out_refuse_a_repeated_field(site):
    page = site.get("/login")
    token = re.search(r'name="form_token" value="([^"]+)"', page.text).group(1)
    both = {"email": ["eve@example.com", "ada@example.com"], "password": "x" * 12, "form_token": token}
    refused = site.post("/login", data=both, follow_redirects=False)
    _refused(refused, "email")
    assert "session=" not in refused.headers.get("set-cookie", "")
    sign_in(site, "ada@example.com")
    _refused(site.post("/logout", data={"form_token": ["a", "b"]}, headers=HTML), "form_token")
    assert "ada@example.com" in site.get("/about").text  # still signed in


def test_the_users_and_audit_pages_refuse_a_repeated_field(site):
    sign_in(site, "ada@example.com")
    token = re.search(r'name="form_token" value="([^"]+)"', site.get("/users", headers=HTML).text).group(1)
    both = {"email": "nia@example.com", "password": "a long password", "role": ["viewer", "admin"], "form_token": token}
    _refused(site.post("/users", data=both, headers=HTML), "role")
    assert "nia@example.com" not in site.get("/users", headers=HTML).text
    _refused(site.post("/audit", data={"key": KEY, "action": ["login.failed", "version.train"]}), "action")


def test_the_score_page_refuses_a_repeated_field(client):
    token = score_token(client)
    data = b"annual_income,spending_score\n15,39\n16,81\n"
    sent = client.post(
        "/score",
        files={"file": ("mall.csv", data, "text/csv")},
        data={"form_token": token, "on_error": ["flag", "skip"]},
        headers=HTML,
    )
    _refused(sent, "on_error")


def test_the_new_segmentation_steps_refuse_a_repeated_field(pages, tmp_path):
    crm = write_crm(tmp_path / "crm.csv").read_bytes()
    token = re.search(r'name="form_token" value="([^"]+)"', pages.get("/models", headers=HTML).text).group(1)
    upload = pages.post(
        "/models/segmentations/new",
        files={"file": ("crm.csv", crm, "text/csv")},
        data={"form_token": [token, token]},
        headers={**HTML, "X-API-Key": KEY},
        follow_redirects=False,
    )
    _refused(upload, "form_token")
    _, page = choose_columns(pages, crm)
    fields = {
        "form_token": re.search(r'name="form_token" value="([^"]+)"', page).group(1),
        "upload": re.search(r'name="upload" value="([^"]+)"', page).group(1),
        "name": ["crm", "other"],
        "k": "3",
        "use_1": "true",
        "use_2": "true",
    }
    _refused(pages.post("/models/segmentations", data=fields, headers=HTML, follow_redirects=False), "name")
    assert pages.get("/api/v1/segmentations/crm").status_code == 404
