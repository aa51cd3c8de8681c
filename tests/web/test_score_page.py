"""The /score page without a browser: form, plain form post, summary, download, inline errors, limits."""

import csv
import errno
import io
import os
import re
import tempfile

import pytest

from app.web import results
from tests.recorded import customer_file, logged, recording_client, snapshot
from tests.services.test_scoring import BAD_FILE, BAD_REASONS

DOWNLOAD = re.compile(r'id="score-download" class="button" href="(/score/download/[0-9a-f]{32})"')
FORM_TOKEN = re.compile(r'<input type="hidden" name="form_token" value="([A-Za-z0-9_-]+)">')
HTML = {"accept": "text/html"}


def form_token(client) -> str:
    """The form's token, as a browser gets it: in the page, and in the cookie that comes with it."""
    page = client.get("/score", headers=HTML)
    assert page.status_code == 200
    return FORM_TOKEN.search(page.text).group(1)


def post_file(client, data: bytes, name: str = "mall.csv", *, headers: dict | None = None, **fields: str):
    """Submit the upload form as a browser without JavaScript would: the page first, then the form with its token."""
    return client.post(
        "/score",
        files={"file": (name, data, "text/csv")},
        data={"form_token": form_token(client), **fields},
        headers={**HTML, **(headers or {})},
    )


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


def test_a_page_download_keeps_a_non_ascii_upload_name(client, default_data):
    page = post_file(client, default_data.read_bytes(), "клиенты.csv", on_error="flag", delimiter="")
    assert page.status_code == 200
    download = client.get(DOWNLOAD.search(page.text).group(1))
    assert download.status_code == 200
    cyrillic = "%D0%BA%D0%BB%D0%B8%D0%B5%D0%BD%D1%82%D1%8B"  # клиенты
    assert download.headers["content-disposition"] == (
        f"attachment; filename=\"segmented.csv\"; filename*=UTF-8''{cyrillic}_segmented.csv"
    )


def test_form_post_with_bad_rows_lists_reasons(client):
    page = post_file(client, BAD_FILE.encode(), on_error="skip")
    assert page.status_code == 200
    assert "2 customers scored" in page.text
    for reason, count in BAD_REASONS.items():
        assert f'<tr><th scope="row">{reason}</th><td>{count}</td></tr>' in page.text
    rows = list(csv.DictReader(io.StringIO(client.get(DOWNLOAD.search(page.text).group(1)).text)))
    assert [row["CustomerID"] for row in rows] == ["1", "9"]


def test_form_post_mapping_and_semicolons(client):
    page = post_file(
        client, b"ref;revenue;score\nA;120;90\n", column_annual_income="revenue", column_spending_score="score"
    )
    assert page.status_code == 200
    assert "1 customer scored" in page.text


def test_form_errors_are_shown_on_the_form(client, client_for, default_data):
    missing = post_file(client, b"name,email\nAda,a@example.com\n")
    assert missing.status_code == 422
    assert "The file could not be scored." in missing.text and "found: &#39;name&#39;, &#39;email&#39;" in missing.text
    rejected = post_file(client, BAD_FILE.encode(), on_error="reject")
    assert rejected.status_code == 422 and "Line 3 is not usable" in rejected.text
    bad_option = post_file(client, BAD_FILE.encode(), on_error="ignore")
    assert bad_option.status_code == 422 and "Bad rows: Input should be" in bad_option.text
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
        column_annual_income="revenue",
        column_spending_score="spend",
        id_column="ref",
    )
    assert page.status_code == 422
    assert '<option value="skip" selected>' in page.text and '<option value="semicolon" selected>' in page.text
    assert "Column in your file for Spending Score (1-100) names &#39;spend&#39;, which the file does not have" in (
        page.text
    )
    for field, value in [("column_annual_income", "revenue"), ("column_spending_score", "spend"), ("id_column", "ref")]:
        assert f'name="{field}" type="text" maxlength="200" value="{value}"' in page.text
    assert '<details class="options" open>' in page.text


def test_a_header_only_file_is_explained_not_charted(client):
    kept = client.app.state.settings.score_results_dir
    before = set(kept.iterdir()) if kept.exists() else set()
    page = post_file(client, b"Annual Income (k$),Spending Score (1-100)\n")
    assert page.status_code == 422
    assert "The file has a header but no customer rows below it" in page.text
    assert DOWNLOAD.search(page.text) is None
    assert set(kept.iterdir()) == before  # no empty labelled file kept for download


