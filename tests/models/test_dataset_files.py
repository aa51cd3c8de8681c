"""One reader for training and scoring: a file saved by a spreadsheet in a decimal-comma locale trains and scores
exactly as its plain comma-separated twin."""

from pathlib import Path

import pandas as pd

from app.models.dataset import clean_customers, load_customers, read_text_table
from app.models.training import train
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions

FEATURES = ["annual_income", "spending_score"]
HEADER = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)"]


def customers(n: int = 60) -> list[list[str]]:
    """Rows in four loose groups, incomes with halves so that decimal marks matter."""
    rows = []
    for i in range(n):
        income = (20, 80, 20, 80)[i % 4] + (i % 7) + 0.5
        score = (20, 20, 80, 80)[i % 4] + (i % 5)
        rows.append([str(i + 1), ("Female", "Male")[i % 2], str(20 + i % 40), f"{income}", str(score)])
    return rows


def plain_file(path: Path, rows: list[list[str]]) -> Path:
    path.write_text(",".join(HEADER) + "\n" + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def messy_file(path: Path, rows: list[list[str]]) -> Path:
    """The same rows as a European spreadsheet saves them: BOM, ';', CRLF, decimal commas, a quoted line break."""
    lines = [";".join(HEADER)]
    for i, (cid, gender, age, income, score) in enumerate(rows):
        gender = f'"{gender}\r\n(loyalty card)"' if i == 2 else gender
        lines.append(";".join([cid, gender, age, income.replace(".", ","), score]))
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    return path


def test_a_semicolon_file_with_the_standard_header_loads_as_its_comma_twin(tmp_path):
    rows = customers()
    plain = clean_customers(load_customers(plain_file(tmp_path / "a.csv", rows)), features=FEATURES, min_rows=5)
    messy = clean_customers(load_customers(messy_file(tmp_path / "b.csv", rows)), features=FEATURES, min_rows=5)
    pd.testing.assert_frame_equal(plain.frame.drop(columns="gender"), messy.frame.drop(columns="gender"))
    assert messy.frame["gender"][2] == "Female\r\n(loyalty card)"
    assert messy.frame["annual_income"][0] == 20.5


def test_the_delimiter_is_sniffed_outside_quoted_names(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('"Name, full";Income;Visits\n"Doe, J";"12,5";3\n', encoding="utf-8")
    table = read_text_table(path)
    frame, style = table.frame, table.style
    assert style.delimiter == ";" and list(frame.columns) == ["Name, full", "Income", "Visits"]
    assert frame["Income"].tolist() == ["12.5"]


def test_decimal_commas_are_only_read_in_semicolon_files(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text('income,visits\n"12,5",3\n"1,5e-05",4\n', encoding="utf-8")
    frame = read_text_table(path).frame
    assert frame["income"].tolist() == ["12,5", "1,5e-05"]


def test_a_semicolon_file_reads_decimal_commas_with_an_exponent(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("income;visits\n1,5e-05;3\n2,5E+15;4\n", encoding="utf-8")
    assert read_text_table(path).frame["income"].tolist() == ["1.5e-05", "2.5E+15"]


def test_a_line_of_only_carriage_returns_is_read(tmp_path):
    path = tmp_path / "mac.csv"
    path.write_bytes(b"annual_income;spending_score\r15,5;39\r16;81\r")
    cleaned = clean_customers(load_customers(path), features=FEATURES, min_rows=2)
    assert cleaned.frame["annual_income"].tolist() == [15.5, 16.0]


def test_a_messy_file_trains_and_scores_as_its_comma_twin(tmp_path):
    k = 4
    rows = customers()
    plain, messy = plain_file(tmp_path / "plain.csv", rows), messy_file(tmp_path / "messy.csv", rows)
    from_plain = train(plain, output_dir=tmp_path / "plain_models", k=k, sweep=False).model
    from_messy = train(messy, output_dir=tmp_path / "messy_models", k=k, sweep=False).model
    assert from_messy.info["n_samples"] == len(rows) and from_messy.info["dropped_rows"] == {}
    assert [segment.centroid for segment in from_messy.segments] == [
        segment.centroid for segment in from_plain.segments
    ]

    labelled = {}
    for name, path in (("plain", plain), ("messy", messy)):
        out = tmp_path / f"{name}_labelled.csv"
        summary = score_file(from_messy, path, options=ScoreOptions(), target=out, spool_rows=0).summary
        assert (summary.rows, summary.scored, summary.errors) == (len(rows), len(rows), {})
        labelled[name] = read_text_table(out).frame
    assert labelled["messy"]["segment_id"].tolist() == labelled["plain"]["segment_id"].tolist()
    # The labelled file keeps the input's own way of writing: ';', and the line break inside its quotes.
    assert messy.with_name("messy_labelled.csv").read_bytes().startswith(b"\xef\xbb\xbfCustomerID;")
    assert labelled["messy"]["Gender"][2] == "Female\r\n(loyalty card)"
