"""The /score page's form token and cookie: a post without them, or from another site, scores and reads nothing."""

import pytest

from app.web import uploads
from tests.recorded import recording_client, snapshot
from tests.web.test_score_page import FORM_TOKEN, HTML, _kept, form_token, post_file


def test_the_form_token_is_in_the_page_and_in_a_strict_cookie_and_stays_for_other_tabs(client_for):
    client = client_for()
    first = client.get("/score", headers=HTML)
    cookie = first.headers["set-cookie"]
    token = FORM_TOKEN.search(first.text).group(1)
    assert cookie.startswith(f"score_form={token};")
    for attribute in ("HttpOnly", "Path=/score", "SameSite=lax"):
        assert attribute.lower() in cookie.lower()
    assert FORM_TOKEN.search(client.get("/score", headers=HTML).text).group(1) == token


@pytest.mark.parametrize("sent", [None, "", "x" * 43, "wrong"])
def test_a_post_without_the_pages_token_scores_nothing(client_for, tmp_path, default_data, sent):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    form_token(client)  # the cookie is there: only the form's copy is missing or wrong
    before = snapshot(client)
    fields = {} if sent is None else {"form_token": sent}
    page = client.post(
        "/score", files={"file": ("mall.csv", default_data.read_bytes(), "text/csv")}, data=fields, headers=HTML
    )
    assert page.status_code == 403
    assert "This form has expired, or was not sent from this page" in page.text
    assert 'id="score-form"' in page.text and FORM_TOKEN.search(page.text)
    assert snapshot(client) == before and _kept(tmp_path / "results") == []


def never_read(*args, **kwargs):
    raise AssertionError("the upload was read")


def test_a_post_without_the_cookie_is_refused_unread_and_gets_a_fresh_form(client_for, default_data, monkeypatch):
    client = client_for()
    monkeypatch.setattr(uploads, "receive_upload", never_read)
    page = client.post(
        "/score", files={"file": ("mall.csv", default_data.read_bytes(), "text/csv")}, data={}, headers=HTML
    )
    monkeypatch.undo()
    assert page.status_code == 403
    assert "This form has expired" in page.text
    token = FORM_TOKEN.search(page.text).group(1)
    assert page.headers["set-cookie"].startswith(f"score_form={token};")
    again = client.post(
        "/score",
        files={"file": ("mall.csv", default_data.read_bytes(), "text/csv")},
        data={"form_token": token},
        headers=HTML,
    )
    assert again.status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}])
def test_a_cross_site_post_to_the_page_is_refused_unread(client_for, tmp_path, default_data, headers, monkeypatch):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    token = form_token(client)
    monkeypatch.setattr(uploads, "receive_upload", never_read)
    page = client.post(
        "/score",
        files={"file": ("mall.csv", default_data.read_bytes(), "text/csv")},
        data={"form_token": token},
        headers={**HTML, **headers},
    )
    monkeypatch.undo()
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html") and ">Not allowed</h1>" in page.text
    assert snapshot(client) == before
    same_site = post_file(client, default_data.read_bytes(), headers={"Origin": "http://testserver"})
    assert same_site.status_code == 200


# --- The labelled file's options on the page ---
