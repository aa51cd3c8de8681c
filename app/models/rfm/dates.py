"""Transaction dates: one strptime format per shape of date, inferred once per file from a sample, never per row.

A shape is a date's text with each run of digits replaced by `9` (or `Y` for four digits): `12/1/10 8:26` is
`9/9/9 9:9`, `2011-10-06 16:20:00` is `Y-9-9 9:9:9`. A file may mix a few shapes (an export spanning a system
migration); each gets one format. Which of the first two fields is the day is read from the whole sample of that
shape: a first field above 12 means day first, a second field above 12 means month first; when neither appears,
slash dates are month first (the US convention of the public online-retail file) and dash or dot dates day first.

A day the month does not have (31/02, 29/02 of a common year) is unreadable, as any unreadable date is: Arrow's
strptime alone would roll it over into the next month.
"""

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from app.core.errors import InvalidDataset

_DIGITS = re.compile(r"\d+")
_DATE = re.compile(
    r"^(?P<a>\d{1,4})(?P<sep>[/.-])(?P<b>\d{1,2})(?P=sep)(?P<c>\d{1,4})"
    r"(?:(?P<tsep>[ T])(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?P<frac>\.\d{1,9})?)?"
    r"(?P<tz> ?(?:Z|[+-]\d{2}:?\d{2}))?)?$"
)
# Fractions of a second say nothing about recency in days, and Arrow's strptime has no directive for them: they are
# cut before parsing (`12:00:00.250Z` reads as `12:00:00Z`).
_FRACTION = r"(:\d{2})\.\d{1,9}"
# A shape seen in fewer sample values than this is left for the blocks to pick up if it matters.
MAX_SHAPES = 8


def shape_of(text: str) -> str:
    """The shape of a date's text: digit runs as `9`, four-digit runs as `Y`."""
    return _DIGITS.sub(lambda match: "Y" if len(match.group()) == 4 else "9", text.strip())


def format_for(values: list[str]) -> str | None:
    """The strptime format of sample values that share one shape, or None when the shape is not a date."""
    matches = [_DATE.match(value.strip()) for value in values]
    if not matches or not all(matches):
        return None
    first = matches[0]
    sep = first["sep"]
    if len(first["a"]) == 4:
        date = f"%Y{sep}%m{sep}%d"
    else:
        year = {2: "%y", 4: "%Y"}.get(len(first["c"]))
        if year is None:
            return None
        day_first = any(int(match["a"]) > 12 for match in matches) or (
            sep != "/" and not any(int(match["b"]) > 12 for match in matches)
        )
        date = f"%d{sep}%m{sep}{year}" if day_first else f"%m{sep}%d{sep}{year}"
    if first["h"] is None:
        return date
    time = f"{date}{first['tsep']}%H:%M" + (":%S" if first["s"] is not None else "")
    # A zone (`Z`, `+02:00`, `+0200`) is read by %z: the instant becomes UTC, the clock every other date is read on.
    return time + (" %z" if first["tz"].startswith(" ") else "%z") if first["tz"] else time


# Dates a transaction may have: beyond them a date is a typo (year 9999), and a day after it has no calendar.
FIRST_DAY, LAST_DAY = datetime(1900, 1, 1), datetime(9000, 12, 31)


def _within_years(stamps: pa.Array) -> pa.Array:
    """Timestamps outside FIRST_DAY..LAST_DAY made null: counted as unparseable, as any unreadable date is."""
    bounds = pc.min_max(stamps).as_py()
    if bounds["min"] is None or (bounds["min"] >= FIRST_DAY and bounds["max"] < LAST_DAY + timedelta(days=1)):
        return stamps
    inside = pc.and_(
        pc.greater_equal(stamps, pa.scalar(FIRST_DAY, pa.timestamp("s"))),
        pc.less(stamps, pa.scalar(LAST_DAY + timedelta(days=1), pa.timestamp("s"))),
    )
    return pc.if_else(inside, stamps, pa.scalar(None, pa.timestamp("s")))


class UnknownDates(InvalidDataset):
    """A sample of dates none of which has a shape this reader knows."""

    def __init__(self, column: str, examples: list[str]) -> None:
        self.examples = ", ".join(repr(value) for value in examples)
        super().__init__(
            f"the date column {column!r} holds no date this reader understands (for example {self.examples}); "
            "give its format as date_format, such as '%d/%m/%Y %H:%M'"
        )


