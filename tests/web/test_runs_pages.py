"""The /runs pages without a browser: the list, a run's page with its filters and pages, the comparison, errors."""

import html
import re
from pathlib import Path

import pytest

from tests.runs_files import client_builder, customers_csv, rows_of, score, with_contacts
from tests.web.test_score_page import DOWNLOAD, HTML, post_file

RUN_LINK = re.compile(r'id="score-run" class="button button-secondary" href="/runs/([0-9a-f]{32})"')


@pytest.fixture
def pages(client_for, tmp_path: Path):
    return client_builder(client_for, tmp_path)()


NEXT = re.compile(r'id="browse-next" class="[^"]+" href="([^"]+)"')


def _ids(page: str) -> list[str]:
    return re.findall(r'<td data-label="CustomerID">([^<]*)</td>', page)


def _cells(page: str, role: str) -> list[str]:
    return [html.unescape(cell) for cell in re.findall(rf'data-role="{role}">([^<]*)</td>', page)]


def test_the_score_page_links_its_run_and_the_list_shows_it(pages):
    page = post_file(pages, customers_csv(range(40)).encode(), name="march.csv")
    assert page.status_code == 200
    run_id = RUN_LINK.search(page.text).group(1)
    assert pages.get(f"/api/v1/runs/{run_id}").json()["source"] == "page"

    listing = pages.get("/runs", headers=HTML)
    assert listing.status_code == 200
    assert f'href="/runs/{run_id}">march</a>' in listing.text
    assert re.search(r'href="/runs" aria-current="page">Runs', listing.text)
    # Each kept run's report, one click from the list.
    report = re.search(rf'data-role="run-report" href="(/api/v1/runs/{run_id}/report[^"]*)"', listing.text)
    assert report is not None
    pdf = pages.get(report.group(1).replace("&amp;", "&"))
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"


def test_a_runs_page_filters_a_segment_and_pages_with_a_next_link(pages):
    run_id, labelled = score(pages, customers_csv(range(400), seed=8))
    rows = rows_of(labelled)
    segment = rows[0]["segment_name"]
    expected = [r["CustomerID"] for r in rows if r["segment_name"] == segment]
    assert len(expected) > 50  # more than one page

    page = pages.get(f"/runs/{run_id}", params={"segment": segment}, headers=HTML)
    assert page.status_code == 200
    assert f'<strong data-role="total">{len(expected)}</strong> customers match' in page.text
    assert set(_cells(page.text, "segment")) == {segment}
    assert len(_cells(page.text, "segment")) == 50
    ids = _ids(page.text)
    while (following := NEXT.search(page.text)) is not None:
        page = pages.get(html.unescape(following[1]), headers=HTML)
        assert page.status_code == 200
        ids += _ids(page.text)
    assert ids == expected  # every customer of the segment once, in file order
    export = html.unescape(re.search(r'id="browse-export" href="([^"]+)"', page.text)[1])
    assert [r["CustomerID"] for r in rows_of(pages.get(export).text)] == expected


def test_a_runs_page_asked_for_a_segment_the_run_has_not_is_a_404_naming_its_segments(pages):
    run_id, labelled = score(pages, customers_csv(range(40), seed=8))
    page = pages.get(f"/runs/{run_id}", params={"segment": "Nope"}, headers=HTML)
    assert page.status_code == 404 and "has no segment &#39;Nope&#39;" in page.text
    assert rows_of(labelled)[0]["segment_name"] in html.unescape(page.text)


def test_the_compare_page_shows_the_matrix_in_names_and_who_moved(pages):
    first, before = score(pages, customers_csv(range(0, 100), seed=1))
    second, _ = score(pages, customers_csv(range(20, 120), seed=2))
    run_page = pages.get(f"/runs/{second}", headers=HTML).text
    assert f'<option value="{first}">' in run_page

    picked = pages.get(f"/runs/{second}/compare", params={"with": first}, headers=HTML, follow_redirects=False)
    assert picked.status_code == 303
    assert picked.headers["location"].endswith(f"/runs/{first}/compare/{second}")
    page = pages.get(picked.headers["location"], headers=HTML)
    assert page.status_code == 200
    moved = pages.get(f"/api/v1/runs/{first}/compare/{second}").json()["moved"]
    assert f'<dd data-fact="moved">{moved}</dd>' in page.text
    for name in {r["segment_name"] for r in rows_of(before)}:
        assert f'<th scope="row">{html.escape(name)}</th>' in page.text
    assert page.text.count('<tr><th scope="row">C') >= min(moved, 100)


