"""Why no customer in a file could be scored: the likely cause, from the summary and a few of the file's raw values.

Features are the model's (Feature objects, passed in); without them, the built-in ones, with their own sentences.
"""

import csv
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from app.models.features import FEATURES, Feature
from app.models.model import SegmentationModel
from app.models.units import scale_hint
from app.services.scoring.summary import ScoreSummary
from app.services.scoring.validation import MALFORMED
from app.utils.csv_head import DECIMAL_COMMA, decimal_point, row_names, uses_decimal_comma

# Enough lines to see how the file writes its numbers, read from a bounded head so a huge line costs nothing.
SAMPLE_LINES = 20
SAMPLE_BYTES = 64 * 1024
# A value quoted back to the user is cut to this many characters.
QUOTED_CHARS = 20

# Row reasons name the file's own column (validation.py), which may hold spaces and brackets.
_REASON = re.compile(r"^(?:missing (?P<missing>.+)|(?P<nan>.+) is not a number|(?P<range>.+) out of range \([^()]*\))$")
_THOUSANDS = re.compile(r"^[+-]?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$")
_CURRENCY = re.compile(r"[$€£¥]|\b(?:USD|EUR|GBP)\b", re.IGNORECASE)
_PERCENT = re.compile(r"^[+-]?[0-9.]+\s*%$")
_PLAIN = re.compile(r"^[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)$")


@dataclass(frozen=True)
class RawSample:
    """The first lines of a file as written: the header's field count, the lines after it, each feature's values."""

    header_fields: int = 0
    lines: list[str] = field(default_factory=list)
    values: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Diagnosis:
    """The likely reason no customer was scored (`cause`, a short key) and what to do, in one sentence."""

    cause: str
    message: str


def _specs(features: Sequence[Feature] | None) -> dict[str, Feature]:
    """Features by name: those given, else the built-in ones."""
    return {feature.name: feature for feature in features} if features is not None else dict(FEATURES)


def raw_sample(
    path: Path, *, delimiter: str, columns: dict[str, str | None], features: Sequence[Feature] | None = None
) -> RawSample:
    """The first few data lines of a CSV file and the raw text of its feature columns (`columns`: feature → name)."""
    specs = _specs(features)
    with path.open("rb") as handle:
        head = handle.read(SAMPLE_BYTES)
    text = head.decode("utf-8-sig", errors="replace")
    lines = text.splitlines()
    if len(head) == SAMPLE_BYTES and lines:
        lines.pop()  # cut short by the read
    try:
        rows = list(csv.reader(io.StringIO("\n".join(lines[: SAMPLE_LINES + 1])), delimiter=delimiter))
    except csv.Error:  # a quote the head cuts open: the lines alone still say something
        rows = []
    if not rows:
        return RawSample(lines=lines[1 : SAMPLE_LINES + 1])
    # Read as the scorer reads them: a header or rows ending with the delimiter are a field shorter or longer.
    named = [name.strip().lstrip("\ufeff").strip() for name in rows[0]]
    header = row_names(named, next((row for row in rows[1:] if row), None))
    values: dict[str, list[str]] = {}
    for feature, name in columns.items():
        if feature in specs and name in header:
            index = header.index(name)
            values[feature] = [row[index].strip() for row in rows[1:] if len(row) == len(header)]
    return RawSample(header_fields=len(header), lines=lines[1 : SAMPLE_LINES + 1], values=values)


def _most(values: list[str], pattern: re.Pattern[str]) -> bool:
    """Whether most of the non-empty values match."""
    given = [value for value in values if value]
    return bool(given) and sum(1 for value in given if pattern.search(value)) * 2 > len(given)


def _example(values: list[str], pattern: re.Pattern[str] | None = None) -> str:
    """The first non-empty value (matching `pattern`, when given), quoted and cut short."""
    value = next((value for value in values if value and (pattern is None or pattern.search(value))), "")
    return f"'{value[:QUOTED_CHARS]}'"


def _numbers(values: list[str], *, decimal_comma: bool = False) -> list[float]:
    """The plain numbers among the values (with `decimal_comma`, "1,5" as 1.5, as a ';' file is read)."""
    if decimal_comma:
        values = [decimal_point(value) for value in values]
    return [float(value) for value in values if _PLAIN.match(value)]


def _fields(line: str, delimiter: str) -> int:
    """How many fields a line splits into with a delimiter."""
    try:
        return len(next(csv.reader([line], delimiter=delimiter), []))
    except csv.Error:
        return 0