@dataclass
class DateParser:
    """Parses a file's date column with the formats inferred for its shapes; counts nothing, holds the formats."""

    column: str
    formats: list[str] = field(default_factory=list)
    fixed: bool = False  # a format given by the user: never add another
    _refused: set[str] = field(default_factory=set)
    # Blocks are parsed on several threads: one learns a new shape at a time.
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @classmethod
    def from_sample(cls, column: str, sample: list[str], date_format: str | None = None) -> "DateParser":
        """Formats for the shapes of a sample of the column's values (or the one given); InvalidDataset when the
        sample holds dates but none of a shape this reader knows."""
        if date_format:
            return cls(column, [date_format], fixed=True)
        parser = cls(column)
        parser.learn([value for value in sample if value and value.strip()])
        if sample and not parser.formats:
            raise UnknownDates(column, sample[:3])
        return parser

    def learn(self, values: list[str]) -> bool:
        """Add a format for each new shape among `values`; whether one was added."""
        if self.fixed:
            return False
        with self._lock:
            return self._learn(values)

    def _learn(self, values: list[str]) -> bool:
        by_shape: dict[str, list[str]] = {}
        for value in values:
            by_shape.setdefault(shape_of(value), []).append(value)
        added = False
        for shape, _ in Counter({shape: len(group) for shape, group in by_shape.items()}).most_common(MAX_SHAPES):
            if shape in self._refused:
                continue
            found = format_for(by_shape[shape])
            if found is None:
                self._refused.add(shape)
                continue
            added = self.add_format(found) or added
        return added

    def add_format(self, found: str) -> bool:
        """Add a format unless known, or the dates are read the other way round already; whether it was added."""
        # The other way round: 13/04 beside dates read month first is an unreadable date (a typo, or a file mixing
        # both ways), counted as such. Read day first, a 03/04 beside it would be April and a 13/04 April too, and
        # some purchases would move by months without a word.
        if found in self.formats or found.replace("%d", "\0").replace("%m", "%d").replace("\0", "%m") in self.formats:
            return False
        self.formats.append(found)
        return True

    def parse(self, values: pa.Array | pa.ChunkedArray) -> pa.Array:
        """Timestamps (seconds) of a column of date texts; null where empty or unparseable.

        Each format after the first only sees the values the earlier ones left null; values of a shape not seen
        before teach the parser its format once, then are parsed with it.
        """
        if isinstance(values, pa.ChunkedArray):
            values = values.combine_chunks()
        parsed = self._parse_known(values)
        if self.fixed or not parsed.null_count:
            return parsed
        left = pc.and_(pc.is_null(parsed), pc.greater(pc.binary_length(pc.utf8_trim_whitespace(values)), 0))
        unknown = pc.filter(values, left)
        if len(unknown) and self.learn(unknown.slice(0, 10_000).to_pylist()):
            return self._parse_known(values)
        return parsed

    def _parse_known(self, values: pa.Array) -> pa.Array:
        if pc.any(pc.or_(pc.starts_with(values, " "), pc.ends_with(values, " "))).as_py():
            values = pc.utf8_trim_whitespace(values)  # rare: trimming every block would cost a copy
        if any("%S" in fmt for fmt in self.formats) and pc.any(pc.match_substring(values, ".")).as_py():
            values = pc.replace_substring_regex(values, _FRACTION, r"\1")
        result = pa.nulls(len(values), pa.timestamp("s"))
        for fmt in list(self.formats):
            missing = pc.is_null(result)
            if len(values) - result.null_count == 0:
                result = _strptime(values, fmt)
            elif result.null_count:
                result = pc.replace_with_mask(result, missing, _strptime(pc.filter(values, missing), fmt))
        return _within_years(result)


def _strptime(values: pa.Array, fmt: str) -> pa.Array:
    """Naive timestamps (seconds) of `values` read with `fmt`, null where the day does not exist; a zoned format's
    instants are given in UTC."""
    stamps = pc.strptime(values, format=fmt, unit="s", error_is_null=True)
    real = _real_days(values, stamps, fmt)
    return real.cast(pa.timestamp("s")) if real.type.tz is not None else real


_FIELDS = {"%Y": r"(?P<Y>\d{1,4})", "%y": r"(?P<y>\d{1,2})", "%m": r"(?P<m>\d{1,2})", "%d": r"(?P<d>\d{1,2})"}
_MONTH_DAYS = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
# Where a rolled-over day lands, as (month, first day, last day): 29-31 February on 1-3 March, the 31st of a 30-day
# month on the 1st of the next. No real date is read as any other day.
_LANDINGS = ((3, 1, 3), (5, 1, 1), (7, 1, 1), (10, 1, 1), (12, 1, 1))
_DAY = 86_400


