"""POST /api/v1/predict/csv with a header or rows ending with the delimiter, as Excel saves them: scored as the
same file without it; a value after the last column is a row with a field too many."""

import pytest

from tests.api.test_predict_csv import CSV, URL, rows_of

HEADER = "id;Annual Income (k$);Spending Score (1-100)"
ROWS = ["1;15;39", "2;120;90", "3;20;10"]
PLAIN = ("\r\n".join([HEADER, *ROWS]) + "\r\n").encode()
# The header ends with the delimiter and the rows do not; the rows do and the header does not; both do.
LAYOUTS = {
    "header": (HEADER + ";", ROWS),
    "rows": (HEADER, [row + ";" for row in ROWS]),
    "both": (HEADER + ";", [row + ";" for row in ROWS]),
}


def _file(header: str, rows: list[str]) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode()


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_header_or_rows_ending_with_the_delimiter_score_as_the_file_without_it(client, layout):
    response = client.post(URL, content=_file(*LAYOUTS[layout]), headers=CSV)
    assert response.status_code == 200, response.text
    assert response.content == client.post(URL, content=PLAIN, headers=CSV).content
    assert response.text.startswith(HEADER + ";segment_id;")
    assert [row["id"] for row in rows_of(response.text, ";") if row["segment_name"]] == ["1", "2", "3"]


@pytest.mark.parametrize("layout", ["rows", "both"])
def test_a_value_after_the_last_column_is_a_row_with_a_field_too_many(client, layout):
    header, rows = LAYOUTS[layout]
    rows = [rows[0], rows[1] + "note", rows[2]]
    flagged = client.post(URL, content=_file(header, rows), headers=CSV)
    assert flagged.status_code == 200, flagged.text
    labelled = rows_of(flagged.text, ";")
    assert [row["error"] for row in labelled] == ["", "wrong number of fields", ""]
    assert labelled[1]["id"] == "2" and labelled[1]["segment_id"] == ""
    rejected = client.post(URL, params={"on_error": "reject"}, content=_file(header, rows), headers=CSV)
    assert rejected.status_code == 422
    assert rejected.json()["message"].startswith("line 3 is not usable: wrong number of fields")


def test_any_other_width_is_a_row_without_the_headers_number_of_fields_as_before(client):
    # Two delimiters at the end of each row: not one empty last field.
    response = client.post(
        URL, content=_file(HEADER, [row + ";;" for row in ROWS]), headers=CSV | {"Accept": "application/json"}
    )
    assert response.status_code == 200
    summary = response.json()
    assert summary["scored"] == 0 and summary["errors"] == {"wrong number of fields": 3}
