"""Why no customer in a file could be scored: the likely cause, from the summary and the file's first raw values."""

import pytest

from app.services.scoring.diagnosis import diagnose, raw_sample
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions

HEADER = "Annual Income (k$),Spending Score (1-100)"


def diagnosed(model, tmp_path, text: str, **options):
    """Score a file as the /score page does, and diagnose it from its summary and first lines."""
    path = tmp_path / "customers.csv"
    path.write_text(text, encoding="utf-8")
    summary = score_file(model, path, options=ScoreOptions(**options), target=None, spool_rows=0).summary
    return diagnose(summary, raw_sample(path, delimiter=summary.delimiter, columns=summary.columns))


def rows(template: str, count: int = 30) -> str:
    """`count` lines from a template with {i} (20..) and {s} (1..90)."""
    return "".join(template.format(i=20 + n, s=1 + n % 90) + "\n" for n in range(count))


@pytest.mark.parametrize(
    ("text", "cause", "words"),
    [
        (
            HEADER + "\n" + rows('"{i},5","{s},5"'),
            "decimal_commas",
            "use decimal commas (such as '20,5'); this model reads decimal points in a comma-separated file: save "
            "the file with '.' as the decimal mark (45.5, not 45,5; 1.5E-05, not 1,5E-05), or with ';' as the "
            "delimiter",
        ),
        # A spreadsheet in a comma locale writes very small and very large numbers with an exponent.
        (
            HEADER + "\n" + rows('"{i},5E+01","{s},5E-01"'),
            "decimal_commas",
            "use decimal commas (such as '20,5E+01'); this model reads decimal points in a comma-separated file",
        ),
        (
            HEADER.replace(",", ";") + "\n" + rows("{i}000,5;{s}"),
            "dollars",
            "values look like dollars (such as 20000.5)",
        ),
        (
            HEADER + "\n" + rows("{i},5,{s}"),
            "number_commas",
            "every row has more columns than the header, as numbers written with commas (45,5, 1,5E-05 or 45,000)",
        ),
        (
            HEADER + "\n" + rows("{i},5E+00,{s}"),
            "number_commas",
            "write them as plain numbers (45.5 and 1.5E-05, or 45 for an income of 45,000 dollars)",
        ),
        (HEADER + "\n" + rows("${i},000,{s}"), "currency", "as amounts such as $45,000 in a comma-separated file"),
        (
            HEADER + "\n" + rows("{i}000,{s}"),
            "dollars",
            "values look like dollars (such as 20000); this model expects k$, thousands of dollars: divide the "
            "incomes by 1,000 (20000 becomes 20)",
        ),
        (HEADER + "\n" + rows("${i}000,{s}"), "currency", "written with a currency sign (such as '$20000')"),
        (HEADER + "\n" + rows('"{i},000",{s}'), "thousands_separators", "thousands separators (such as '20,000')"),
        (HEADER + "\n" + rows("{i},0.{s}"), "fractions", "spending scores look like fractions (such as 0.1)"),
        (HEADER + "\n" + rows("{i},{s}%"), "percent", "written as percentages (such as '1%')"),
        (HEADER + "\n" + rows("{i};{s}"), "wrong_delimiter", "the header is separated by ',' but the rows by ';'"),
        (HEADER + "\n" + rows(",{s}"), "missing", "the column 'Annual Income (k$)' read as income is empty"),
        (HEADER + "\n" + rows("-{i},{s}"), "out_of_range", "every one of the incomes is outside the accepted range"),
        (HEADER + "\n" + rows("lots,{s}"), "not_numbers", "no value in the incomes column is a plain number"),
    ],
    ids=lambda value: value if isinstance(value, str) and "\n" not in value and len(value) < 30 else None,
)
def test_a_file_where_every_row_fails_gets_its_likely_cause(model, tmp_path, text, cause, words):
    diagnosis = diagnosed(model, tmp_path, text)
    assert diagnosis is not None
    assert diagnosis.cause == cause
    assert words in diagnosis.message
    # The page's words, never the API's parameters.
    assert "=" not in diagnosis.message


def test_a_file_with_any_scored_customer_needs_no_diagnosis(model, tmp_path):
    text = HEADER + "\n" + rows("{i}000,{s}") + "45,60\n"
    assert diagnosed(model, tmp_path, text) is None


def test_a_header_only_file_needs_no_diagnosis(model, tmp_path):
    assert diagnosed(model, tmp_path, HEADER + "\n") is None


def test_skipped_rows_are_diagnosed_too(model, tmp_path):
    diagnosis = diagnosed(model, tmp_path, HEADER + "\n" + rows("{i}000,{s}"), on_error="skip")
    assert diagnosis is not None and diagnosis.cause == "dollars"


def test_raw_sample_reads_a_bounded_head(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("a,b\n" + "1,2\n" * 100_000 + "x" * 200_000 + "\n")
    sample = raw_sample(path, delimiter=",", columns={"annual_income": "a", "spending_score": "b"})
    assert sample.header_fields == 2
    assert len(sample.lines) == 20 and sample.values["annual_income"] == ["1"] * 20


def test_a_semicolon_file_with_decimal_commas_is_scored(model, tmp_path):
    path = tmp_path / "customers.csv"
    path.write_text(HEADER.replace(",", ";") + "\n" + rows("{i},5;{s},5"), encoding="utf-8")
    summary = score_file(model, path, options=ScoreOptions(), target=None, spool_rows=0).summary
    assert summary.delimiter == ";"
    assert (summary.rows, summary.scored, summary.errors) == (30, 30, {})
    assert summary.to_dict()["segments"]  # read as numbers, not merely accepted
