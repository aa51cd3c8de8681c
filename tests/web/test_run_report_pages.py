"""The report buttons and the drift verdict on the /score result and on a run's page."""

import html
import re
from pathlib import Path

import pytest

from tests.runs_files import client_builder, customers_csv, score
from tests.web.test_runs_pages import RUN_LINK
from tests.web.test_score_page import HTML, post_file


@pytest.fixture
def pages(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)()


def test_the_score_result_links_the_runs_report(pages):
    page = post_file(pages, customers_csv(range(40)).encode(), name="march.csv")
    run_id = RUN_LINK.search(page.text).group(1)
    link = re.search(r'id="score-run-report" class="[^"]+" href="([^"]+)"', page.text)
    assert link is not None
    response = pages.get(html.unescape(link.group(1)))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/pdf")
    assert f"/api/v1/runs/{run_id}/report" in link.group(1)


def test_the_run_page_has_report_buttons_and_its_drift_verdict(pages):
    page = post_file(pages, customers_csv(range(150)).encode(), name="april.csv")
    run_id = RUN_LINK.search(page.text).group(1)
    run_page = pages.get(f"/runs/{run_id}", headers=HTML)
    assert run_page.status_code == 200
    for button, media_type in (("run-report-pdf", "application/pdf"), ("run-report-html", "text/html")):
        link = re.search(rf'id="{button}" class="[^"]+" href="([^"]+)"', run_page.text)
        assert link is not None, button
        response = pages.get(html.unescape(link.group(1)))
        assert response.status_code == 200 and response.headers["content-type"].startswith(media_type)
    drift = pages.get(f"/api/v1/runs/{run_id}/drift").json()
    section = re.search(
        r'<section class="card" aria-labelledby="run-drift-title" id="run-drift">.*?</section>', run_page.text, re.S
    )
    assert section is not None
    assert f'data-drift-status="{drift["status"]}"' in section.group(0)
    shown = html.unescape(section.group(0))
    assert drift["messages"] and all(message in shown for message in drift["messages"])


def test_the_run_pages_drift_section_shows_every_check_in_a_table(pages):
    run_id, _ = score(pages, customers_csv(range(150)))
    drift = pages.get(f"/api/v1/runs/{run_id}/drift").json()
    section = re.search(r'id="run-drift">.*?</section>', pages.get(f"/runs/{run_id}", headers=HTML).text, re.S)[0]
    rows = dict(re.findall(r'<tr data-check="([^"]+)">.*?data-status="([^"]+)"', section, re.S))
    expected = {check["feature"]: check["status"] for check in drift["features"]}
    expected |= {"segment_mix": drift["segment_mix"]["status"]} | {r["check"]: r["status"] for r in drift["rates"]}
    assert len(expected) >= 4 and rows == expected
    # Links stay in HTML: the JSON answer is offered to developers by name, never as the checks themselves.
    links = re.findall(r'<a [^>]*href="([^"]+)"[^>]*>([^<]+)</a>', section)
    assert all("JSON" in text for href, text in links if href.startswith("/api/"))