def _wrong_fields(summary: ScoreSummary, sample: RawSample) -> Diagnosis:
    other = ";" if summary.delimiter == "," else ","
    lines = [line for line in sample.lines if line.strip()]
    width = sample.header_fields
    if lines and width > 1 and sum(_fields(line, other) == width for line in lines) * 2 > len(lines):
        return Diagnosis(
            "wrong_delimiter",
            f"the header is separated by '{summary.delimiter}' but the rows by '{other}': save the file with one "
            "delimiter throughout",
        )
    wider = sum(_fields(line, summary.delimiter) > width for line in lines) * 2 > len(lines)
    if summary.delimiter == "," and wider and _most(lines, _CURRENCY):
        return Diagnosis(
            "currency",
            "every row has more columns than the header, as amounts such as $45,000 in a comma-separated file "
            "would: write plain numbers, and incomes in k$ (thousands of dollars): 45 for $45,000",
        )
    if summary.delimiter == "," and wider and _most(lines, re.compile(r"[0-9],[0-9]")):
        return Diagnosis(
            "number_commas",
            "every row has more columns than the header, as numbers written with commas (45,5, 1,5E-05 or 45,000) "
            "in a comma-separated file would: write them as plain numbers (45.5 and 1.5E-05, or 45 for an income of "
            "45,000 dollars), or save the file with ';' as the delimiter and choose ';'",
        )
    return Diagnosis(
        "wrong_fields",
        "every row has a different number of columns from the header: check that the header and the rows use "
        "the same delimiter, and that values holding the delimiter are in double quotes",
    )


def _not_numbers(spec: Feature, summary: ScoreSummary, values: list[str]) -> Diagnosis:
    noun = spec.plural or f"{spec.label.lower()} values"
    # The default's income is in k$; another segmentation's feature is in its own unit, as its training file was.
    income = FEATURES.get(spec.name) == spec and spec.name == "annual_income"
    unit = f" in {spec.unit}" if spec.unit else ""
    if _most(values, _CURRENCY):
        fix = "in k$ (thousands of dollars): write $45,000 as 45" if income else f"{unit}: write $45,000 as 45000"
        return Diagnosis(
            "currency",
            f"the {noun} are written with a currency sign (such as {_example(values, _CURRENCY)}); this model "
            f"expects plain numbers {fix.lstrip()}",
        )
    if summary.delimiter == "," and _most(values, _THOUSANDS):
        fix = ", and incomes in k$ (thousands of dollars): write 45,000 dollars as 45" if income else (
            ": write 45,000 as 45000")  # fmt: skip
        return Diagnosis(
            "thousands_separators",
            f"the {noun} have thousands separators (such as {_example(values, _THOUSANDS)}); this model expects "
            f"plain numbers{fix}",
        )
    # As a ';' file's reader reads them, with an exponent too ("1,5E-05"): only a ',' file gets here.
    if _most(values, DECIMAL_COMMA):
        return Diagnosis(
            "decimal_commas",
            f"the {noun} use decimal commas (such as {_example(values, DECIMAL_COMMA)}); this model reads "
            "decimal points in a comma-separated file: save the file with '.' as the decimal mark (45.5, not 45,5; "
            "1.5E-05, not 1,5E-05), or with ';' as the delimiter",
        )
    if _most(values, _PERCENT):
        scale = " from 1 to 100" if FEATURES.get(spec.name) == spec else f" ({spec.range_text()})"
        return Diagnosis(
            "percent",
            f"the {noun} are written as percentages (such as {_example(values, _PERCENT)}); write them as plain "
            f"numbers{scale}",
        )
    found = f" (such as {_example(values)})" if any(values) else ""
    return Diagnosis("not_numbers", f"no value in the {noun} column is a plain number{found}")


def _out_of_range(
    spec: Feature, summary: ScoreSummary, values: list[str], reference: tuple[float, float] | None
) -> Diagnosis:
    feature = spec.name
    numbers = _numbers(values, decimal_comma=uses_decimal_comma(summary.delimiter))
    above = [number for number in numbers if number > spec.maximum]
    builtin = FEATURES.get(feature) == spec  # the default model's features keep their own sentences
    if builtin and feature == "annual_income" and len(above) * 2 > len(numbers):
        example = f"{above[0]:.10g}"
        return Diagnosis(
            "dollars",
            f"values look like dollars (such as {example}); this model expects k$, thousands of dollars: "
            f"divide the incomes by 1,000 ({example} becomes {above[0] / 1000:.10g})",
        )
    if builtin and feature == "spending_score" and numbers and max(numbers) <= 1 and min(numbers) >= 0:
        return Diagnosis(
            "fractions",
            f"spending scores look like fractions (such as {numbers[0]:g}); this model expects scores from 1 to "
            f"100: multiply them by 100 ({numbers[0]:g} becomes {numbers[0] * 100:g})",
        )
    hint = None if builtin else scale_hint(spec, numbers, reference=reference)
    if hint is not None:
        return Diagnosis(hint.cause, hint.message)
    unit = f" {spec.short_unit}" if spec.short_unit else ""
    plural = spec.plural or f"{spec.label.lower()} values"
    return Diagnosis(
        "out_of_range",
        f"every one of the {plural} is outside the accepted range ({spec.range_text()}{unit}): check that "
        "the right column is used, and its unit",
    )


