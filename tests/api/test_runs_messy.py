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
