"""Numbers read as people write them: decimal commas in a `;` file, with an exponent as comma locales write it."""

import copy
import math
from dataclasses import replace

import numpy as np
import pyarrow as pa
import pytest

from app.services.scoring.columns import Columns
from app.services.scoring.csv_render import csv_text_columns
from app.services.scoring.validation import numbers, validate_rows


@pytest.mark.parametrize(
    ("text", "value"),
    [("1,5e-05", 1.5e-05), ("1,5E-05", 1.5e-05), ("-2,25e+16", -2.25e16), ("3,5E7", 3.5e7), ("1,5", 1.5)],
)
def test_numbers_read_a_decimal_comma_with_an_exponent_in_a_decimal_comma_file(text, value):
    read, empty = numbers(pa.array([text, "2"]), decimal_comma=True)
    assert read.tolist() == [value, 2.0]
    assert not empty.any()


@pytest.mark.parametrize("text", ["1,5e-05", "1,5", "1,5E-05"])
def test_numbers_leave_a_decimal_comma_unread_in_a_comma_file(text):
    read, _ = numbers(pa.array([text, "2"]))
    assert np.isnan(read[0]) and read[1] == 2.0


@pytest.mark.parametrize("text", ["1,5e", "1,e-05", ",5e-05", "1,5e-0,5", "1,5e--5"])
def test_numbers_refuse_what_only_looks_like_a_decimal_comma_number(text):
    read, _ = numbers(pa.array([text, "2"]), decimal_comma=True)
    assert np.isnan(read[0])


def test_every_float_a_decimal_comma_file_is_written_with_reads_back_as_itself():
    values = [1.5e-05, 0.00009999, 1e-300, 123.456, 2.5e15, 1e22, -7.25e-07, 0.0, 3.0]
    (text,) = csv_text_columns(pa.table({"x": pa.array(values, pa.float64())}), decimal_comma=True)
    # Arrow's cast writes an exponent below 1e-6 and from about 1e11 on: with a decimal comma in a `;` file.
    assert {"-7,25e-7", "2,5e+15"} <= set(text.to_pylist())
    read, _ = numbers(text, decimal_comma=True)
    assert read.tolist() == values


@pytest.mark.parametrize(
    ("bounds", "reason"),
    [
        ({"minimum": 0.0}, "Income out of range (at least 0)"),
        ({"maximum": 80.0}, "Income out of range (at most 80)"),
        ({"minimum": 0.0, "maximum": 80.0}, "Income out of range (0 to 80)"),
    ],
)
def test_an_out_of_range_value_says_the_bound_in_words_when_one_side_is_open(model, bounds, reason):
    own = copy.copy(model)
    income = replace(model.feature_specs[0], **({"minimum": -math.inf, "maximum": math.inf} | bounds))
    own.feature_specs = [income, *model.feature_specs[1:]]
    names = ["Income", *(f"column {i}" for i in range(1, len(model.features)))]
    columns = Columns(names=names, features=dict(zip(model.features, names, strict=True)))
    table = pa.table({"Income": ["-5", "500"]} | {name: ["50", "50"] for name in names[1:]})
    _, codes, reasons = validate_rows(own, table, columns)
    assert reason in [reasons[code] for code in codes]
