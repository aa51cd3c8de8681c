"""Finding the model's inputs in a header: a limit on columns, checked before any work per column."""

import time

import pytest

from app.core.errors import InvalidRequest
from app.services.scoring.columns import MAX_COLUMNS
from tests.services.test_scoring import run


def test_score_refuses_a_header_of_a_million_columns_early_for_that_reason(model):
    header = ",".join(f"c{index}" for index in range(1_000_000))
    started = time.process_time()
    with pytest.raises(InvalidRequest) as caught:
        run(model, header + "\n1\n")
    # It was "duplicated column name(s)" after seconds of comparing the names the first 64 KiB held.
    assert caught.value.message.startswith("the file has at least ")
    assert f"a customer file may have at most {MAX_COLUMNS:,}" in caught.value.message
    assert time.process_time() - started < 0.5


def test_score_takes_up_to_the_column_limit(model):
    names = ["annual_income", "spending_score", *(f"c{index}" for index in range(MAX_COLUMNS - 2))]
    values = ",".join(["120", "90", *("x" * (MAX_COLUMNS - 2))])
    rows, summary, _ = run(model, ",".join(names) + "\n" + values + "\n")
    assert summary["scored"] == 1 and rows[0]["segment_name"] == "VIP / Whale"
    with pytest.raises(InvalidRequest, match=f"^the file has {MAX_COLUMNS + 1:,} columns"):
        run(model, ",".join([*names, "one_more"]) + "\n" + values + ",y\n")


def test_score_refuses_a_header_line_longer_than_the_head(model):
    names = ["annual_income", "spending_score", *(f"{index}" + "x" * 200 for index in range(400))]
    with pytest.raises(InvalidRequest, match="the header line is longer than 64 KiB"):
        run(model, ",".join(names) + "\n120,90\n")


def test_explained_typical_ranges_are_written_without_float_noise(model, monkeypatch):
    # A percentile of dollars came out as 93489,56200000002 in a ';' file.
    from app.models import explanation

    recorded = explanation.typical_ranges

    def noisy(model):
        low, high = recorded(model)
        return low * 1000 + 0.56200000002, high * 1000 + 0.56200000002

    monkeypatch.setattr(explanation, "typical_ranges", noisy)
    rows, _, output = run(model, "annual_income;spending_score\n60;5\n120;90\n", explain=True)
    for row in rows:
        for column in ("typical_low_annual_income", "typical_high_spending_score"):
            assert row[column].split(",")[1] == "562", row[column]
    assert "00000" not in output