def test_a_file_refused_late_counts_and_logs_nothing_and_keeps_no_download(client_for, tmp_path):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    before = snapshot(client)
    page = post_file(client, customer_file(100_001, bad_line=99_990), on_error="reject")
    assert page.status_code == 422
    assert "Line 99990 is not usable" in page.text
    assert snapshot(client) == before
    assert _files(tmp_path / "results") == []  # no labelled file, not even a partial one


def test_a_scored_file_is_logged_in_full_and_counted_once(client_for, tmp_path):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    before = snapshot(client)
    page = post_file(client, customer_file(3_000))
    assert page.status_code == 200
    after = snapshot(client)
    assert after["predictions csv"] - before["predictions csv"] == 3_000
    assert after["sizes csv"] - before["sizes csv"] == 1
    assert after["logged"] - before["logged"] == logged(client, "csv") == 3_000


# --- After an error: the form's own words, the options kept and shown, the focus on the problem ---


@pytest.mark.parametrize(
    ("data", "fields", "page_words", "api_words"),
    [
        (
            b"name,email\nAda,a@example.com\n",
            {},
            "or name yours under Options, in the “Column in your file for …” fields",
            "income_column=",
        ),
        (BAD_FILE.encode(), {"on_error": "reject"}, "under Options choose Bad rows", "on_error="),
        (
            b"ref,revenue,score\nA,120,90\n",
            {"column_annual_income": "revenue", "column_spending_score": "revenue"},
            "Annual Income (k$) and Spending Score (1-100) would both be read from &#39;revenue&#39;: under Options, "
            "give each its own column",
            "column=",
        ),
        (
            b"ref,revenue,score\nA,120,90\n",
            {"column_annual_income": "income"},
            "Column in your file for Annual Income (k$) names &#39;income&#39;, which the file does not have",
            "for annual_income",
        ),
        (b"a,b\n1,2\n", {"id_column": "x" * 201}, "Customer id column: String should have at most", "id_column:"),
    ],
)
def test_errors_name_the_forms_fields_not_the_apis_parameters(client, data, fields, page_words, api_words):
    page = post_file(client, data, **fields)
    assert page.status_code == 422
    message = page.text.split('id="score-error"')[1].split("</div>")[0]
    assert page_words in message
    assert api_words not in message


def test_an_error_focuses_the_message_keeps_the_options_open_and_asks_for_the_file_again(client):
    page = post_file(client, b"name,email\nAda,a@example.com\n", delimiter="comma")
    assert page.status_code == 422
    assert '<div id="score-error" class="banner" role="alert" tabindex="-1" autofocus>' in page.text
    assert '<details class="options" open>' in page.text
    assert '<option value="comma" selected>' in page.text
    # Without JavaScript the browser has dropped the file: the page says so, next to the file input.
    assert '<p id="score-file-again" class="file-again"><strong>Choose the file again</strong>' in page.text
    assert 'aria-describedby="score-file-help score-file-again"' in page.text


def test_the_choose_again_note_is_only_shown_after_a_problem(client, default_data):
    for page in (client.get("/score", headers=HTML), post_file(client, default_data.read_bytes())):
        assert page.status_code == 200
        assert "score-file-again" not in page.text and "autofocus" not in page.text
        assert '<details class="options">' in page.text  # nothing set, no problem: Options stay folded


# --- A file where every row fails says why, with no download and no empty charts ---

DOLLARS = "Annual Income (k$),Spending Score (1-100)\n" + "".join(
    f"{20_000 + 1_000 * n},{1 + n % 99}\n" for n in range(300)
)
# In a ';' file decimal commas are read; in a ',' file (quoted) they are not.
DECIMAL_COMMAS = "Annual Income (k$),Spending Score (1-100)\n" + "".join(
    f'"{20 + n % 100},5","{1 + n % 99},5"\n' for n in range(300)
)


