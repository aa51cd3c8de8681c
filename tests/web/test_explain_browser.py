"""The result card says why, in words, in a real browser: live (JavaScript) and without JavaScript."""

import re

import httpx
import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.slow

WHY = '#result [data-field="explanation"] li'
CONFIDENCE_TEXT = '#result [data-field="confidence_text"]'


def _type(page, income: int, score: int) -> None:
    page.fill("#annual_income-number", str(income))
    page.fill("#spending_score-number", str(score))


def test_the_60_5_card_says_income_is_below_the_segments_usual_range(page, base_url):
    page.goto(base_url + "/")
    _type(page, 60, 5)
    api = httpx.post(base_url + "/api/v1/predict?explain=true", json={"annual_income": 60, "spending_score": 5}).json()
    expect(page.locator('#result [data-field="segment_name"]')).to_have_text(api["segment_name"])
    expect(page.locator(WHY).first).to_have_text(
        re.compile(r"^Income 60 k\$ is below this segment's usual [\d.]+–[\d.]+ k\$$")
    )
    expect(page.locator(WHY)).to_have_text([item["text"] for item in api["explanation"]["features"]])
    assert page.watch.errors == []
    assert page.watch.foreign_requests() == []


def test_the_122_50_card_explains_its_low_confidence(page, base_url):
    page.goto(base_url + "/")
    _type(page, 122, 50)
    api = httpx.post(base_url + "/api/v1/predict", json={"annual_income": 122, "spending_score": 50}).json()
    expect(page.locator('#result [data-field="confidence"]')).to_have_text(f"{round(api['confidence'] * 100)}%")
    expect(page.locator(CONFIDENCE_TEXT)).to_contain_text("Confidence measures how much nearer")
    expect(page.locator(CONFIDENCE_TEXT)).to_contain_text("here it is low because")
    expect(page.locator(CONFIDENCE_TEXT)).to_contain_text(api["runner_up"]["segment_name"])
    # The tooltip on the word says what confidence measures, with no script from anywhere else.
    title = page.locator("#result .confidence-term").get_attribute("title")
    assert title.startswith("Confidence measures") and "100% at the centre" in title
    assert page.watch.errors == []


def test_without_javascript_the_card_says_why_too(browser, base_url):
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.goto(base_url + "/?annual_income=60&spending_score=5")
        expect(page.locator(WHY).first).to_contain_text("Income 60 k$ is below this segment's usual")
        expect(page.locator(CONFIDENCE_TEXT)).to_contain_text("here it is low because")
    finally:
        context.close()
