"""The /score page's column fields: one per feature of the chosen segmentation, sent as the API's column=."""

import re

import pytest

from app.models.segmentations.spec import MAX_FEATURES
from app.web.pages.score import SCORE_FORM_DEFAULTS
from app.web.uploads import MAX_FORM_FIELDS
from tests.web.test_score_page import DOWNLOAD, FORM_TOKEN

HTML = {"accept": "text/html"}
CRM = "/score?segmentation=crm"
# The crm segmentation's features (income, visits, tenure) come from Income, Visits and Tenure; another export
# names them otherwise.
RENAMED = {"Income": "Revenu annuel (€)", "Visits": "Visits: per month", "Tenure": "Ancienneté"}
FIELD = re.compile(r'<label for="(column_[a-z0-9_]+)">([^<]*) <span class="muted">\(optional\)</span></label>')


def _post(client, url: str, data: bytes, **fields: str):
    token = FORM_TOKEN.search(client.get(url, headers=HTML).text).group(1)
    return client.post(
        url, files={"file": ("crm.csv", data, "text/csv")}, data={"form_token": token, **fields}, headers=HTML
    )


def _renamed(text: str) -> bytes:
    header, _, rows = text.partition("\n")
    return (",".join(RENAMED.get(name, name) for name in header.split(",")) + "\n" + rows).encode()


def _error(page) -> str:
    return page.text.split('id="score-error"')[1].split("</div>")[0]


def test_the_form_offers_a_column_field_per_feature_of_the_chosen_segmentation(segmented):
    crm = segmented.get(CRM, headers=HTML).text
    assert FIELD.findall(crm) == [
        ("column_income", "Column in your file for Income"),
        ("column_visits", "Column in your file for Visits"),
        ("column_tenure", "Column in your file for Tenure"),
    ]
    assert 'name="column_visits" type="text" maxlength="200" value=""' in crm
    assert '<details class="options">' in crm  # empty fields are the defaults: the options stay closed
    default = segmented.get("/score", headers=HTML).text
    assert FIELD.findall(default) == [
        ("column_annual_income", "Column in your file for Annual Income (k$)"),
        ("column_spending_score", "Column in your file for Spending Score (1-100)"),
    ]
    # A transactions file's columns are found by name or named by its segmentation: no field to fill.
    assert FIELD.findall(segmented.get("/score?segmentation=rfm", headers=HTML).text) == []


def test_a_file_scored_with_its_columns_named_equals_the_file_with_the_segmentations_columns(
    segmented, segmentations_template
):
    text = segmentations_template[1].read_text()
    named = _post(segmented, CRM, text.encode())
    fields = {f"column_{feature}": RENAMED[column] for feature, column in [("income", "Income"), ("visits", "Visits"),
              ("tenure", "Tenure")]}  # fmt: skip
    mapped = _post(segmented, CRM, _renamed(text), **fields)
    assert named.status_code == 200 and mapped.status_code == 200, mapped.text
    assert "600 customers scored" in mapped.text
    named_file = segmented.get(DOWNLOAD.search(named.text).group(1)).text.splitlines()
    mapped_file = segmented.get(DOWNLOAD.search(mapped.text).group(1)).text.splitlines()
    assert mapped_file[0].startswith("CustomerID,Revenu annuel (€),Visits: per month,Ancienneté,segment_id")
    assert mapped_file[1:] == named_file[1:]
    # The form comes back with the columns as they were named, and open to show them.
    assert 'name="column_visits" type="text" maxlength="200" value="Visits: per month"' in mapped.text
    assert '<details class="options" open>' in mapped.text


@pytest.mark.parametrize(
    ("data", "fields", "words"),
    [
        (
            b"Income,Visits per month,Tenure\n50000,3,2\n",
            {"column_visits": "Visits per week"},
            "Column in your file for Visits names &#39;Visits per week&#39;, which the file does not have; found: "
            "&#39;Income&#39;, &#39;Visits per month&#39;, &#39;Tenure&#39;",
        ),
        (
            b"Income,Calls,Tenure\n50000,3,2\n",
            {"column_visits": "Calls", "column_tenure": "Calls"},
            "Visits and Tenure would both be read from &#39;Calls&#39;: under Options, give each its own column",
        ),
        (
            b"Income,Visits per month,Tenure\n50000,3,2\n",
            {},
            "The file lacks a column the model needs: &#39;Visits&#39; (or &#39;visits&#39;), or name yours under "
            "Options, in the "
            "“Column in your file for …” fields",
        ),
        (
            b"Income,Visits,Tenure\n50000,3,2\n",
            {"column_visits": "V" * 400},
            "Column in your file for Visits: String should have at most 300 characters",
        ),
    ],
)
def test_a_bad_column_is_said_on_the_form_in_its_words(segmented, data, fields, words):
    page = _post(segmented, CRM, data, **fields)
    assert page.status_code == 422
    message = _error(page)
    assert words in message
    assert "column=" not in message and "Traceback" not in page.text
    for field, value in fields.items():
        assert f'name="{field}" type="text" maxlength="200" value="{value}"' in page.text


def test_a_segmentation_of_the_most_features_still_fits_the_forms_field_limit():
    # The multipart parser refuses a form of more fields than MAX_FORM_FIELDS: the token, the options and a column
    # field for each of the most features a segmentation may have must fit.
    assert 1 + len(SCORE_FORM_DEFAULTS) + MAX_FEATURES <= MAX_FORM_FIELDS
