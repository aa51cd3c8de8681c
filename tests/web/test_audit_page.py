"""The /audit page: the trail for a signed-in admin or an admin key, the key form for anyone else."""

import re

import pytest

from tests.accounts import add_user, sign_in

SERVICE_KEY = "service-admin-key-audit-page"
ADMIN = {"X-API-Key": SERVICE_KEY}


@pytest.fixture
def site(client_for, two_versions, tmp_path):
    root, _, second = two_versions
    client = client_for(
        model_dir=root, database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}", admin_api_keys=[SERVICE_KEY]
    )
    add_user(client.app, "ada@example.com", "admin")
    add_user(client.app, "ann@example.com", "analyst")
    assert client.post(f"/api/v1/models/{second}/activate", headers=ADMIN).status_code == 200
    return client, second


def test_anyone_else_sees_the_key_form_and_no_events(site):
    client, second = site
    page = client.get("/audit")
    assert page.status_code == 200
    assert 'name="key"' in page.text and second not in page.text and "audit-events" not in page.text
    sign_in(client, "ann@example.com")
    assert second not in client.get("/audit").text


def test_a_signed_in_admin_sees_the_events_and_filters_them(site):
    client, second = site
    sign_in(client, "ada@example.com")
    page = client.get("/audit")
    assert page.status_code == 200 and 'id="audit-events"' in page.text
    assert "version.activate" in page.text and second in page.text and "login.succeeded" in page.text
    succeeded = client.get("/audit", params={"action": "login.succeeded"}).text
    rows = re.findall(r"<tr>\s*<td data-label=\"When", succeeded)
    assert len(rows) == 1
    assert second not in client.get("/audit", params={"action": "login.succeeded"}).text.split("audit-events")[1]
    assert '<script src="http' not in page.text and "cdn" not in page.text.lower()


def test_an_admin_key_shows_the_events_and_a_wrong_one_is_refused(site):
    client, second = site
    shown = client.post("/audit", data={"key": SERVICE_KEY, "action": "version.activate"})
    assert shown.status_code == 200 and second in shown.text
    assert SERVICE_KEY not in shown.text
    refused = client.post("/audit", data={"key": "not-a-key"})
    assert refused.status_code == 403 and second not in refused.text


def test_the_events_scroll_in_their_own_box_and_an_empty_detail_reads_none(site):
    client, _ = site
    from app.services import audit

    audit.record(sessions=client.app.state.db_sessions, who="ada@example.com", action="challenger.set",
                 target="v1", detail={"mode": "shadow", "share": None})  # fmt: skip
    sign_in(client, "ada@example.com")
    page = client.get("/audit", params={"action": "challenger.set"}).text
    # Wide rows scroll inside the card, as every table on the site does, not past the page's edge.
    assert re.search(r'<div class="table-scroll"[^>]*>\s*<table class="table stacked-table" id="audit-events">', page)
    assert "share=none" in page and "None" not in page.split('id="audit-events"')[1]


def _personal_key(client, email: str, role: str) -> str:
    from app.core.roles import Principal, Role
    from app.db.tables import User
    from app.services.accounts.keys import create_key

    with client.app.state.db_sessions() as session:
        user = session.query(User).filter_by(email=email).one()
        owner = Principal(name=email, role=Role[role], via="session", user_id=user.id)
        return create_key(session=session, creator=owner, name="page", role=Role[role])[0]


def test_an_admins_personal_key_shows_the_events_and_an_analysts_is_refused(site):
    client, second = site
    admin_key = _personal_key(client, "ada@example.com", "admin")
    shown = client.post("/audit", data={"key": admin_key, "action": "version.activate"})
    assert shown.status_code == 200 and second in shown.text and admin_key not in shown.text
    refused = client.post("/audit", data={"key": _personal_key(client, "ann@example.com", "analyst")})
    assert refused.status_code == 403 and second not in refused.text and "admin" in refused.text
    assert client.post("/audit", data={"key": ""}).status_code == 401


def test_a_personal_key_works_without_any_admin_api_keys(client_for, two_versions, tmp_path):
    root, _, _ = two_versions
    client = client_for(model_dir=root, database_url=f"sqlite:///{tmp_path / 'audit.sqlite3'}")
    add_user(client.app, "ada@example.com", "admin")
    sign_in(client, "ada@example.com")  # one sign-in, so the trail has a row to show
    client.cookies.clear()
    shown = client.post("/audit", data={"key": _personal_key(client, "ada@example.com", "admin")})
    assert shown.status_code == 200 and "login.succeeded" in shown.text


def test_a_moment_off_the_calendar_is_ignored_as_any_unreadable_filter(site):
    # 0001-01-01 east of UTC is before the first UTC moment: it overflowed into a 500.
    client, second = site
    sign_in(client, "ada@example.com")
    page = client.get("/audit", params={"since": "0001-01-01T00:00:00+14:00"})
    assert page.status_code == 200 and second in page.text.split("audit-events")[1]


def test_a_since_after_its_until_is_said_on_the_page_not_shown_as_no_events(site):
    client, _ = site
    sign_in(client, "ada@example.com")
    span = {"since": "2026-12-06T12:00", "until": "2026-12-01T12:00"}
    page = client.get("/audit", params=span)
    assert page.status_code == 422
    assert 'id="span-error"' in page.text and 'role="alert"' in page.text
    assert "Since must be before Until" in page.text
    assert "2026-12-06 12:00 UTC is after 2026-12-01 12:00 UTC" in re.sub(r"<[^>]+>", "", page.text)
    assert "No events match" not in page.text and 'id="audit-events"' not in page.text
    # The filters keep what was typed, to be fixed, and a signed-in admin is not asked for a key.
    assert 'name="since" value="2026-12-06T12:00"' in page.text and 'name="key"' not in page.text
    with_key = client.post("/audit", data={"key": SERVICE_KEY, **span})
    assert with_key.status_code == 422 and 'id="span-error"' in with_key.text
    # Equal bounds are an empty span, not a mistake.
    same = client.get("/audit", params={"since": span["until"], "until": span["until"]})
    assert same.status_code == 200 and "No events match" in same.text
