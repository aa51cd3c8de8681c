"""Date formats: one per shape, inferred from a sample, day first when a first field is above 12."""

import pyarrow as pa
import pytest

from app.core.errors import InvalidDataset
from app.models.rfm.dates import DateParser, format_for, shape_of


@pytest.mark.parametrize(
    ("text", "shape"), [("12/1/10 8:26", "9/9/9 9:9"), ("2011-10-06 16:20:00", "Y-9-9 9:9:9"), ("01-01-2020", "9-9-Y")]
)
def test_shape_of(text, shape):
    assert shape_of(text) == shape


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["12/1/10 8:26", "1/13/11 9:05"], "%m/%d/%y %H:%M"),  # a second field above 12: month first
        (["13/1/2010", "1/1/2010"], "%d/%m/%Y"),  # a first field above 12: day first
        (["1/2/2010"], "%m/%d/%Y"),  # neither: slash dates are month first
        (["01-02-2020 00:00"], "%d-%m-%Y %H:%M"),  # neither: dash dates are day first
        (["2011-10-06T16:20:00"], "%Y-%m-%dT%H:%M:%S"),
        (["06.10.2011"], "%d.%m.%Y"),
        (["2011-10-06T16:20:00Z"], "%Y-%m-%dT%H:%M:%S%z"),
        (["2011-10-06T16:20:00.250+02:00"], "%Y-%m-%dT%H:%M:%S%z"),
        (["2011-10-06 16:20:00 +0200"], "%Y-%m-%d %H:%M:%S %z"),
        (["next tuesday"], None),
    ],
)
def test_format_for(values, expected):
    assert format_for(values) == expected


def test_parser_learns_a_new_shape_once_and_keeps_it():
    parser = DateParser.from_sample("InvoiceDate", ["12/1/10 8:26"])
    parsed = parser.parse(pa.array(["12/1/10 8:26", "2011-10-06 16:20:00", "", None, "garbage"]))
    assert [str(value) if value else None for value in parsed.to_pylist()] == [
        "2010-12-01 08:26:00", "2011-10-06 16:20:00", None, None, None,
    ]  # fmt: skip
    assert parser.formats == ["%m/%d/%y %H:%M", "%Y-%m-%d %H:%M:%S"]


def test_given_format_is_never_extended():
    parser = DateParser.from_sample("Date", ["2011-10-06"], "%d/%m/%Y")
    assert parser.parse(pa.array(["2011-10-06", "06/10/2011"])).null_count == 1
    assert parser.formats == ["%d/%m/%Y"]


def test_a_sample_with_no_date_names_the_column():
    with pytest.raises(InvalidDataset, match="'When' holds no date"):
        DateParser.from_sample("When", ["soon", "later"])


def test_zoned_iso_dates_are_read_as_utc_and_fractions_of_a_second_are_cut():
    texts = ["2011-10-06T16:20:00Z", "2011-10-06T16:20:00.999+02:00", "2011-10-06T23:30:00-05:00"]
    texts.append("2011-10-06 09:15:00.5")
    parsed = DateParser.from_sample("created_at", texts).parse(pa.array(texts))
    assert parsed.type == pa.timestamp("s")  # naive, like every other date: the same clock for recency
    assert [str(value) for value in parsed.to_pylist()] == [
        "2011-10-06 16:20:00", "2011-10-06 14:20:00", "2011-10-07 04:30:00", "2011-10-06 09:15:00",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("fmt", "texts"),
    [
        ("%d/%m/%Y", ["31/02/2026", "29/02/2025", "31/04/2026", "29/02/2024", "01/03/2026", "31/12/2026"]),
        ("%m/%d/%y %H:%M", ["2/30/26 10:00", "11/31/26 8:26", "6/31/26 9:00", "2/29/24 1:00", "3/3/26 0:00",
                            "7/1/26 1:00"]),
        ("%Y-%m-%dT%H:%M:%S%z", ["2026-02-29T01:00:00+02:00", "2026-09-31T23:00:00-12:00", "2026-04-31T12:00:00Z",
                                 "2024-02-29T23:00:00-05:00", "2026-03-01T01:00:00+02:00",
                                 "2026-04-30T23:00:00-12:00"]),
        ("%d %b %Y", ["31 Feb 2026", "29 Feb 2025", "31 Jun 2026", "29 Feb 2024", "1 Mar 2026", "1 Jul 2026"]),
    ],
)  # fmt: skip
def test_a_day_the_month_does_not_have_is_unreadable_never_rolled_over(fmt, texts):
    parsed = DateParser.from_sample("Date", texts, fmt).parse(pa.array(texts))
    assert parsed.to_pylist()[:3] == [None, None, None]  # Arrow alone reads 31/02 as 3 March
    assert None not in parsed.to_pylist()[3:]


def test_impossible_days_are_found_among_many_dates_of_every_day():
    days = pa.array([f"{d}/{m}/{year}" for year in (2023, 2024) for m in range(1, 13) for d in range(1, 32)])
    parsed = DateParser.from_sample("Date", [], "%d/%m/%Y").parse(days)
    assert parsed.null_count == 2 * 12 * 31 - 365 - 366
    assert len(set(parsed.drop_null().to_pylist())) == 365 + 366


def test_a_date_only_readable_the_other_way_round_is_unreadable_never_read_beside_the_others():
    # Read month first (no field above 12 in the sample): 13/04 is an unreadable date (a typo, or a file mixing
    # both ways), as 31/31 is; read day first beside the rest, 03/04 and 13/04 would both be April.
    parser = DateParser.from_sample("Date", ["03/04/2024", "11/12/2024"])
    parsed = parser.parse(pa.array(["03/04/2024", "13/04/2024", "31/31/2024", "04/13/2024"]))
    assert [str(value) if value else None for value in parsed.to_pylist()] == [
        "2024-03-04 00:00:00", None, None, "2024-04-13 00:00:00"
    ]  # fmt: skip
    assert parser.formats == ["%m/%d/%Y"]
    # As a Dask partition gets it: the formats alone, without the sample they came from.
    assert DateParser("Date", ["%m/%d/%Y"]).parse(pa.array(["13/04/2024"])).null_count == 1


def test_other_shapes_still_add_their_own_formats():
    parser = DateParser.from_sample("Date", ["03/04/2024"])
    parsed = parser.parse(pa.array(["03/04/2024", "2024-04-13", "13-04-2024 10:00"]))
    assert parsed.null_count == 0
    assert parser.formats == ["%m/%d/%Y", "%Y-%m-%d", "%d-%m-%Y %H:%M"]
