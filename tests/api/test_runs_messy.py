"""Runs of messy real-world exports: float ids from a spreadsheet, a BOM, ';' files with decimal commas."""

import pytest

from tests.runs_files import client_builder, score

HEADER = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]


def export(ids, *, id_text=str, sep=",", comma=False, bom=False) -> str:
    """A CRM export: incomes with a half (written 40,5 in a decimal-comma file), ids as the spreadsheet wrote them."""
    lines = [sep.join(HEADER)]
    for n in ids:
        income = f"{40 + n % 80}{',' if comma else '.'}5"
        lines.append(sep.join([id_text(n), "Male" if n % 2 else "Female", str(20 + n % 50), income, str(1 + n % 98)]))
    return ("\ufeff" if bom else "") + "\n".join(lines) + "\n"


@pytest.fixture
def api(client_for, tmp_path):
    return client_builder(client_for, tmp_path)()


def test_float_ids_and_whole_ids_name_the_same_customers_in_a_compare(api):
    ids = range(1, 301)
    floats, _ = score(api, export(ids, id_text=lambda n: f"{n}.0"))
    whole, _ = score(api, export(ids))
    compared = api.get(f"/api/v1/runs/{floats}/compare/{whole}").json()
    assert (compared["matched"], compared["new"], compared["lost"], compared["moved"]) == (300, 0, 0, 0)


def test_a_decimal_comma_run_sorts_reports_and_checks_drift_by_its_numbers(api):
    text = export(range(1, 301), sep=";", comma=True, bom=True)
    run_id, summary = score(api, text, summary=True)
    assert summary["scored"] == 300
    top = api.get(f"/api/v1/runs/{run_id}/customers", params={"sort": "-Annual Income (k$)", "limit": 3}).json()
    assert [item["Annual Income (k$)"] for item in top["items"]] == ["119,5", "119,5", "119,5"]  # 119.5 > 99.5
    drift = api.get(f"/api/v1/runs/{run_id}/drift")
    assert drift.status_code == 200
    assert {check["feature"] for check in drift.json()["features"]} >= {"annual_income", "spending_score"}
    report = api.get(f"/api/v1/runs/{run_id}/report", params={"format": "html"})
    assert report.status_code == 200
    # The income is profiled (a row of its own in the profile tables), not left out as text that is no number.
    assert report.text.count('<th scope="row">Annual Income') >= 2


def test_a_decimal_comma_column_with_words_in_it_sorts_by_its_numbers_unreadable_last(api):
    lines = ["CustomerID;Age;Annual Income (k$);Spending Score (1-100);Visits per month"]
    rows = [("95,7", "3"), ("129,4", "12"), ("n/a", "abc"), ("121,5", "4"), ("92,6", "7,5")]
    lines += [f"C{n};30;{income};50;{visits}" for n, (income, visits) in enumerate(rows)]
    run_id, _ = score(api, "\n".join(lines) + "\n")

    def order(sort: str) -> list[str]:
        answer = api.get(f"/api/v1/runs/{run_id}/customers", params={"sort": sort})
        assert answer.status_code == 200
        return [item[sort.removeprefix("-")] for item in answer.json()["items"]]

    assert order("-Annual Income (k$)") == ["129,4", "121,5", "95,7", "92,6", "n/a"]
    assert order("Annual Income (k$)") == ["92,6", "95,7", "121,5", "129,4", "n/a"]
    assert order("-Visits per month") == ["12", "7,5", "4", "3", "abc"]


def _bad_rows(text: str, sep: str, line_end: str) -> str:
    """The export with a row whose income is a word, one with a formula, and one with the delimiter in a quote."""
    extra = [
        sep.join(["C900", "Male", "30", "lots", "50"]),
        sep.join(["=1+2", "Female", "31", "50,5" if sep == ";" else "50.5", "51"]),
        sep.join(["C902", f'"Smith{sep} Jr."', "32", "60", "52"]),
    ]
    return text + line_end.join(extra) + line_end


@pytest.mark.parametrize(
    ("sep", "line_end", "bom", "params"),
    [
        (";", "\r\n", True, {}),
        (";", "\n", False, {"on_error": "skip", "extra_columns": ["runner_up", "description"]}),
        (",", "\r\n", False, {"excel": "true"}),
        (",", "\n", False, {}),
    ],
)
def test_a_runs_csv_is_byte_for_byte_the_scoring_answer(api, sep, line_end, bom, params):
    text = export(range(1, 41), sep=sep, comma=sep == ";", bom=bom).replace("\n", line_end)
    response = api.post(
        "/api/v1/predict/csv",
        content=_bad_rows(text, sep, line_end),
        headers={"content-type": "text/csv"},
        params=params,
    )
    assert response.status_code == 200, response.text
    kept = api.get(f"/api/v1/runs/{response.headers['x-run-id']}/file", params={"format": "csv"})
    assert kept.status_code == 200
    assert kept.content == response.content
    assert kept.content.startswith(b"\xef\xbb\xbf") == (bom or "excel" in params)


def test_a_run_scored_with_formulas_kept_still_downloads_them_made_inert(api):
    text = _bad_rows(export(range(1, 41)), ",", "\n")
    response = api.post(
        "/api/v1/predict/csv", content=text, headers={"content-type": "text/csv"}, params={"formula_guard": "false"}
    )
    assert response.status_code == 200
    kept = api.get(f"/api/v1/runs/{response.headers['x-run-id']}/file", params={"format": "csv"})
    # A run is read by whoever opens its page: its CSV guards formulas whatever the scoring asked (the Parquet
    # download keeps every value as sent), and that is the only difference.
    assert b"\n=1+2," in response.content and b"\n'=1+2," in kept.content
    assert kept.content == response.content.replace(b"\n=1+2,", b"\n'=1+2,")
