"""`column=feature:column` on the file-scoring routes: any segmentation's features read from a file's own columns."""

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.web.conftest import segmentations_template  # noqa: F401  (a session fixture: crm and rfm trained once)

CSV = {"Content-Type": "text/csv"}
CRM_URL = "/api/v1/segmentations/crm/predict/csv"
DEFAULT_URL = "/api/v1/predict/csv"
# The crm segmentation's features and the columns it was trained from: income (Income), visits (Visits), tenure
# (Tenure). The same export from another tool: a colon, spaces and accents in its names.
RENAMED = {"Income": "Revenu annuel (€)", "Visits": "Visits: per month", "Tenure": "Ancienneté"}
MAPPING = [f"income:{RENAMED['Income']}", f"visits:{RENAMED['Visits']}", f"tenure:{RENAMED['Tenure']}"]


@pytest.fixture
def api(client_for, segmentations_template, tmp_path: Path) -> TestClient:  # noqa: F811
    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    return client_for(model_dir=root, score_results_dir=tmp_path / "results")


@pytest.fixture
def crm_text(segmentations_template) -> str:  # noqa: F811
    return segmentations_template[1].read_text()


def _renamed(text: str) -> str:
    header, _, rows = text.partition("\n")
    return ",".join(RENAMED.get(name, name) for name in header.split(",")) + "\n" + rows


def test_mapped_columns_get_the_segments_of_the_same_file_with_the_segmentations_columns(api, crm_text):
    named = api.post(CRM_URL, content=crm_text.encode(), headers=CSV)
    mapped = api.post(CRM_URL, params={"column": MAPPING}, content=_renamed(crm_text).encode(), headers=CSV)
    assert named.status_code == 200 and mapped.status_code == 200, mapped.text
    named_lines, mapped_lines = named.text.splitlines(), mapped.text.splitlines()
    assert mapped_lines[0].startswith("CustomerID,Revenu annuel (€),Visits: per month,Ancienneté,segment_id,")
    assert len(mapped_lines) == 601 and mapped_lines[1:] == named_lines[1:]
    summary = api.post(
        CRM_URL,
        params={"column": MAPPING},
        content=_renamed(crm_text).encode(),
        headers=CSV | {"Accept": "application/json"},
    ).json()
    assert summary["columns"]["visits"] == "Visits: per month" and summary["scored"] == 600


def test_a_url_with_encoded_pairs_reads_as_the_same_mapping(api, crm_text):
    query = "&".join(
        [
            "column=visits%3AVisits%3A%20per%20month",
            "column=tenure:Anciennet%C3%A9",
            "column=income:Revenu%20annuel%20(%E2%82%AC)",
        ]
    )
    mapped = api.post(f"{CRM_URL}?{query}", content=_renamed(crm_text).encode(), headers=CSV)
    assert mapped.status_code == 200, mapped.text
    assert (
        mapped.text.splitlines()[1:] == api.post(CRM_URL, content=crm_text.encode(), headers=CSV).text.splitlines()[1:]
    )


def test_column_for_a_default_feature_is_income_column(api):
    text = b"ref,revenue,score\nA,120,90\nB,20,10\n"
    by_parameter = api.post(
        DEFAULT_URL, params={"income_column": "revenue", "spending_column": "score"}, content=text, headers=CSV
    )
    by_column = api.post(
        DEFAULT_URL, params={"column": ["annual_income:revenue", "spending_score:score"]}, content=text, headers=CSV
    )
    assert by_parameter.status_code == by_column.status_code == 200
    assert by_column.content == by_parameter.content
    assert [line.split(",")[4] for line in by_column.text.splitlines()[1:]] == ["VIP / Whale", "Budget Conscious"]


