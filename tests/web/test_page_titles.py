"""Page titles tell pages apart: the segmentation when not the default, a score's outcome, a run's date."""

import html
import re
from pathlib import Path

import pytest

from tests.runs_files import client_builder, customers_csv
from tests.web.test_score_page import HTML, post_file

RUN_LINK = re.compile(r'id="score-run" class="button button-secondary" href="/runs/([0-9a-f]{32})"')


def _title(page: str) -> str:
    return html.unescape(re.search(r"<title>(.*?)</title>", page, re.S).group(1))


@pytest.fixture
def pages(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)()


@pytest.mark.parametrize("path", ["/", "/models", "/about"])
def test_a_page_of_another_segmentation_names_it_in_the_title(segmented, path):
    default = segmented.get(path, headers=HTML)
    crm = segmented.get(path, params={"segmentation": "crm"}, headers=HTML)
    assert default.status_code == crm.status_code == 200
    assert "crm" not in _title(default.text) and _title(default.text).endswith(" · Customer Segmentation")
    assert _title(crm.text).endswith(" · crm · Customer Segmentation"), _title(crm.text)


def test_a_score_result_or_error_has_its_own_title(pages):
    form = pages.get("/score", headers=HTML)
    assert _title(form.text) == "Score a customer file · Customer Segmentation"
    scored = post_file(pages, customers_csv(range(40)).encode(), name="march.csv")
    assert scored.status_code == 200
    assert _title(scored.text) == "Scored: march · Customer Segmentation"
    refused = post_file(pages, b"name,age\nx,1\n", name="wrong.csv")
    assert _title(refused.text) == "Not scored · Customer Segmentation", refused.status_code


def test_two_runs_of_one_file_have_different_titles(pages):
    titles = set()
    for _ in range(2):
        page = post_file(pages, customers_csv(range(40)).encode(), name="messy.csv")
        run_id = RUN_LINK.search(page.text).group(1)
        run = pages.get(f"/runs/{run_id}", headers=HTML)
        assert run.status_code == 200
        title = _title(run.text)
        assert title.startswith("Run messy") and run_id[:8] in title, title
        titles.add(title)
    assert len(titles) == 2