@pytest.mark.parametrize("params", [{"with": ""}, {}])
def test_a_compare_pick_without_a_run_says_so_in_words(pages, params):
    run, _ = score(pages, customers_csv(range(0, 10)))
    page = pages.get(f"/runs/{run}/compare", params=params, headers=HTML, follow_redirects=False)
    assert page.status_code == 422
    assert "pick a run to compare with" in page.text
    assert "query.with" not in page.text and "String should match" not in page.text


def test_the_compare_pick_redirects_to_a_path_even_with_a_forged_host(pages):
    first, _ = score(pages, customers_csv(range(0, 30), seed=1))
    second, _ = score(pages, customers_csv(range(10, 40), seed=2))
    picked = pages.get(
        f"/runs/{second}/compare",
        params={"with": first},
        headers=HTML | {"Host": "evil.example"},
        follow_redirects=False,
    )
    assert picked.status_code == 303
    assert picked.headers["location"] == f"/runs/{first}/compare/{second}"


def test_an_unknown_run_page_is_a_404_page_and_runs_of_two_segmentations_a_409_page(pages):
    page = pages.get(f"/runs/{'cd' * 16}", headers=HTML)
    assert page.status_code == 404
    # The page speaks of pages; the API keeps naming its route.
    assert "<html" in page.text and "No run has the id" in page.text and "Runs page" in page.text
    assert 'Kept runs are listed on the <a href="/runs">Runs page</a>.</p>' in page.text
    assert "/api/v1/runs" not in page.text.split("<main", 1)[-1].split("</main>", 1)[0]
    api = pages.get(f"/api/v1/runs/{'cd' * 16}")
    assert api.status_code == 404 and "see GET /api/v1/runs" in api.json()["message"]
    with_ids, _ = score(pages, customers_csv(range(10)))
    without, _ = score(pages, customers_csv(range(10), id_column=False))
    page = pages.get(f"/runs/{with_ids}/compare/{without}", headers=HTML)
    assert page.status_code == 409
    assert "no customer id column" in page.text


def test_a_runs_room_never_takes_the_download_of_its_own_page(client_for, tmp_path):
    data = customers_csv(range(300)).encode()
    measure = client_builder(client_for, tmp_path / "measure")()
    first = post_file(measure, data)
    run_bytes = measure.get(f"/api/v1/runs/{RUN_LINK.search(first.text)[1]}").json()["file_bytes"]
    download_bytes = len(measure.get(DOWNLOAD.search(first.text)[1]).content)
    # Room for the download or the run, not both: the page's own pair is kept, everything older goes.
    cap = int(max(run_bytes, download_bytes, (run_bytes + download_bytes) * 0.9))
    pages = client_builder(client_for, tmp_path / "tight")(results_max_bytes=cap)
    for _ in range(2):
        page = post_file(pages, data)
        assert page.status_code == 200
    assert pages.get(DOWNLOAD.search(page.text)[1]).status_code == 200
    assert pages.get(f"/api/v1/runs/{RUN_LINK.search(page.text)[1]}/file").status_code == 200


CRM_LINK = re.compile(r'id="run-crm-(generic|hubspot)" class="[^"]+" href="([^"]+)"')


def test_a_runs_page_links_the_crm_exports_of_its_segment_and_hubspot_only_with_emails(pages):
    run_id, labelled = score(pages, with_contacts(customers_csv(range(50), seed=3), email_header="Email"))
    segment = next(row["segment_name"] for row in rows_of(labelled) if row["segment_name"])
    page = pages.get(f"/runs/{run_id}", params={"segment": segment}, headers=HTML).text
    links = {kind: html.unescape(href) for kind, href in CRM_LINK.findall(page)}
    assert set(links) == {"generic", "hubspot"}
    answer = pages.get(links["hubspot"])
    assert answer.status_code == 200
    assert {row["customer_segment"] for row in rows_of(answer.text)} == {segment}

    without, _ = score(pages, customers_csv(range(30)))
    page = pages.get(f"/runs/{without}", headers=HTML).text
    links = dict(CRM_LINK.findall(page))
    assert set(links) == {"generic"} and 'id="run-crm-no-email"' in page
    assert pages.get(html.unescape(links["generic"])).status_code == 200

    anonymous, _ = score(pages, customers_csv(range(30), id_column=False))
    page = pages.get(f"/runs/{anonymous}", headers=HTML).text
    assert not CRM_LINK.findall(page) and 'id="run-crm-no-id"' in page  # its export would be a 409