@pytest.mark.parametrize(
    ("url", "params", "text", "message"),
    [
        (
            CRM_URL,
            {"column": ["tenure_years:Tenure"]},
            "Income,Visits,Tenure\n50000,3,2\n",
            "column= names 'tenure_years': not a feature of this segmentation, whose features are 'income', 'visits', "
            "'tenure'",
        ),
        (
            CRM_URL,
            {"column": ["visits:Visits per week"]},
            "Income,Visits per month,Tenure\n50000,3,2\n",
            "the column mapping names 'Visits per week' for visits, which the file does not have; found: 'Income', "
            "'Visits per month', 'Tenure'",
        ),
        (
            CRM_URL,
            {"column": ["visits:Calls", "tenure:Calls"]},
            "Income,Calls,Tenure\n50000,3,2\n",
            "visits and tenure would both be read from 'Calls': each feature needs its own column",
        ),
        (
            CRM_URL,
            {"column": ["visits:Calls", "visits:Visits"]},
            "Income,Calls,Visits,Tenure\n50000,3,3,2\n",
            "column= names 'Visits' and column= names 'Calls' for visits: give one column for each feature",
        ),
        (
            DEFAULT_URL,
            {"income_column": "revenue", "column": ["annual_income:income"]},
            "revenue,income,score\n1,2,3\n",
            "income_column= names 'revenue' and column= names 'income' for annual_income",
        ),
        (
            "/api/v1/segmentations/rfm/predict/csv",
            {"column": ["recency:Days"]},
            "InvoiceNo,CustomerID,InvoiceDate,Amount\n1,7,2011-12-09 12:00,10\n",
            "an RFM segmentation computes recency, frequency and monetary from the transactions",
        ),
    ],
)
def test_a_bad_mapping_is_a_422_that_says_what_is_wrong(api, url, params, text, message):
    response = api.post(url, params=params, content=text.encode(), headers=CSV)
    assert response.status_code == 422
    assert response.json()["type"] == "invalid_request"
    assert message in response.json()["message"]


@pytest.mark.parametrize("pair", ["visits", "visits:", ":Visits", "  :Visits", "visits:  "])
def test_a_pair_without_a_feature_and_a_column_is_a_validation_error(api, pair):
    response = api.post(CRM_URL, params={"column": [pair]}, content=b"Income,Visits,Tenure\n1,2,3\n", headers=CSV)
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "validation_error" and "give each column= as feature:column" in body["message"]


def test_both_file_routes_document_the_mapping(api):
    schema = api.get("/openapi.json").json()
    for path in (DEFAULT_URL, "/api/v1/segmentations/{segmentation}/predict/csv"):
        operation = schema["paths"][path]["post"]
        [column] = [parameter for parameter in operation["parameters"] if parameter["name"] == "column"]
        assert column["in"] == "query" and column["schema"]["type"] == "array"
        assert "`feature:column`" in column["description"] and "after the first `:`" in column["description"]
        assert "`column=feature:column`" in operation["description"]


@pytest.mark.parametrize("header", ["Customer ID", "Customer Id", "Client ID", "customer id"])
def test_a_files_customer_id_header_as_a_crm_export_spells_it_is_its_id_column(api, header):
    text = f"{header},Annual Income (k$),Spending Score (1-100)\nC-1,15,39\nC-2,120,90\n"
    response = api.post(DEFAULT_URL, content=text, headers=CSV | {"Accept": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json()["columns"]["customer_id"] == header


@pytest.mark.parametrize("header", ["Kunden-Nr", "Kundennr.", "N° client", "Número de cliente", "Código do cliente"])
def test_a_localised_id_header_in_a_semicolon_decimal_comma_file_is_its_id_column(api, header):
    text = f"\ufeff{header};Annual Income (k$);Spending Score (1-100)\r\nK-1;15,5;39\r\nK-2;120,25;90\r\n"
    response = api.post(DEFAULT_URL, content=text.encode(), headers=CSV | {"Accept": "application/json"})
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["columns"]["customer_id"] == header and summary["scored"] == 2
