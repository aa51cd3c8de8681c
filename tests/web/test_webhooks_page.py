"""/webhooks: the page offers every event, and its script only when admin keys are configured."""

import re

from app.services.notifications.events import EVENT_TYPES


def test_webhooks_page_offers_every_event_with_admin_keys(client_for):
    client = client_for(admin_api_keys=["webhooks-page-key-0123"])
    response = client.get("/webhooks")
    assert response.status_code == 200
    for event in EVENT_TYPES:
        assert f'value="{event}"' in response.text
    assert "js/webhooks" in response.text and 'id="admin-key"' in response.text


def test_webhooks_page_without_admin_keys_says_how_to_enable(client_for):
    response = client_for(admin_api_keys=[]).get("/webhooks")
    assert response.status_code == 200
    assert "ADMIN_API_KEYS" in response.text and "js/webhooks" not in response.text


def test_webhooks_page_links_where_notifications_are_explained(client_for):
    response = client_for(admin_api_keys=[]).get("/webhooks")
    assert response.status_code == 200
    lead = re.search(r'<p class="lead">(.*?)</p>', response.text, re.S).group(1)
    assert '<a href="/docs">' in lead and "the README's Notifications section" not in lead