def test_a_runs_page_shows_the_column_it_sorts_by(pages):
    text = "CustomerID;Annual Income (k$);Spending Score (1-100);Visits per month\n"
    text += "C0;95,7;50;3\nC1;129,4;50;12\n"
    run_id, _ = score(pages, text)
    page = pages.get(f"/runs/{run_id}", params={"sort": "-Visits per month"}, headers=HTML)
    assert page.status_code == 200
    assert '<th scope="col">Visits per month</th>' in page.text
    assert re.findall(r'<td data-label="Visits per month">([^<]*)</td>', page.text) == ["12", "3"]
    unsorted = pages.get(f"/runs/{run_id}", headers=HTML).text
    assert '<th scope="col">Visits per month</th>' not in unsorted  # the customer's id, inputs and scores only


def _option_groups(page: str) -> dict[str, list[str]]:
    """The compare select's groups: label to the run ids it offers."""
    return {
        label: re.findall(r'<option value="([0-9a-f]{32})"', options)
        for label, options in re.findall(r'<optgroup label="([^"]+)">(.*?)</optgroup>', page, re.S)
    }


def test_a_comparison_goes_from_the_earlier_run_to_the_later_whichever_page_it_starts_on(pages):
    first, _ = score(pages, customers_csv(range(0, 60), seed=1))
    second, _ = score(pages, customers_csv(range(10, 70), seed=2))
    on_first = pages.get(f"/runs/{first}", headers=HTML).text
    assert _option_groups(on_first) == {"Later runs": [second]}
    assert _option_groups(pages.get(f"/runs/{second}", headers=HTML).text) == {"Earlier runs": [first]}
    assert "Earlier run of" not in on_first

    picked = pages.get(f"/runs/{first}/compare", params={"with": second}, headers=HTML, follow_redirects=False)
    assert picked.status_code == 303
    assert picked.headers["location"].endswith(f"/runs/{first}/compare/{second}")
    # A link typed the other way round is still read from the earlier run to the later one.
    page = pages.get(f"/runs/{second}/compare/{first}", headers=HTML)
    assert page.status_code == 200
    lead = re.search(r'<p class="lead">From <a href="/runs/(\w+)">.*? to <a href="/runs/(\w+)">', page.text)
    assert lead.groups() == (first, second)
    assert f'href="/api/v1/runs/{first}/compare/{second}?format=csv&amp;list=new"' in page.text
    assert 'data-fact="new">10<' in page.text and 'data-fact="lost">10<' in page.text


def test_a_runs_csv_download_is_the_score_pages_download_byte_for_byte(pages):
    text = "\ufeffCustomerID;Annual Income (k$);Spending Score (1-100)\r\n" + "".join(
        f"C{n};{40 + n},5;{n + 1}\r\n" for n in range(30)
    )
    page = post_file(pages, text.encode(), name="crm_export.csv")
    assert page.status_code == 200
    download = pages.get(DOWNLOAD.search(page.text)[1]).content
    run_page = pages.get(f"/runs/{RUN_LINK.search(page.text)[1]}", headers=HTML).text
    link = html.unescape(re.search(r'id="run-download-csv" class="button" href="([^"]+)"', run_page)[1])
    kept = pages.get(link)
    assert kept.status_code == 200
    assert download.startswith(b"\xef\xbb\xbfCustomerID;") and b"\r\n" in download
    assert kept.content == download


def test_a_semicolon_runs_page_shows_its_score_numbers_with_decimal_commas_as_its_inputs(pages):
    text = "CustomerID;Annual Income (k$);Spending Score (1-100)\n" + "".join(
        f"C{n};{40 + n},5;{n + 1}\n" for n in range(30)
    )
    run_id, _ = score(pages, text)
    page = pages.get(f"/runs/{run_id}", headers=HTML).text
    incomes = re.findall(r'<td data-label="Annual Income \(k\$\)">([^<]*)</td>', page)
    confidences = re.findall(r'<td data-label="Confidence">([^<]*)</td>', page)
    assert incomes and all("," in income for income in incomes)
    assert confidences and all(re.fullmatch(r"\d,\d{3}", value) for value in confidences)
    comma_free = pages.get(f"/runs/{score(pages, customers_csv(range(30)))[0]}", headers=HTML).text
    points = re.findall(r'<td data-label="Confidence">([^<]*)</td>', comma_free)
    assert points and all(re.fullmatch(r"\d\.\d{3}", value) for value in points)


