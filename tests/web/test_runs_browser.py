"""Runs in Chromium: score a file on /score, open its run, filter a segment, open every drift check, download the list
and the PDF report, compare with an earlier run. Screenshots at 1280 and 375 px go to tests/artifacts/."""

import csv
import io

import httpx
import pytest
from playwright.sync_api import expect

from tests.pdf_pages import coloured_pixels, filled_share, read_pdf
from tests.runs_files import customers_csv
from tests.web.screens import WIDTHS

pytestmark = pytest.mark.slow


def test_score_open_the_run_filter_download_and_compare(browser, base_url, tmp_path, screenshots):
    earlier = httpx.post(
        base_url + "/api/v1/predict/csv",
        content=customers_csv(range(0, 300), seed=11),
        headers={"content-type": "text/csv"},
    )
    assert earlier.status_code == 200
    earlier_id = earlier.headers["x-run-id"]
    source = tmp_path / "april.csv"
    source.write_text(customers_csv(range(40, 340), seed=12))

    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.goto(base_url + "/score")
    page.set_input_files("#score-file", str(source))
    page.click("#score-submit")
    expect(page.locator("#score-result")).to_be_visible()
    page.click("#score-run")
    expect(page.locator("h1")).to_have_text("Run april")
    run_url = page.url

    segment = page.locator("#segment option").nth(1).inner_text()
    page.select_option("#segment", label=segment)
    page.click("#browse-apply")
    expect(page.locator("#customers tbody tr").first).to_be_visible()
    shown = page.locator('#customers td[data-role="segment"]').all_inner_texts()
    assert shown and set(shown) == {segment}
    total = int(page.locator('[data-role="total"]').inner_text().replace(",", ""))
    with page.expect_download() as download:
        page.click("#browse-export")
    saved = tmp_path / "list.csv"
    download.value.save_as(saved)
    listed = list(csv.DictReader(io.StringIO(saved.read_text())))
    assert len(listed) == total and {row["segment_name"] for row in listed} == {segment}
    # Every drift check opens as a table on the page itself, not as the API's JSON.
    page.click("#run-drift-details summary")
    expect(page.locator("#run-drift-checks tr[data-check]").first).to_be_visible()
    assert page.url.startswith(run_url)
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"run-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width

    # The run's PDF report, as people see it: its pages as PNG images, with every segment, text and charts.
    page.set_viewport_size({"width": 1280, "height": 900})
    with page.expect_download() as download:
        page.click("#run-report-pdf")
    report = tmp_path / "report.pdf"
    download.value.save_as(report)
    pages = read_pdf(report.read_bytes(), tmp_path / "pages")
    assert pages.pixels and "april" in pages.text and segment in pages.text
    assert sum(coloured_pixels(pixels) for pixels in pages.pixels) > 0  # the charts are drawn
    assert all(filled_share(pixels) >= 0.5 for pixels in pages.pixels[:-1])  # no page mostly empty but the last

    page.goto(run_url)
    page.select_option("#compare-with", value=earlier_id)
    page.click("#compare-go")
    expect(page.locator("h1")).to_have_text("Who moved segments")
    moved = int(page.locator('[data-fact="moved"]').inner_text().replace(",", ""))
    run_id = run_url.rsplit("/", 1)[1]
    answer = httpx.get(f"{base_url}/api/v1/runs/{earlier_id}/compare/{run_id}").json()
    assert moved == answer["moved"] > 0
    expect(page.locator("#migration-matrix tbody tr")).to_have_count(len(answer["matrix"]["from"]))
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"run-compare-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.goto(base_url + "/runs")
    expect(page.locator(f'#runs tr[data-run="{run_id}"]')).to_be_visible()
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        page.screenshot(path=str(screenshots / f"runs-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth") <= width
    context.close()
