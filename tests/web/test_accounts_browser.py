"""In Chromium: sign in, train and activate from /models with the session (no key field), sign out; a viewer sees no
admin buttons."""

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from app.core.roles import Role
from tests.accounts import PASSWORD, database_with_users
from tests.live_server import live_server
from tests.web.conftest import PageWatch


@pytest.fixture
def accounts_server(two_versions_template, tmp_path) -> Iterator[str]:
    """A server with two versions, an admin and a viewer, and no ADMIN_API_KEYS at all."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(two_versions_template[0], root)
    url = database_with_users(
        f"sqlite:///{tmp_path / 'accounts.sqlite3'}", {"ada@example.com": Role.admin, "vic@example.com": Role.viewer}
    )
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "DATABASE_URL": url}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url


def _sign_in(page, server: str, email: str) -> None:
    page.goto(f"{server}/login?next=/models")
    page.fill("#login-email", email)
    page.fill("#login-password", PASSWORD)
    page.click(".login-form button[type=submit]")
    page.wait_for_url("**/models")


@pytest.mark.slow
def test_admin_signs_in_activates_trains_and_signs_out(browser, accounts_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, accounts_server)
    page.on("dialog", lambda dialog: dialog.accept())
    _sign_in(page, accounts_server, "ada@example.com")
    expect(page.locator('[data-role="signed-in"]')).to_have_text("ada@example.com")
    expect(page.locator("#admin-key")).to_have_count(0)
    expect(page.locator("#admin-session")).to_be_visible()

    inactive = page.locator('tr:not(.is-active) [data-action="activate"]').first
    version = inactive.get_attribute("data-version")
    inactive.click()
    expect(page.locator(f'tr[data-version="{version}"] [data-role="active-badge"]')).to_be_visible(timeout=20_000)

    page.select_option('#train-form select[name="k"]', "3")
    page.click("#train-form button[type=submit]")
    expect(page.locator("#train-status")).to_contain_text("Done: version", timeout=120_000)

    page.click(".account button[type=submit]")  # sign out
    expect(page.locator('[data-role="sign-in"]')).to_be_visible()
    page.goto(f"{accounts_server}/models")
    expect(page.locator('[data-action="activate"]')).to_have_count(0)  # no admin keys and nobody signed in
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()


@pytest.mark.slow
def test_a_viewer_sees_no_admin_buttons(browser, accounts_server):
    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, accounts_server, "vic@example.com")
    expect(page.locator('[data-role="signed-in"]')).to_have_text("vic@example.com")
    for selector in ('[data-action="activate"]', '[data-action="rollback"]', "#train-form", "#admin-key"):
        expect(page.locator(selector)).to_have_count(0)
    context.close()