def test_a_semicolon_runs_page_names_a_nameless_column_counts_flagged_rows_and_writes_every_decimal_alike(pages):
    text = "CustomerID;Annual Income (k$);;Spending Score (1-100)\n"
    text += "".join(f"C{n};{40 + n},5;x{n};{n + 1}\n" for n in range(60))
    text += "".join(f"B{n};abc;y;5\n" for n in range(6))
    run_id, _ = score(pages, text)
    page = pages.get(f"/runs/{run_id}", headers=HTML).text
    assert '<h2 id="run-summary-title">60 customers scored, 6 flagged</h2>' in page
    assert '<strong data-role="total">66</strong> customers match' in page
    # The nameless third column: not a blank column of the table, and named where it is offered.
    assert '<th scope="col"></th>' not in page and 'data-label=""' not in page
    assert '<option value="-">(column 3, no name), highest first</option>' in page
    assert ">, highest first<" not in page
    sorted_by_it = pages.get(f"/runs/{run_id}", params={"sort": "-"}, headers=HTML).text
    assert '<th scope="col">(column 3, no name)</th>' in sorted_by_it
    # Shares as the customers' numbers: decimal commas, like the file's.
    shares = re.findall(r'<td data-label="Share">([^<]*)</td>', page)
    assert shares and all(re.fullmatch(r"\d+,\d%", share) for share in shares)
    comma_free = pages.get(f"/runs/{score(pages, customers_csv(range(30)))[0]}", headers=HTML).text
    shares = re.findall(r'<td data-label="Share">([^<]*)</td>', comma_free)
    assert shares and all(re.fullmatch(r"\d+\.\d%", share) for share in shares)
    assert "flagged</h2>" not in comma_free


def test_a_flagged_row_in_the_customers_table_says_why_it_was_not_scored(pages):
    text = "CustomerID,Annual Income (k$),Spending Score (1-100)\n"
    text += "".join(f"C{n},{40 + n},{n + 1}\n" for n in range(20)) + "B1,,50\nB2,60,abc\n"
    run_id, _ = score(pages, text)
    page = pages.get(f"/runs/{run_id}", headers=HTML).text
    assert '<h2 id="run-summary-title">20 customers scored, 2 flagged</h2>' in page
    # Before, B1 and B2 were rows with an empty Segment cell and no word of why.
    rows = dict(re.findall(r'<td data-label="CustomerID">(B\d)</td>.*?data-role="segment">(.*?)</td>', page))
    assert rows == {
        "B1": '<span data-role="row-error">Not scored: missing Annual Income (k$)</span>',
        "B2": '<span data-role="row-error">Not scored: Spending Score (1-100) is not a number</span>',
    }


LONG_NAME = "Lifetime value " + "x" * 185  # 200 characters, as a CRM export's custom field can be


def _with_long_column(text: str) -> str:
    """The customer file with a 200-character column of numbers at the end."""
    lines = text.splitlines()
    return "\n".join([f"{lines[0]},{LONG_NAME}", *(f"{line},{n}" for n, line in enumerate(lines[1:]))]) + "\n"


def test_a_long_column_name_is_shortened_in_the_sort_options_and_sent_whole(pages):
    run_id, _ = score(pages, _with_long_column(customers_csv(range(30))))
    page = pages.get(f"/runs/{run_id}", headers=HTML)
    assert page.status_code == 200
    options = dict(re.findall(r'<option value="(-?Lifetime[^"]*)"[^>]*>([^<]*)</option>', page.text))
    assert set(options) == {f"-{LONG_NAME}", LONG_NAME}
    assert options[LONG_NAME] == f"{LONG_NAME[:59]}…, lowest first"
    sorted_by_it = pages.get(f"/runs/{run_id}", params={"sort": f"-{LONG_NAME}"}, headers=HTML)
    assert sorted_by_it.status_code == 200
    assert f'<option value="-{LONG_NAME}" selected>' in sorted_by_it.text