@pytest.mark.parametrize(
    ("text", "cause", "reason"),
    [
        (DOLLARS, "values look like dollars (such as 20000); this model expects k$", "Annual Income (k$) out of range"),
        (
            DECIMAL_COMMAS,
            "the incomes use decimal commas (such as &#39;20,5&#39;); this model reads decimal points",
            "Annual Income (k$) is not a number",
        ),
    ],
    ids=["dollars", "decimal commas"],
)
def test_a_file_where_no_row_scores_says_why_and_offers_nothing_to_download(client_for, tmp_path, text, cause, reason):
    client = recording_client(client_for, tmp_path, score_results_dir=tmp_path / "results")
    before = snapshot(client)
    page = post_file(client, text.encode())
    assert page.status_code == 422
    banner = page.text.split('id="score-error"')[1].split("</div>")[0]
    assert "<strong>No customer could be scored:</strong>" in banner and cause in banner
    assert "customers scored" not in page.text
    assert DOWNLOAD.search(page.text) is None and "score-download" not in page.text
    assert '<g class="bar"' not in page.text and 'class="points"' not in page.text and "score-profile" not in page.text
    # The row reasons name the file's own column, as the user wrote it.
    assert re.search(
        rf'<tr><th scope="row">{re.escape(reason)}[^<]*</th><td data-label="Rows">300</td></tr>', page.text
    )
    assert '<details class="options" open>' in page.text
    assert _files(tmp_path / "results") == []  # no labelled file kept for a download nobody is offered
    assert snapshot(client) == before  # nothing scored, nothing counted or logged


# --- Limits: uploads count as predictions, and the kept files have a total size ---


def test_score_uploads_count_against_the_prediction_limit(client_for, default_data):
    client = client_for(rate_limit_predict="3/minute")
    token = form_token(client)  # viewing the page is not limited
    assert client.post("/api/v1/predict", json={"annual_income": 60, "spending_score": 50}).status_code == 200
    assert post_file(client, default_data.read_bytes()).status_code == 200
    assert post_file(client, default_data.read_bytes()).status_code == 200
    refused = client.post(
        "/score",
        files={"file": ("mall.csv", default_data.read_bytes(), "text/csv")},
        data={"form_token": token},
        headers={"accept": "*/*"},
    )
    assert refused.status_code == 429
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.headers["content-type"].startswith("text/html")
    assert ">Too many requests</h1>" in refused.text and "retry after" in refused.text


def _kept(folder):
    """The labelled files kept for download (runs keep theirs in the folder's runs/)."""
    return sorted(path.name for path in folder.iterdir() if path.is_file()) if folder.exists() else []


def _files(folder):
    """Every file under the results folder, downloads and runs alike."""
    return sorted(path for path in folder.rglob("*") if path.is_file())


def test_the_results_folder_keeps_to_its_cap_by_dropping_the_oldest(client, client_for, default_data, tmp_path):
    folder = tmp_path / "results"
    labelled = client.post(
        "/api/v1/predict/csv", content=default_data.read_bytes(), headers={"content-type": "text/csv"}
    )
    assert labelled.status_code == 200
    run_bytes = client.get(f"/api/v1/runs/{labelled.headers['x-run-id']}").json()["file_bytes"]
    cap = int((len(labelled.content) + run_bytes) * 2.5)  # room for two labelled files and their runs, not three
    client = client_for(score_results_dir=folder, results_max_bytes=cap)
    downloads = []
    for _ in range(3):
        page = post_file(client, default_data.read_bytes())
        assert page.status_code == 200
        downloads.append(DOWNLOAD.search(page.text).group(1))
        for path in folder.iterdir():  # every kept file a minute older, so the oldest is never a tie
            os.utime(path, (path.stat().st_atime, path.stat().st_mtime - 60))
    assert len(_kept(folder)) == 2
    assert sum(path.stat().st_size for path in _files(folder)) <= cap
    assert client.get(downloads[0], headers=HTML).status_code == 404
    assert [client.get(url).status_code for url in downloads[1:]] == [200, 200]


def test_a_result_too_large_to_keep_is_a_503_page_that_keeps_nothing_and_drops_nothing(
    client_for, default_data, tmp_path
):
    folder = tmp_path / "results"
    folder.mkdir()
    older = folder / f"{'a' * 32}--older_segmented.csv"
    older.write_text("x" * 500)
    client = recording_client(client_for, tmp_path, score_results_dir=folder, results_max_bytes=1_024)
    before = snapshot(client)
    page = post_file(client, default_data.read_bytes(), headers={"accept": "*/*"})
    assert page.status_code == 503
    assert page.headers["content-type"].startswith("text/html")
    assert ">Too large to keep</h1>" in page.text and "larger than this server keeps for download" in page.text
    assert _kept(folder) == [older.name]  # nothing new kept, and nothing evicted for a file that cannot fit anyway
    assert snapshot(client) == before


