"""The "What would make this customer …" card in Chromium: pick a segment, read the change, see the path."""

import pytest
from playwright.sync_api import expect

from tests.web.axe import axe_violations, describe
from tests.web.conftest import move_sliders
from tests.web.screens import screenshot

pytestmark = pytest.mark.slow


def test_picking_vip_shows_the_change_and_the_path_then_a_new_customer_clears_it(page, base_url):
    page.goto(base_url + "/?annual_income=60&spending_score=5")
    card = page.locator("#counterfactual")
    expect(card.get_by_role("heading", name="What would make this customer …")).to_be_visible()
    card.locator("#move-to").select_option(label="VIP / Whale")
    card.get_by_role("button", name="Show the change").click()
    page.wait_for_url("**move_to=*")
    changes = page.locator(".counterfactual-changes li")
    expect(changes).to_have_count(2)
    spending = changes.filter(has_text="spending score").inner_text()
    assert spending.startswith("+") and spending.endswith(" spending score")
    expect(page.locator("#counterfactual-path line")).to_be_visible()
    vip = page.locator("#move-to option", has_text="VIP / Whale").get_attribute("value")
    expect(page.locator("#move-to")).to_have_value(vip)
    violations = axe_violations(page)
    screenshot(page, "home-counterfactual")
    assert violations == [], describe(violations)
    assert page.watch.errors == [] and page.watch.foreign_requests() == []

    # With JavaScript the customer moves live: the change found for the old values is no longer shown.
    move_sliders(page, 3, 0)
    expect(page.locator("#counterfactual [data-role='counterfactual-result']")).to_be_hidden()
    expect(page.locator("#counterfactual-path")).to_be_hidden()
    assert page.locator(".counterfactual-form input[name='annual_income']").input_value() != "60"
