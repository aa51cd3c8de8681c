"""/about says when the served model was trained on the bundled synthetic data, and passes axe in Chromium."""

import re
import shutil

import pandas as pd
import pytest

from app.core.config import PROJECT_ROOT
from app.models.synthetic import BUNDLED_SHA256, write_customers
from app.models.training import train
from app.utils.hashing import sha256_file
from tests.web.axe import axe_violations, describe
from tests.web.conftest import PageWatch

HTML = {"accept": "text/html"}


def test_the_bundled_data_hash_is_the_generated_and_committed_files(tmp_path):
    assert sha256_file(write_customers(tmp_path / "regenerated.csv")) == BUNDLED_SHA256
    assert sha256_file(PROJECT_ROOT / "data" / "raw" / "mall_customers.csv") == BUNDLED_SHA256


def test_a_model_trained_on_the_synthetic_data_says_so_up_front(client, model):
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    html = response.text
    notice = re.search(r'<p class="notice notice-page" id="synthetic-data">(.*?)</p>', html, re.S)
    assert notice, "no synthetic-data notice"
    assert "bundled synthetic dataset" in notice.group(1) and "200 customers generated" in notice.group(1)
    assert html.index('id="synthetic-data"') < html.index('id="what-title"')
    fact = re.search(r'data-fact="data_file">(.*?)</dd>', html, re.S).group(1)
    assert model.info["data_file"] in fact and "200 made-up customers" in fact


def activate_version_trained_on(data, model_dir, tmp_path):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    train(data, output_dir=root, k=5, activate=True)
    return root


def test_a_model_trained_on_other_data_names_its_file_and_claims_nothing(client_for, model_dir, tmp_path):
    other = write_customers(tmp_path / "spring_customers.csv", rows=300, seed=5)
    html = client_for(model_dir=activate_version_trained_on(other, model_dir, tmp_path)).get("/about").text
    assert 'id="synthetic-data"' not in html and "made-up" not in html
    assert "<code>spring_customers.csv</code>" in re.search(r'data-fact="data_file">(.*?)</dd>', html, re.S).group(1)


def test_the_synthetic_data_under_another_name_is_still_called_synthetic(client_for, model_dir, tmp_path):
    renamed = write_customers(tmp_path / "customers_2026.csv")
    html = client_for(model_dir=activate_version_trained_on(renamed, model_dir, tmp_path)).get("/about").text
    assert 'id="synthetic-data"' in html and "customers_2026.csv" in html


def test_rows_left_out_by_cleaning_are_counted_and_a_mostly_dropped_file_is_called_out(client_for, model_dir, tmp_path):
    path = write_customers(tmp_path / "mostly_bad.csv", rows=300, seed=7)
    frame = pd.read_csv(path)
    frame.loc[frame.index[:200], "Spending Score (1-100)"] = 150  # out of the score's range: dropped and counted
    frame.to_csv(path, index=False)
    html = client_for(model_dir=activate_version_trained_on(path, model_dir, tmp_path)).get("/about", headers=HTML).text
    left_out = re.search(r'<span id="left-out">(.*?)</span>', html, re.S).group(1)
    # No brackets around it: a reason has its own ("between 1 and 100"), and a closing one was left over.
    assert left_out.startswith(" of 300 rows; 200 left out: 200 ") and left_out.count("(") == left_out.count(")")
    notice = re.search(r'id="mostly-left-out">(.*?)</p>', html, re.S).group(1)
    assert "200 of its 300 rows" in notice and "describe the 100 that did" in notice


def test_a_clean_file_shows_no_left_out_rows(client_for, model_dir, tmp_path):
    other = write_customers(tmp_path / "clean.csv", rows=300, seed=5)
    html = client_for(model_dir=activate_version_trained_on(other, model_dir, tmp_path)).get("/about").text
    assert 'id="left-out"' not in html and 'id="mostly-left-out"' not in html


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 375])
def test_about_page_has_no_axe_violations(browser, base_url, screenshots, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, base_url)
    page.goto(f"{base_url}/about")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    assert page.locator("#synthetic-data").is_visible()
    assert watch.errors == [] and watch.foreign_requests() == []
    page.screenshot(path=str(screenshots / f"about-{width}.png"), full_page=True)
    context.close()


def test_a_segment_of_one_outlier_is_called_out_and_large_numbers_read_plainly(client_for, model_dir, tmp_path):
    path = write_customers(tmp_path / "one_outlier.csv", rows=300, seed=5)
    with path.open("a") as file:
        file.write("9999,Female,40,9999,50\n")  # an income a thousand times the others': a segment of its own
    html = client_for(model_dir=activate_version_trained_on(path, model_dir, tmp_path)).get("/about", headers=HTML).text
    notes = re.findall(r'data-role="small-segment">(.*?)</p>', html, re.S)
    assert len(notes) == 1 and "holds only 1 customer of 301" in notes[0]
    assert ">9,999.0</td>" in html and "9999.0" not in html  # thousands separated
