"""The /models page's champion-and-challenger block: none, or the running challenger with its live report."""

import re

from tests.api.test_challenger import ADMIN, KEY


def test_models_page_says_when_no_challenger_runs(client_for, two_versions, tmp_path):
    root, _, _ = two_versions
    client = client_for(model_dir=root, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    page = client.get("/models")
    assert page.status_code == 200
    assert 'data-role="no-challenger"' in page.text


def test_models_page_shows_the_shadow_report(client_for, two_versions, tmp_path):
    root, _first, second = two_versions
    client = client_for(model_dir=root, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}", admin_api_keys=[KEY])
    body = {"version": second, "mode": "shadow"}
    assert client.put("/api/v1/challenger", json=body, headers=ADMIN).status_code == 200
    customers = [{"annual_income": float(i % 140), "spending_score": float(i % 99 + 1)} for i in range(300)]
    assert client.post("/api/v1/predict/batch", json={"customers": customers}).status_code == 200
    assert client.app.state.prediction_log.flush()
    report = client.get("/api/v1/challenger/report").json()
    page = client.get("/models")
    assert page.status_code == 200
    assert f'<code data-role="challenger-version">{second}</code>' in page.text
    assert f"Over {report['n_paired']} requests both scored" in page.text
    matrix = page.text.split('data-role="challenger-matrix"')[1].split("</table>")[0]
    cells = [int(value) for value in re.findall(r"<td>(\d+)</td>", matrix)]
    assert cells == [value for row in report["migration_matrix"] for value in row]
    assert all(segment["name"] in matrix for segment in report["old_segments"] + report["new_segments"])
