"""In Chromium, signed in with no key anywhere: rename a segment on /about, add a webhook on /webhooks, and manage
users on /users, which fits a 375 px phone."""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.core.roles import Role
from tests.accounts import PASSWORD, database_with_users
from tests.live_server import live_server
from tests.web.conftest import PageWatch

OVERFLOW = "document.documentElement.scrollWidth > document.documentElement.clientWidth"


@pytest.fixture
def session_server(model_dir, tmp_path) -> Iterator[str]:
    """A server with an admin and no ADMIN_API_KEYS: every admin action has to come from the session."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    url = database_with_users(
        f"sqlite:///{tmp_path / 'accounts.sqlite3'}",
        {"ada@example.com": Role.admin, "a.very.long.address.of.someone@marketing.example.com": Role.viewer},
    )
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "DATABASE_URL": url, "WEBHOOK_ALLOW_PRIVATE": "true"}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url


def _sign_in(page, server: str, next_path: str) -> None:
    page.goto(f"{server}/login?next={next_path}")
    page.fill("#login-email", "ada@example.com")
    page.fill("#login-password", PASSWORD)
    page.click(".login-form button[type=submit]")
    page.wait_for_url(f"**{next_path}")


@pytest.mark.slow
def test_signed_in_admin_edits_a_segment_and_adds_a_webhook_without_a_key(browser, session_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, session_server)
    _sign_in(page, session_server, "/about")
    expect(page.locator("#admin-key")).to_have_count(0)
    expect(page.locator("#admin-session")).to_be_visible()
    card = page.locator("article.segment-card").first
    segment_id = card.get_attribute("data-segment-id")
    card.locator("summary", has_text="Edit this segment").click()
    card.locator('input[name="name"]').fill("Weekend regulars")
    card.locator('input[name="reason"]').fill("team word")
    card.locator('button[type="submit"]').click()
    card = page.locator(f'article.segment-card[data-segment-id="{segment_id}"]')
    expect(card.locator('[data-role="segment-name"]')).to_have_text("Weekend regulars")  # after the reload

    page.goto(f"{session_server}/webhooks")
    expect(page.locator("#admin-key")).to_have_count(0)
    expect(page.locator("#list-status")).to_have_text("No subscriptions yet.")  # loaded with the session
    page.fill("#target", "http://127.0.0.1:9/hook")
    page.click("#new-subscription button[type=submit]")
    expect(page.locator("#new-status")).to_contain_text("created")
    assert page.locator('#new-secret [data-role="secret"]').inner_text().startswith("whsec_")
    expect(page.locator("#subscriptions tbody tr")).to_have_count(1)
    expect(page.locator("#subscriptions tbody tr")).to_contain_text("http://127.0.0.1:9/hook")
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()


@pytest.mark.slow
def test_users_page_fits_a_phone_and_changes_a_role(browser, session_server):
    context = browser.new_context(viewport={"width": 375, "height": 740})
    page = context.new_page()
    watch = PageWatch(page, session_server)
    _sign_in(page, session_server, "/account")
    page.click('#admin-links a[href="/users"]')
    page.wait_for_url("**/users")
    assert not page.evaluate(OVERFLOW)
    page.fill('#new-user input[name="email"]', "nia@example.com")
    page.fill('#new-user input[name="password"]', "a long password")
    page.select_option('#new-user select[name="role"]', "analyst")
    page.click("#new-user button[type=submit]")
    expect(page.locator("#users-done")).to_contain_text("nia@example.com")
    row = page.locator('#user-list tr[data-email="nia@example.com"]')
    expect(row).to_contain_text("active")
    row.locator('select[name="role"]').select_option("admin")
    row.locator('[data-action="role"]').click()
    expect(page.locator("#users-done")).to_contain_text("changed nia@example.com")
    row = page.locator('#user-list tr[data-email="nia@example.com"]')
    expect(row.locator('select[name="role"]')).to_have_value("admin")
    row.locator('[data-action="disable"]').click()
    expect(page.locator('#user-list tr[data-email="nia@example.com"]')).to_contain_text("disabled")
    assert not page.evaluate(OVERFLOW)
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()
