"""The /score page in Chromium: upload with progress, drag and drop, summary, download, problems explained in place;
and without JavaScript. Screenshots at 1280 and 375 px go to a temporary folder; axe checks every state shown."""

import csv
import io
import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.live_server import live_server
from tests.services.test_scoring import BAD_FILE, BAD_REASONS
from tests.web.axe import axe_violations, describe
from tests.web.conftest import PageWatch
from tests.web.screens import WIDTHS, screenshot
from tests.web.test_score_page import DOLLARS

pytestmark = pytest.mark.slow


def api_scored(base_url: str, data: bytes) -> bytes:
    """The same file through the API."""
    response = httpx.post(base_url + "/api/v1/predict/csv", content=data, headers={"content-type": "text/csv"})
    assert response.status_code == 200
    return response.content


def test_upload_with_progress_summary_and_download(page, base_url, default_data, tmp_path, screenshots):
    page.goto(base_url + "/score")
    page.set_input_files("#score-file", str(default_data))
    expect(page.locator("#score-file-name")).to_have_text("Selected: " + default_data.name)
    held = []
    page.route("**/score", lambda route: held.append(route) if route.request.method == "POST" else route.continue_())
    page.click("#score-submit")
    expect(page.locator("#score-progress")).to_be_visible()
    # Held by the route, the request shows the indicator: uploading, or scoring once the body is sent.
    expect(page.locator("#score-progress-text")).to_contain_text(re.compile("Uploading|Scoring"))
    expect(page.locator("#score-submit")).to_be_disabled()
    while not held:
        page.wait_for_timeout(20)
    held[0].continue_()
    expect(page.locator("#score-result")).to_be_visible()
    assert page.url == base_url + "/score"  # the page was updated in place, not navigated
    expect(page.locator("#result-title")).to_have_text("200 customers scored")
    expect(page.locator("#score-bars g.bar")).to_have_count(5)
    expect(page.locator("#score-profile tbody tr")).to_have_count(5)
    assert page.locator("#segment-map .points path").count() == 200
    with page.expect_download() as download:
        page.click("#score-download")
    saved = tmp_path / "labelled.csv"
    download.value.save_as(saved)
    assert download.value.suggested_filename == "mall_customers_segmented.csv"
    assert saved.read_bytes() == api_scored(base_url, default_data.read_bytes())
    assert page.watch.errors == [] and page.watch.foreign_requests() == []
    page.screenshot(path=str(screenshots / "score.png"), full_page=True)


def test_scored_profiles_stack_on_a_phone(browser, base_url, default_data):
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    page.goto(base_url + "/score")
    page.set_input_files("#score-file", str(default_data))
    page.click("#score-submit")
    expect(page.locator("#score-result")).to_be_visible()
    # The profiles stack into label-value cards rather than a table wider than the phone.
    table = page.locator("#score-profile table")
    assert table.evaluate("t => t.scrollWidth <= t.parentElement.clientWidth + 1")
    assert table.locator("td >> nth=0").evaluate("td => getComputedStyle(td, '::before').content") == '"Customers"'
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    context.close()


def test_drag_and_drop_a_file_with_bad_rows(page, base_url):
    page.goto(base_url + "/score")
    transfer = page.evaluate_handle(
        """(text) => { const t = new DataTransfer();
             t.items.add(new File([text], "bad.csv", {type: "text/csv"})); return t; }""",
        BAD_FILE,
    )
    page.dispatch_event("#dropzone", "dragover", {"dataTransfer": transfer})
    expect(page.locator("#dropzone")).to_have_class("dropzone is-dragging")
    page.dispatch_event("#dropzone", "drop", {"dataTransfer": transfer})
    expect(page.locator("#score-file-name")).to_have_text("Selected: bad.csv")
    page.locator("details.options summary").click()
    page.select_option("#on_error", "skip")
    page.click("#score-submit")
    expect(page.locator("#result-title")).to_have_text("2 customers scored")
    rows = page.locator("#score-bad-rows tbody tr")
    expect(rows).to_have_count(len(BAD_REASONS))
    found = {row.locator("th").inner_text(): int(row.locator("td").inner_text()) for row in rows.all()}
    assert found == BAD_REASONS
    assert page.watch.errors == []