def test_make_room_drops_the_oldest_first_and_never_the_new_file(tmp_path):
    paths = []
    for age, size in ((300, 400), (200, 400), (100, 400)):
        _, path = results.result_path(tmp_path, name=f"age{age}")
        path.write_bytes(b"x" * size)
        os.utime(path, (path.stat().st_atime, path.stat().st_mtime - age))
        paths.append(path)
    _, new = results.result_path(tmp_path, name="new")
    new.write_bytes(b"x" * 500)
    assert results.make_room(tmp_path, keep=new, max_bytes=1_400) is True
    assert [path.exists() for path in paths] == [False, True, True] and new.exists()
    assert results.make_room(tmp_path, keep=new, max_bytes=499) is False
    assert [path.exists() for path in paths] == [False, True, True] and new.exists()


# --- The page's errors are the HTML page, whatever the Accept header says ---


def test_a_full_disk_under_the_score_page_is_the_html_page_whatever_the_accept_header(client, monkeypatch):
    token = form_token(client)

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(tempfile, "mkstemp", no_space)
    for accept in ("*/*", "application/json"):
        page = client.post(
            "/score",
            files={"file": ("mall.csv", customer_file(10), "text/csv")},
            data={"form_token": token},
            headers={"accept": accept},
        )
        assert page.status_code == 503
        assert page.headers["content-type"].startswith("text/html")
        assert ">No space left</h1>" in page.text and "nothing was kept" in page.text


# --- Cross-site posts: the form carries a token that another site cannot know ---


def _download(client, page) -> bytes:
    assert page.status_code == 200, page.text[:500]
    download = client.get(DOWNLOAD.search(page.text).group(1))
    assert download.status_code == 200
    return download.content


def test_the_page_guards_formulas_by_default_and_can_keep_them(client):
    data = b'CustomerID,Annual Income (k$),Spending Score (1-100),note\n1,60,50,=HYPERLINK("x")\n2,-5,50,@SUM(A1)\n'
    guarded = _download(client, post_file(client, data))
    assert b"'=HYPERLINK" in guarded and b"'@SUM(A1)" in guarded and b",-5," in guarded
    assert b"=HYPERLINK" not in guarded.replace(b"'=HYPERLINK", b"")
    kept = _download(client, post_file(client, data, formula_guard="false"))
    assert b',"=HYPERLINK(""x"")",' in kept or b",=HYPERLINK(" in kept
    assert b"'=" not in kept and b"'@" not in kept


def test_the_page_writes_excel_files_and_extra_columns_when_asked(client):
    data = b"Annual Income (k$),Spending Score (1-100)\n120,90\n20,10\n"
    plain = _download(client, post_file(client, data))
    assert not plain.startswith(b"\xef\xbb\xbf")
    chosen = _download(
        client, post_file(client, data, excel="true", extra_runner_up="on", extra_marketing_strategy="on")
    )
    assert chosen.startswith(b"\xef\xbb\xbf")
    header = next(csv.reader(io.StringIO(chosen.decode("utf-8-sig"))))
    assert header[-3:] == ["runner_up", "marketing_strategy", "error"]
    # The form comes back as it was sent.
    page = post_file(client, data, excel="true", extra_description="on")
    assert '<option value="true" selected>Excel (UTF-8 with a BOM)</option>' in page.text
    assert re.search(r'name="extra_description" value="on" checked', page.text)


def test_a_file_in_the_wrong_unit_is_scored_with_the_apis_warning_shown(client):
    # Incomes within the valid range but far above the training one: every row scores, and the page says that this
    # looks wrong, as the API does.
    pairs = zip(range(2000, 9600, 400), range(5, 100, 5), strict=True)
    rows = "\n".join(f"{income},{spending}" for income, spending in pairs)
    data = f"annual_income,spending_score\n{rows}\n".encode()
    api = client.post(
        "/api/v1/predict/csv", content=data, headers={"content-type": "text/csv", "accept": "application/json"}
    )
    assert api.status_code == 200
    (warning,) = api.json()["warnings"]
    assert "income" in warning.lower()

    page = post_file(client, data, on_error="flag", delimiter="")
    assert page.status_code == 200
    shown = re.search(r'<div id="score-warnings"[^>]*>(.*?)</div>', page.text, re.S)
    assert shown is not None and warning.replace("'", "&#39;") in shown.group(1)


def test_a_file_in_the_right_unit_shows_no_warning(client, default_data):
    page = post_file(client, default_data.read_bytes(), on_error="flag", delimiter="")
    assert page.status_code == 200
    assert 'id="score-warnings"' not in page.text


def test_the_reason_after_could_not_be_scored_starts_a_sentence(client):
    page = post_file(client, b"")
    assert page.status_code == 422
    banner = page.text.split('id="score-error"')[1].split("</div>")[0]
    assert "<strong>The file could not be scored.</strong> <span>The file is empty" in banner
