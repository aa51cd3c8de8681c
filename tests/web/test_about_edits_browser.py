"""The /about edit form in Chromium: a rename with the admin key, shown as text, then reverted from the history."""

import shutil

import pytest
from playwright.sync_api import expect

from tests.live_server import live_server

KEY = "about-browser-admin-key"
NAME = "Top <b>spenders</b>"


@pytest.mark.slow
def test_a_segment_is_renamed_and_reverted_on_the_about_page(browser, model_dir, tmp_path):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        page = browser.new_page()
        page.on("dialog", lambda dialog: dialog.accept())
        page.goto(f"{server.url}/about")
        card = page.locator("article.segment-card", has=page.locator('[data-role="segment-name"]', has_text="VIP"))
        segment_id = card.get_attribute("data-segment-id")
        card.locator("summary", has_text="Edit this segment").click()
        card.locator('button[type="submit"]').click()
        # Without the key nothing is sent, and the page says where to type it.
        expect(card.locator('[data-role="edit-status"]')).to_contain_text("Type the admin key")
        page.fill("#admin-key", KEY)
        card.locator('input[name="name"]').fill(NAME)
        card.locator('input[name="reason"]').fill("team word")
        card.locator('button[type="submit"]').click()

        card = page.locator(f'article.segment-card[data-segment-id="{segment_id}"]')
        expect(card.locator('[data-role="segment-name"]')).to_have_text(NAME)  # as text, after the reload
        assert card.locator('[data-role="segment-name"] b').count() == 0
        expect(card.locator('[data-role="generated-name"]')).to_contain_text("VIP / Whale")
        card.locator("summary", has_text="Changes").click()
        expect(card.locator(".segment-history li")).to_contain_text("(team word)")

        page.fill("#admin-key", KEY)  # the key is never kept across a reload
        card.locator('[data-action="revert"]').click()
        card = page.locator(f'article.segment-card[data-segment-id="{segment_id}"]')
        expect(card.locator('[data-role="segment-name"]')).to_have_text("VIP / Whale")
        expect(card.locator('[data-role="generated-name"]')).to_have_count(0)
        page.close()