def test_bad_file_shows_the_error_in_place(page, base_url, tmp_path):
    wrong = tmp_path / "wrong.csv"
    wrong.write_text("name,email\nAda,a@example.com\n")
    page.goto(base_url + "/score")
    page.set_input_files("#score-file", str(wrong))
    page.click("#score-submit")
    expect(page.locator("#score-error")).to_contain_text("found: 'name', 'email'")
    expect(page.locator("#score-submit")).to_be_enabled()


def test_score_page_works_without_javascript(browser, base_url, default_data, tmp_path):
    context = browser.new_context(java_script_enabled=False, accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        page.click("text=Score a file")
        expect(page).to_have_url(base_url + "/score")
        page.set_input_files("#score-file", str(default_data))
        page.click("#score-submit")
        expect(page.locator("#result-title")).to_have_text("200 customers scored")
        expect(page.locator("#score-bars g.bar")).to_have_count(5)
        with page.expect_download() as download:
            page.click("#score-download")
        saved = tmp_path / "labelled.csv"
        download.value.save_as(saved)
        assert saved.read_bytes() == api_scored(base_url, default_data.read_bytes())

        bad = tmp_path / "bad.csv"
        bad.write_text(BAD_FILE)
        page.goto(base_url + "/score")
        page.set_input_files("#score-file", str(bad))
        page.click("#score-submit")
        expect(page.locator("#result-title")).to_have_text("2 customers scored")
        expect(page.locator("#score-facts [data-fact=bad_rows]")).to_contain_text("7")
        rows = list(csv.DictReader(io.StringIO(api_scored(base_url, BAD_FILE.encode()).decode())))
        assert len(rows) == 8  # flag (the default) keeps every splittable row
    finally:
        context.close()


def open_page(browser, base_url: str, width: int, *, javascript: bool = True, score_js: bool = True):
    """A fresh context at a width; `score_js=False` blocks score.js alone, for axe on the page as it is without it."""
    context = browser.new_context(viewport={"width": width, "height": 900}, java_script_enabled=javascript)
    page = context.new_page()
    page.watch = PageWatch(page, base_url)
    if not score_js:
        page.route("**/js/score.js*", lambda route: route.abort())
    return context, page


def assert_accessible(page) -> None:
    """No axe violation on the page as it is now (axe runs in the page: JavaScript must be on)."""
    violations = axe_violations(page)
    assert violations == [], describe(violations)


def assert_fits(page) -> None:
    """Nothing wider than the screen."""
    assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")


def unexpected_errors(page, *statuses: int) -> list[str]:
    """Console errors, less the browser's own line for each expected error answer."""
    return [error for error in page.watch.errors if not any(f"status of {status}" in error for status in statuses)]


@pytest.mark.parametrize("width", WIDTHS)
def test_the_score_page_and_its_result_pass_axe(browser, base_url, default_data, width):
    context, page = open_page(browser, base_url, width)
    try:
        page.goto(base_url + "/score")
        assert_accessible(page)
        screenshot(page, "score-form")
        page.set_input_files("#score-file", str(default_data))
        page.click("#score-submit")
        expect(page.locator("#score-result")).to_be_visible()
        expect(page.locator("#result-title")).to_be_focused()
        assert_accessible(page)
        assert_fits(page)
        screenshot(page, "score-result")
        assert page.watch.errors == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_file_where_no_row_scores_says_why_at_the_top_without_download_or_charts(browser, base_url, tmp_path, width):
    dollars = tmp_path / "dollars.csv"
    dollars.write_text(DOLLARS)
    context, page = open_page(browser, base_url, width)
    try:
        page.goto(base_url + "/score")
        page.set_input_files("#score-file", str(dollars))
        page.click("#score-submit")
        banner = page.locator("#score-error")
        expect(banner).to_contain_text(
            "No customer could be scored: values look like dollars (such as 20000); this model expects k$"
        )
        expect(banner).to_be_focused()
        expect(banner).to_be_in_viewport()
        assert banner.bounding_box()["y"] < page.locator("#score-form").bounding_box()["y"]  # at the top
        for gone in ("#score-download", "#score-result", "#score-bars", "#segment-map", "#score-profile"):
            expect(page.locator(gone)).to_have_count(0)
        expect(page.locator("#score-bad-rows tbody tr")).to_have_count(1)
        expect(page.locator("#score-bad-rows tbody td")).to_have_text("300")
        assert_accessible(page)
        assert_fits(page)
        screenshot(page, "score-nothing-scored")
        assert unexpected_errors(page, 422) == []
    finally:
        context.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_after_an_error_the_file_and_options_stay_and_the_fix_needs_no_new_choice(browser, base_url, tmp_path, width):
    mine = tmp_path / "mine.csv"
    mine.write_text("ref;revenue;score\nA;120;90\nB;20;10\n")
    context, page = open_page(browser, base_url, width)
    try:
        page.goto(base_url + "/score")
        page.set_input_files("#score-file", str(mine))
        page.locator("details.options summary").click()
        page.select_option("#on_error", "skip")
        page.locator("details.options summary").click()  # folded again before sending
        page.click("#score-submit")
        banner = page.locator("#score-error")
        expect(banner).to_contain_text("or name yours under Options, in the “Column in your file for …” fields")
        assert "income_column=" not in banner.inner_text()
        expect(banner).to_be_focused()
        # The form was not replaced: the file is still chosen, the options still set, and now shown.
        assert page.locator("#score-file").evaluate("input => [...input.files].map(file => file.name)") == ["mine.csv"]
        expect(page.locator("#score-file-name")).to_have_text("Selected: mine.csv")
        expect(page.locator("details.options")).to_have_attribute("open", "")
        expect(page.locator("#on_error")).to_have_value("skip")
        expect(page.locator("#score-file-again")).to_have_count(0)  # nothing to choose again
        expect(page.locator("#score-submit")).to_be_enabled()
        assert_accessible(page)
        assert_fits(page)
        screenshot(page, "score-error")

        page.fill("#column_annual_income", "revenue")
        page.fill("#column_spending_score", "score")
        page.click("#score-submit")
        expect(page.locator("#result-title")).to_have_text("2 customers scored")
        expect(page.locator("#result-title")).to_be_focused()
        expect(banner).to_have_count(0)
        assert unexpected_errors(page, 422) == []
    finally:
        context.close()


def _send_with_a_wrong_column(page, base_url: str, path) -> None:
    page.goto(base_url + "/score")
    page.set_input_files("#score-file", str(path))
    page.locator("details.options summary").click()
    page.fill("#column_annual_income", "income")
    page.click("#score-submit")


@pytest.mark.parametrize("width", WIDTHS)
def test_without_javascript_an_error_is_focused_and_asks_for_the_file_again(browser, base_url, tmp_path, width):
    mine = tmp_path / "mine.csv"
    mine.write_text("ref,revenue,score\nA,120,90\n")
    context, page = open_page(browser, base_url, width, javascript=False)
    try:
        _send_with_a_wrong_column(page, base_url, mine)
        banner = page.locator("#score-error")
        expect(banner).to_contain_text(
            "Column in your file for Annual Income (k$) names 'income', which the file does not have"
        )
        assert page.evaluate("document.activeElement.id") == "score-error"
        expect(page.locator("#score-file-again")).to_be_visible()
        expect(page.locator("#score-file-again")).to_contain_text("Choose the file again")
        expect(page.locator("details.options")).to_have_attribute("open", "")
        expect(page.locator("#column_annual_income")).to_have_value("income")
        assert_fits(page)
        screenshot(page, "score-error-no-js")
    finally:
        context.close()
    # axe needs JavaScript in the page: the same answer, with only the page's own script kept out.
    context, page = open_page(browser, base_url, width, score_js=False)
    try:
        _send_with_a_wrong_column(page, base_url, mine)
        expect(page.locator("#score-file-again")).to_be_visible()
        assert_accessible(page)
    finally:
        context.close()


def test_a_refusal_before_the_form_is_read_is_shown_in_place(browser, model_dir, tmp_path, default_data):
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "RATE_LIMIT_PREDICT": "1/minute"}
    with live_server(env, tmp_path / "server.log") as server:
        context, page = open_page(browser, server.url, 1280)
        try:
            page.goto(server.url + "/score")
            page.set_input_files("#score-file", str(default_data))
            page.click("#score-submit")
            expect(page.locator("#result-title")).to_have_text("200 customers scored")
            page.click("#score-submit")  # the same file again: over the limit of one a minute
            banner = page.locator("#score-error")
            expect(banner).to_contain_text("The file could not be scored. Too many requests")
            expect(banner).to_contain_text("retry after")
            expect(banner).to_be_focused()
            expect(page.locator("#score-result")).to_have_count(0)
            expect(page.locator("#score-file-name")).to_have_text("Selected: " + default_data.name)
            expect(page.locator("#score-submit")).to_be_enabled()
            assert unexpected_errors(page, 429) == []
        finally:
            context.close()