def diagnose(
    summary: ScoreSummary,
    sample: RawSample,
    *,
    features: Sequence[Feature] | None = None,
    training_ranges: dict[str, tuple[float, float]] | None = None,
) -> Diagnosis | None:
    """Why no row of a file was scored, or None when some were (or when there were no rows to score).

    `features`: the model's (default: the built-in ones); `training_ranges` (feature -> min, max of its training
    data), when known, tell values 1,000 times off from values merely out of range.
    """
    specs = _specs(features)
    if summary.rows == 0 or summary.scored > 0 or not summary.errors:
        return None
    reason, count = max(summary.errors.items(), key=lambda item: item[1])
    if reason == MALFORMED:
        return _wrong_fields(summary, sample)
    match = _REASON.match(reason)
    named = match and (match["missing"] or match["nan"] or match["range"])
    # Back from the file's column to the feature it was read as.
    feature = next((f for f, column in summary.columns.items() if column == named), named)
    if not match or feature not in specs:
        return Diagnosis("other", f'every row has a problem; the most common is "{reason}" ({count:,} rows)')
    values = sample.values.get(feature, [])
    if match["missing"]:
        column = summary.columns.get(feature) or feature
        noun = (specs[feature].noun or specs[feature].label).lower()
        return Diagnosis(
            "missing",
            f"the column '{column[: QUOTED_CHARS * 2]}' read as {noun} is empty in every "
            "row: check that it is the right column",
        )
    if match["nan"]:
        return _not_numbers(specs[feature], summary, values)
    return _out_of_range(specs[feature], summary, values, (training_ranges or {}).get(feature))


def training_ranges_of(model: SegmentationModel) -> dict[str, tuple[float, float]]:
    """Each feature's minimum and maximum in the model's training data, where the version recorded them."""
    low, high = model.training_range
    return {
        name: (float(lo), float(hi))
        for name, lo, hi in zip(model.features, low, high, strict=True)
        if math.isfinite(lo) and math.isfinite(hi)
    }


def explain_unscored(model: SegmentationModel, path: Path, summary: ScoreSummary) -> Diagnosis | None:
    """Why no row of a scored file could be scored, read from the file itself (None when some were)."""
    if not summary.rows or summary.scored or summary.rfm is not None:
        return None
    features = model.feature_specs
    sample = raw_sample(path, delimiter=summary.delimiter, columns=summary.columns, features=features)
    return diagnose(summary, sample, features=features, training_ranges=training_ranges_of(model))


def unit_warnings(model: SegmentationModel, path: Path, summary: ScoreSummary) -> list[str]:
    """Features most of whose scored values lie outside the training range, as a slip of unit would put them:
    "income looks like dollars, ..." when a power of 1,000 explains it, else how many and the range."""
    if not summary.scored or summary.rfm is not None:
        return []
    flagged = [name for name, count in summary.out_of_range.items() if count * 2 > summary.scored]
    if not flagged:
        return []
    specs = {spec.name: spec for spec in model.feature_specs}
    sample = raw_sample(path, delimiter=summary.delimiter, columns=summary.columns, features=model.feature_specs)
    ranges = training_ranges_of(model)
    warnings = []
    for name in flagged:
        spec, low_high = specs[name], ranges.get(name)
        numbers = _numbers(sample.values.get(name, []), decimal_comma=uses_decimal_comma(summary.delimiter))
        hint = scale_hint(spec, numbers, reference=low_high)
        if hint is not None:
            warnings.append(hint.message)
        elif low_high is not None:
            warnings.append(
                f"{summary.out_of_range[name]:,} of {summary.scored:,} {spec.label} values lie outside the range "
                f"this version was trained on ({low_high[0]:g} to {low_high[1]:g}): check the file's unit"
            )
    return warnings
