"""/api/v1/runs/{id}/crm: a run's customers, one segment or all, as a generic or a HubSpot contact-import CSV."""

from pathlib import Path

import pytest

from tests.runs_files import client_builder, customers_csv, rows_of, score, with_contacts

RUNS = "/api/v1/runs"


@pytest.fixture
def api(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)()


def test_generic_export_has_the_contact_columns_and_every_scored_customer(api):
    run_id, labelled = score(api, with_contacts(customers_csv(range(60), seed=2)))
    response = api.get(f"{RUNS}/{run_id}/crm", params={"format": "generic"})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert "_generic.csv" in response.headers["content-disposition"]
    rows = rows_of(response.text)
    assert list(rows[0]) == ["customer_id", "email", "first_name", "last_name", "segment", "segment_id", "confidence"]
    scored = [row for row in rows_of(labelled) if row["segment_name"]]
    assert [(r["customer_id"], r["email"], r["segment"]) for r in rows] == [
        (r["CustomerID"], r["E-Mail"], r["segment_name"]) for r in scored
    ]
    assert [r["segment_id"] for r in rows] == [r["segment_id"] for r in scored]
    assert rows[0]["first_name"] == "'=cmd()"  # formula made inert, by the shared writer


def test_a_segment_by_name_or_id_keeps_only_its_customers(api):
    run_id, labelled = score(api, with_contacts(customers_csv(range(120), seed=5), email_header="email address"))
    scored = [row for row in rows_of(labelled) if row["segment_name"]]
    name, segment_id = scored[0]["segment_name"], scored[0]["segment_id"]
    expected = [r["CustomerID"] for r in scored if r["segment_name"] == name]
    by_name = rows_of(api.get(f"{RUNS}/{run_id}/crm", params={"segment": name}).text)
    by_id = rows_of(api.get(f"{RUNS}/{run_id}/crm", params={"segment": segment_id}).text)
    assert [r["customer_id"] for r in by_name] == expected == [r["customer_id"] for r in by_id]
    assert {r["segment"] for r in by_name} == {name}

    unknown = api.get(f"{RUNS}/{run_id}/crm", params={"segment": "No such segment"})
    assert unknown.status_code == 404
    assert "No such segment" in unknown.json()["message"] and name in unknown.json()["message"]


def test_hubspot_export_uses_hubspots_import_headers_and_a_segment_property(api):
    run_id, labelled = score(api, with_contacts(customers_csv(range(40), seed=1), email_header="EMAIL"))
    response = api.get(f"{RUNS}/{run_id}/crm", params={"format": "hubspot"})
    assert response.status_code == 200, response.text
    rows = rows_of(response.text)
    assert list(rows[0])[:4] == ["Email", "First Name", "Last Name", "customer_segment"]
    scored = [row for row in rows_of(labelled) if row["segment_name"]]
    assert [(r["Email"], r["customer_segment"]) for r in rows] == [(r["EMAIL"], r["segment_name"]) for r in scored]
    assert rows[1]["Last Name"] == scored[1]["last_name"]


def test_a_run_without_emails_exports_generic_but_hubspot_says_why_not(api):
    run_id, labelled = score(api, customers_csv(range(30)))
    generic = rows_of(api.get(f"{RUNS}/{run_id}/crm").text)
    assert list(generic[0]) == ["customer_id", "segment", "segment_id", "confidence"]
    assert len(generic) == sum(1 for r in rows_of(labelled) if r["segment_name"])

    hubspot = api.get(f"{RUNS}/{run_id}/crm", params={"format": "hubspot"})
    assert hubspot.status_code == 409
    assert "email" in hubspot.json()["message"] and "HubSpot" in hubspot.json()["message"]
    assert api.get(f"{RUNS}/{run_id}/crm", params={"format": "salesforce"}).status_code == 422
    assert api.get(f"{RUNS}/{'0' * 32}/crm").status_code == 404


def test_a_run_without_an_id_or_email_column_is_a_409_saying_how_to_name_one(api):
    # The audit's case: rows of segments with nothing to match them to anyone.
    run_id, _ = score(api, customers_csv(range(30), id_column=False))
    generic = api.get(f"{RUNS}/{run_id}/crm", params={"format": "generic"})
    assert generic.status_code == 409
    message = generic.json()["message"]
    assert "no customer id column and no email column" in message
    assert "id_column=" in message and "--id-column" in message

    named, _ = score(api, customers_csv(range(30), id_column=False).replace("Gender", "Ref", 1), id_column="Ref")
    rows = rows_of(api.get(f"{RUNS}/{named}/crm").text)
    assert next(iter(rows[0])) == "customer_id" and rows[0]["customer_id"] in ("Male", "Female")

    emails, _ = score(api, with_contacts(customers_csv(range(30), id_column=False)))
    rows = rows_of(api.get(f"{RUNS}/{emails}/crm").text)
    assert next(iter(rows[0])) == "email" and rows[0]["email"] == "c0@example.com"
