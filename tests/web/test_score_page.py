"""The /score page without a browser: form, plain form post, summary, download, inline errors."""

import csv
import io
import re

from app.web import results
from tests.recorded import customer_file, logged, recording_client, snapshot
from tests.services.test_scoring import BAD_FILE, BAD_REASONS

DOWNLOAD = re.compile(r'id="score-download" class="button" href="(/score/download/[0-9a-f]{32})"')


def post_file(client, data: bytes, name: str = "mall.csv", **fields: str):
    """Submit the upload form as a browser without JavaScript would."""
    return client.post("/score", files={"file": (name, data, "text/csv")}, data=fields, headers={"accept": "text/html"})


def test_score_form_is_linked_from_every_page(client):
    for path in ("/", "/about", "/score"):
        assert 'href="/score"' in client.get(path).text
    form = client.get("/score")
    assert form.status_code == 200
    assert 'enctype="multipart/form-data"' in form.text and 'name="file"' in form.text
    assert re.search(r'href="[^"]*/score" aria-current="page">Score', form.text)


def test_form_post_shows_summary_and_download(client, default_data):
    data = default_data.read_bytes()
    page = post_file(client, data, on_error="flag", delimiter="")
    assert page.status_code == 200
    assert "200 customers scored" in page.text
    assert page.text.count('<g class="bar"') == 5
    assert page.text.count("<tr data-segment-id=") == 5
    assert page.text.count('class="points"') == 1
    download = client.get(DOWNLOAD.search(page.text).group(1))
    assert download.status_code == 200
    assert download.headers["content-disposition"] == 'attachment; filename="mall_segmented.csv"'
    api = client.post("/api/v1/predict/csv", content=data, headers={"content-type": "text/csv"})
    assert download.content == api.content


def test_form_post_with_bad_rows_lists_reasons(client):
    page = post_file(client, BAD_FILE.encode(), on_error="skip")
    assert page.status_code == 200
    assert "2 customers scored" in page.text
    for reason, count in BAD_REASONS.items():
        assert f'<tr><th scope="row">{reason}</th><td>{count}</td></tr>' in page.text
    rows = list(csv.DictReader(io.StringIO(client.get(DOWNLOAD.search(page.text).group(1)).text)))
    assert [row["CustomerID"] for row in rows] == ["1", "9"]


def test_form_post_mapping_and_semicolons(client):
    page = post_file(client, b"ref;revenue;score\nA;120;90\n", income_column="revenue", spending_column="score")
    assert page.status_code == 200
    assert "1 customers scored" in page.text


def test_form_errors_are_shown_on_the_form(client, client_for, default_data):
    missing = post_file(client, b"name,email\nAda,a@example.com\n")
    assert missing.status_code == 422
    assert "The file could not be scored." in missing.text and "found: &#39;name&#39;, &#39;email&#39;" in missing.text
    rejected = post_file(client, BAD_FILE.encode(), on_error="reject")
    assert rejected.status_code == 422 and "line 3 is not usable" in rejected.text
    bad_option = post_file(client, BAD_FILE.encode(), on_error="ignore")
    assert bad_option.status_code == 422 and "on_error" in bad_option.text
    small = client_for(max_upload_bytes=2_048)
    too_big = post_file(small, default_data.read_bytes())
    assert too_big.status_code == 413 and "byte limit" in too_big.text
    for page in (missing, rejected, too_big):
        assert 'id="score-form"' in page.text and "Traceback" not in page.text


def test_unknown_download_is_a_404_page(client):
    response = client.get("/score/download/" + "0" * 32, headers={"accept": "text/html"})
    assert response.status_code == 404
    assert "not available any more" in response.text
    assert client.get("/score/download/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_old_results_are_purged(tmp_path):
    token, path = results.result_path(tmp_path, name="old")
    path.write_text("x")
    assert results.find_result(tmp_path, token) == path
    assert results.purge_results(tmp_path, max_age_seconds=60, now=path.stat().st_mtime + 30) == 0
    assert results.purge_results(tmp_path, max_age_seconds=60, now=path.stat().st_mtime + 61) == 1
    assert results.find_result(tmp_path, token) is None


def test_form_keeps_the_chosen_options_after_an_error(client):
    page = post_file(
        client,
        b"ref;revenue;score\nA;120;90\n",
        on_error="skip",
        delimiter="semicolon",
        income_column="revenue",
        spending_column="spend",
        id_column="ref",
    )
    assert page.status_code == 422
    assert "names &#39;spend&#39; for spending_score" in page.text
    assert '<option value="skip" selected>' in page.text and '<option value="semicolon" selected>' in page.text
    for field, value in [("income_column", "revenue"), ("spending_column", "spend"), ("id_column", "ref")]:
        assert f'name="{field}" type="text" maxlength="200" value="{value}"' in page.text
    assert '<details class="options" open>' in page.text


def test_a_header_only_file_is_explained_not_charted(client):
    kept = client.app.state.settings.score_results_dir
    before = set(kept.iterdir()) if kept.exists() else set()
    page = post_file(client, b"Annual Income (k$),Spending Score (1-100)\n")
    assert page.status_code == 422
    assert "the file has a header but no customer rows below it" in page.text
    assert DOWNLOAD.search(page.text) is None
    assert set(kept.iterdir()) == before  # no empty labelled file kept for download


def test_a_file_refused_late_counts_and_logs_nothing_and_keeps_no_download(client_for, tmp_path):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    before = snapshot(client)
    page = post_file(client, customer_file(100_001, bad_line=99_990), on_error="reject")
    assert page.status_code == 422
    assert "line 99990 is not usable" in page.text
    assert snapshot(client) == before
    assert list((tmp_path / "results").iterdir()) == []  # no labelled file, not even a partial one


def test_a_scored_file_is_logged_in_full_and_counted_once(client_for, tmp_path):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    before = snapshot(client)
    page = post_file(client, customer_file(3_000))
    assert page.status_code == 200
    after = snapshot(client)
    assert after["predictions csv"] - before["predictions csv"] == 3_000
    assert after["sizes csv"] - before["sizes csv"] == 1
    assert after["logged"] - before["logged"] == logged(client, "csv") == 3_000
