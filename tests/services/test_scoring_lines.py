"""Quotes that never close are refused with their line under every policy; line numbers count quoted line breaks."""

import pytest

from app.core.errors import InvalidRequest
from app.services.scoring.columns import resolve_columns
from app.services.scoring.lines import customer_row_pattern
from app.services.scoring.options import ScoreOptions
from tests.services.test_scoring import run

POLICIES = ["flag", "skip", "reject"]
# 100 good customers: what an unclosed quote above them would swallow.
GOOD_ROWS = "".join(f"{15 + index % 100},{1 + index % 99},c{index}\n" for index in range(100))


@pytest.mark.parametrize("policy", POLICIES)
def test_score_refuses_a_quote_that_never_closes_in_the_last_column(model, policy):
    # The file: every customer below the quote ended up inside one cell, and the answer had one row.
    text = 'annual_income,spending_score,name\n50,50,"never closes\n' + GOOD_ROWS
    with pytest.raises(InvalidRequest) as caught:
        run(model, text, on_error=policy)
    assert caught.value.message.startswith(
        "line 2: a quote in column 'name' opens a value that runs over 101 lines without closing"
    )


def test_score_refuses_a_quote_that_never_closes_in_a_last_feature_column_for_that_reason(model):
    # Under reject this was "not a number": the row's value, not the quote, took the blame.
    text = 'name,spending_score,annual_income\nx,50,"50\n' + "".join(f"c{i},{1 + i},{15 + i}\n" for i in range(50))
    with pytest.raises(InvalidRequest, match=r"^line 2: a quote in column 'annual_income' opens a value"):
        run(model, text, on_error="reject")


@pytest.mark.parametrize("policy", POLICIES)
def test_score_refuses_a_quote_that_swallows_rows_up_to_a_later_quote(model, policy):
    # The quote closes at the next one, 60 lines on: the row keeps its width, so the reader sees nothing wrong.
    text = 'annual_income,spending_score,name\n1,2,a\n50,50,"never closes\n' + GOOD_ROWS[:1200] + '3,4,"x"\n'
    lines = 2 + GOOD_ROWS[:1200].count("\n")
    with pytest.raises(InvalidRequest, match=rf"^line 3: .* runs over {lines} lines without closing"):
        run(model, text, on_error=policy)


@pytest.mark.parametrize("policy", POLICIES)
def test_score_refuses_a_quote_that_runs_to_the_end_over_text(model, policy):
    # What it swallowed is no customer row, but the file ended inside the quote.
    text = 'annual_income,spending_score,name\n1,2,a\n50,50,"never closes\nsome text, more\nand more'
    with pytest.raises(InvalidRequest, match=r"^line 3: a quote in column 'name' opens a value that runs over 3 lines"):
        run(model, text, on_error=policy)


@pytest.mark.parametrize("end", ["\n", "\r\n", "", "  \n"])
def test_score_keeps_a_last_value_that_closes_at_the_end(model, end):
    text = f'annual_income,spending_score,note\n1,2,a\n50,50,"two\nlines"{end}'
    rows, summary, _ = run(model, text)
    assert summary["rows"] == 2
    assert rows[1]["note"].rstrip() == "two\nlines"


def test_score_keeps_quoted_line_breaks_that_hold_delimiters(model):
    # An address over two lines has the header's width in commas, but no numbers where the features are.
    text = 'annual_income,spending_score,address\n50,50,"1 Main St, Apt 2\nTown, County, 12345"\n60,60,x\n'
    rows, summary, _ = run(model, text, on_error="reject")
    assert summary["scored"] == 2
    assert rows[0]["address"] == "1 Main St, Apt 2\nTown, County, 12345"


@pytest.mark.parametrize("chunk_rows", [1, 2, 1000])
def test_score_counts_quoted_line_breaks_in_line_numbers(model, chunk_rows):
    # Lines: 2-3 and 4-5 hold one customer each, 6 is short, 7 is fine, 8 is bad.
    text = 'annual_income,spending_score,note\n50,50,"a\nb"\n60,60,"c\r\nd"\n1,2\n70,70,z\n80,lots,w\n'
    with pytest.raises(InvalidRequest, match=r"^line 6 is not usable: wrong number of fields"):
        run(model, text, on_error="reject", chunk_rows=chunk_rows)
    without_short = text.replace("1,2\n", "")
    with pytest.raises(InvalidRequest, match=r"^line 7 is not usable: spending_score is not a number"):
        run(model, without_short, on_error="reject", chunk_rows=chunk_rows)


@pytest.mark.parametrize("chunk_rows", [1, 1000])
def test_score_names_the_line_of_a_short_unclosed_row_after_quoted_line_breaks(model, chunk_rows):
    text = 'annual_income,spending_score,note\n50,50,"a\nb"\n60,"never closes\n70,70,z\n'
    with pytest.raises(InvalidRequest, match=r"^line 4: a quote opens a value that runs over 2 lines"):
        run(model, text, chunk_rows=chunk_rows)


def test_score_refuses_a_quote_that_never_closes_in_a_file_of_a_thousand_columns(model):
    # The other columns are one repeated group in the pattern: a thousand of them stay a short regex.
    names = ["annual_income", "spending_score", *(f"c{index}" for index in range(998))]
    row = ",".join(["50", "50", *("x" * 998)])
    text = ",".join(names) + "\n" + row + "\n" + row[:-1] + '"never closes\n' + (row + "\n") * 3 + row + "\n"
    columns = resolve_columns(model, names, ScoreOptions())
    assert len(customer_row_pattern(columns, ",")) < 300
    with pytest.raises(InvalidRequest, match=r"^line 3: a quote in column 'c997' opens a value that runs over 5"):
        run(model, text)