def test_the_customers_table_heads_its_scores_in_words_and_the_download_keeps_their_names(pages):
    run_id, _ = score(pages, customers_csv(range(30)))
    page = pages.get(f"/runs/{run_id}", headers=HTML)
    assert page.status_code == 200
    table = re.search(r'<table class="stacked-table" id="customers">.*?</table>', page.text, re.S).group(0)
    headings = re.findall(r'<th scope="col">([^<]*)</th>', table)
    assert headings[-5:] == ["Segment", "Confidence", "Distance", "Atypical", "Out of range"]
    labels = set(re.findall(r'<td data-label="([^"]*)"', table))
    assert {"Segment", "Out of range"} <= labels
    assert not labels & {"segment_name", "confidence", "distance", "is_atypical", "out_of_range"}
    export = html.unescape(re.search(r'id="browse-export" href="([^"]+)"', page.text)[1])
    downloaded = pages.get(export)
    assert downloaded.status_code == 200
    assert {"segment_name", "confidence", "distance", "is_atypical", "out_of_range"} <= set(rows_of(downloaded.text)[0])


def _hidden(page: str) -> str | None:
    found = re.search(r'<p class="muted" id="customers-hidden">([^<]*)</p>', page)
    return html.unescape(found[1]) if found else None


def test_the_customers_table_says_which_of_the_files_columns_it_does_not_show(pages):
    text = "CustomerID,Name,Annual Income (k$),Spending Score (1-100),City,Notes\n"
    text += "".join(f"C{n},Ann {n},{40 + n},{n + 1},Lyon,note {n}\n" for n in range(30))
    run_id, _ = score(pages, text)
    page = pages.get(f"/runs/{run_id}", headers=HTML).text
    assert (
        _hidden(page) == "3 more columns in the file are not shown: Name, City, Notes. The downloads have every column."
    )
    # Sorted by one of them, the table shows it: it is no longer listed.
    by_city = pages.get(f"/runs/{run_id}", params={"sort": "City"}, headers=HTML).text
    assert _hidden(by_city).startswith("2 more columns in the file are not shown: Name, Notes.")
    # A file of the id and the model's inputs only: nothing to say.
    plain = "CustomerID,Annual Income (k$),Spending Score (1-100)\n" + "".join(
        f"C{n},{40 + n},{n + 1}\n" for n in range(30)
    )
    assert _hidden(pages.get(f"/runs/{score(pages, plain)[0]}", headers=HTML).text) is None


def test_a_wide_files_left_out_columns_are_named_up_to_a_few_and_counted(pages):
    extra = [LONG_NAME, "", *(f"Field {n}" for n in range(1, 13))]
    text = "CustomerID,Annual Income (k$),Spending Score (1-100)," + ",".join(extra) + "\n"
    text += "".join(f"C{n},{40 + n},{n + 1}," + ",".join("x" * len(extra)) + "\n" for n in range(30))
    run_id, _ = score(pages, text)
    hidden = _hidden(pages.get(f"/runs/{run_id}", headers=HTML).text)
    # Named as the page names them elsewhere: a long name shortened, a blank one by its place.
    named = ", ".join([f"{LONG_NAME[:59]}…", "(column 5, no name)", *(f"Field {n}" for n in range(1, 7))])
    assert hidden == f"14 more columns in the file are not shown: {named} and 6 more. The downloads have every column."


def test_a_file_of_one_customer_is_headed_one_customer_scored(pages):
    one = customers_csv(range(1))
    run_id, _ = score(pages, one)
    assert "1 customer scored" in pages.get(f"/runs/{run_id}", headers=HTML).text
    page = post_file(pages, one.encode(), on_error="flag", delimiter="")
    assert page.status_code == 200 and ">1 customer scored</h2>" in page.text


def test_the_compare_page_says_in_words_when_a_list_is_empty(pages):
    csv_text = customers_csv(range(0, 50), seed=3)
    first, _ = score(pages, csv_text)
    second, _ = score(pages, csv_text)
    page = pages.get(f"/runs/{first}/compare/{second}", headers=HTML)
    assert page.status_code == 200
    assert "Download all 0" not in page.text
    for key in ("moved", "new", "lost"):
        assert f'id="none-{key}"' in page.text and f'id="download-{key}"' not in page.text
    assert "None: every customer in both runs kept their segment." in page.text
