"""/webhooks in Chromium: subscribe a local receiver, send it a test event, and read the delivery log."""

import pytest
from playwright.sync_api import expect
from standardwebhooks.webhooks import Webhook

from tests.live_server import live_server
from tests.services.notifications.receiver import running_receiver
from tests.web.conftest import PageWatch

KEY = "page-admin-key-0123"


@pytest.fixture
def hooks_server(model_dir, tmp_path):
    env = {
        "MODEL_DIR": str(model_dir),
        "AUTO_TRAIN": "false",
        "ADMIN_API_KEYS": KEY,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'hooks.sqlite3'}",
        "WEBHOOK_ALLOW_PRIVATE": "true",
        "NOTIFY_POLL_SECONDS": "0.1",
    }
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url


def test_subscribe_and_send_a_test_event_from_the_page(browser, hooks_server):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, hooks_server)
    try:
        with running_receiver() as receiver:
            page.goto(f"{hooks_server}/webhooks")
            page.fill("#admin-key", KEY)
            page.fill("#target", receiver.url)
            page.click("#new-subscription button[type=submit]")
            expect(page.locator("#new-status")).to_contain_text("created")
            secret = page.locator('#new-secret [data-role="secret"]').inner_text()
            assert secret.startswith("whsec_")

            row = page.locator("#subscriptions tbody tr")
            expect(row).to_have_count(1)
            expect(row).to_contain_text(receiver.url)
            row.get_by_role("button", name="Send test event").click()
            log = page.locator("#delivery-log")
            expect(log).to_be_visible()
            # The drainer sends within a poll; the log is read again until it says so.
            for _ in range(100):
                row.get_by_role("button", name="Deliveries").click()
                if "delivered" in log.locator("tbody").inner_text():
                    break
                page.wait_for_timeout(100)
            expect(log.locator("tbody tr").first).to_contain_text("delivered")
            [request] = receiver.received()

        assert Webhook(secret).verify(request.body, request.headers)["type"] == "webhook.test"
        assert watch.errors == []
        assert watch.foreign_requests() == []
    finally:
        context.close()
