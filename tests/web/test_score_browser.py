"""The /score page in Chromium: upload with progress, drag and drop, summary, download; and without JavaScript."""

import csv
import io
import re

import httpx
from playwright.sync_api import expect

from tests.services.test_scoring import BAD_FILE, BAD_REASONS


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