def _rolled_over(stamps: pa.Array, *, zoned: bool) -> np.ndarray:
    """The positions of the stamps on a day a rolled-over date lands on (with a zone, which moves an instant up to a
    day off the day written, the days either side too): about one date in fifty, the only ones read again."""
    bounds = pc.min_max(stamps.cast(pa.int64())).as_py()
    days = np.asarray(pc.fill_null(stamps.cast(pa.int64()), bounds["min"]).to_numpy(), dtype=np.int64) // _DAY
    # A flag per day of the stamps' span, a day wider either side (days, far fewer than lines): a lookup per line
    # costs less than finding its day of the month.
    first, last = bounds["min"] // _DAY - 1, bounds["max"] // _DAY + 1
    years = np.arange(np.datetime64(first, "D").astype("M8[Y]"), np.datetime64(last, "D").astype("M8[Y]") + 1)
    landing = np.zeros(last - first + 1, dtype=bool)
    for month, low, high in _LANDINGS:
        starts = (years.astype("M8[M]") + (month - 1)).astype("M8[D]").astype(np.int64) - first
        for day in range(low - 1, high):
            inside = starts + day
            landing[inside[(inside >= 0) & (inside < len(landing))]] = True
    if zoned:
        near = landing.copy()
        near[:-1] |= landing[1:]
        near[1:] |= landing[:-1]
        landing = near
    found = np.flatnonzero(landing[days - first])
    if stamps.null_count:  # a null stands at the first day: keep only real stamps
        found = found[np.asarray(stamps.is_valid().to_numpy(zero_copy_only=False), dtype=bool)[found]]
    return found


def calendar_pattern(fmt: str) -> str | None:
    """A regex reading the day, and the year and month, that `fmt` writes as numbers (groups d, and Y or y, m when it
    has them); None when it writes no day of the month."""
    parts = re.split(r"(%.)", fmt)
    if "%d" not in parts:
        return None
    last = max(index for index, part in enumerate(parts) if part in _FIELDS)  # what follows is never read
    return "^" + "".join(
        _FIELDS.get(part) or ("%" if part == "%%" else ".*?" if part.startswith("%") else re.escape(part))
        for part in parts[: last + 1]
    )


def _real_days(values: pa.Array, stamps: pa.Array, fmt: str) -> pa.Array:
    """`stamps` with those of a day that does not exist (31/02, 29/02 of a common year) made null: Arrow's strptime
    rolls them over into the next month (2026-02-31 reads as 2026-03-03), which would move a purchase silently."""
    pattern = calendar_pattern(fmt)
    if pattern is None or stamps.null_count == len(stamps):
        return stamps
    at = _rolled_over(stamps, zoned="%z" in fmt)
    if not len(at):
        return stamps
    written = pc.extract_regex(values.take(pa.array(at)), pattern)

    def number(name: str) -> np.ndarray:
        return np.asarray(pc.fill_null(pc.cast(pc.struct_field(written, name), pa.int64()), 1), dtype=np.int64)

    names = {field.name for field in written.type}
    day = number("d")
    if "m" in names and names & {"Y", "y"}:
        year = number("Y") if "Y" in names else 2000 + number("y")  # %y's years (1969-2068) share 2000's leap rule
        month = np.clip(number("m"), 1, 12)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        impossible = day > _MONTH_DAYS[month - 1] + ((month == 2) & leap)
    elif "%z" not in fmt:  # a month by name (%b): a rolled-over day is read back as another day
        impossible = day != np.asarray(pc.day(stamps.take(pa.array(at))).to_numpy(zero_copy_only=False))
    else:
        return stamps  # a zoned day and a month by name: no day left to compare with; no inferred format is so
    if not impossible.any():
        return stamps
    mask = np.zeros(len(stamps), dtype=bool)
    mask[at[impossible]] = True
    return pc.if_else(pa.array(mask), pa.scalar(None, stamps.type), stamps)


def parse_each(values: pa.Array, formats: list[tuple[str, ...]]) -> pa.Array:
    """Timestamps of `values`, each read as a fixed DateParser of its own `formats` reads it (the first that reads
    it, in order), in one strptime per format and place in the order rather than one parse per set of formats."""
    if pc.any(pc.or_(pc.starts_with(values, " "), pc.ends_with(values, " "))).as_py():
        values = pc.utf8_trim_whitespace(values)
    groups: dict[tuple[str, ...], int] = {}
    group = np.array([groups.setdefault(key, len(groups)) for key in formats], dtype=np.int64)
    names = list(dict.fromkeys(fmt for key in groups for fmt in key))
    seconds = np.array([any("%S" in fmt for fmt in key) for key in groups], dtype=bool)[group]
    if seconds.any() and pc.any(pc.match_substring(values, ".")).as_py():
        cut = pc.replace_substring_regex(values, _FRACTION, r"\1")
        values = pc.if_else(pa.array(seconds), cut, values)
    # The index (in `names`) of each group's format at each place, -1 past its last.
    places = np.full((len(groups), max(map(len, groups))), -1, dtype=np.int64)
    for key, code in groups.items():
        places[code, : len(key)] = [names.index(fmt) for fmt in key]
    result = pa.nulls(len(values), pa.timestamp("s"))
    for place in range(places.shape[1]):
        wanted = places[group, place]
        for code, fmt in enumerate(names):
            missing = np.asarray(pc.is_null(result).to_numpy(zero_copy_only=False), dtype=bool)
            at = missing & (wanted == code)
            if at.any():
                read = _strptime(values.filter(pa.array(at)), fmt)
                result = pc.replace_with_mask(result, pa.array(at), read)
    return _within_years(result)
