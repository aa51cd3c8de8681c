"""The report of a labelled frame: scored customers (a run's labelled file, or any frame with a segment id column)
profiled per segment, with every categorical column of the file such as Region."""

from collections.abc import Collection
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from app.models.features import find_column, normalise_column
from app.models.model import SegmentationModel
from app.models.rfm.build import RFM_COLUMNS
from app.models.rfm.left_out import left_out_lines
from app.services.reports.data import (
    AgeProfile,
    Composition,
    DriftStatus,
    FeatureProfile,
    Migration,
    ReportData,
    SegmentProfile,
)
from app.services.reports.explanations import feature_importance, segment_rules
from app.services.scoring.score_columns import output_column_names
from app.services.scoring.validation import numbers

# A text column with more distinct values than this is an id or free text, not a category to chart.
MAX_CATEGORIES = 20


def _values(frame: pd.DataFrame, column: str, *, comma: bool = False) -> np.ndarray:
    """The column's finite numbers, read as the scoring read them (decimal commas in a ';' file)."""
    values, _ = numbers(pa.Array.from_pandas(frame[column]), decimal_comma=comma)
    return values[np.isfinite(values)]


def _feature(values: np.ndarray, *, name: str, label: str, unit: str) -> FeatureProfile | None:
    if not len(values):
        return None
    p10, p90 = np.percentile(values, [10, 90])
    return FeatureProfile(
        name=name,
        label=label,
        unit=unit,
        mean=float(values.mean()),
        min=float(values.min()),
        max=float(values.max()),
        p10=float(p10),
        p90=float(p90),
    )


def _age_column(frame: pd.DataFrame) -> str | None:
    return next((column for column in frame.columns if normalise_column(str(column)) == "age"), None)


def output_columns(model: SegmentationModel) -> frozenset[str]:
    """The columns a labelled file may hold that scoring or the RFM builder wrote (score, explanation and target
    columns; an RFM run's per-customer columns): never a customer category."""
    return output_column_names(model.features) | frozenset(RFM_COLUMNS)


def categorical_columns(frame: pd.DataFrame, *, exclude: Collection[str]) -> list[str]:
    """The frame's text or categorical columns with a few distinct values (gender, region, plan...), in file order."""
    found = []
    for column in frame.columns:
        if column in exclude:
            continue
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series) or pd.api.types.is_bool_dtype(series):
            continue
        distinct = series.dropna().astype(str).str.strip().replace("", np.nan).dropna().nunique()
        if 0 < distinct <= MAX_CATEGORIES:
            found.append(str(column))
    return found


def _composition(series: pd.Series, column: str) -> Composition | None:
    values = series.dropna().astype(str).str.strip()
    values = values[values != ""]
    if values.empty:
        return None
    shares = values.value_counts(normalize=True, sort=True)
    return Composition(column=column, shares=[(str(value), float(share)) for value, share in shares.items()])


def _age(values: np.ndarray) -> AgeProfile | None:
    if not len(values):
        return None
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return AgeProfile(mean=float(values.mean()), median=float(median), q1=float(q1), q3=float(q3))


def frame_report(
    *,
    model: SegmentationModel,
    frame: pd.DataFrame,
    segmentation: str,
    title: str | None = None,
    subject: str = "scoring run",
    data_file: str | None = None,
    when: str | None = None,
    segment_column: str = "segment_id",
    decimal_comma: bool = False,
    categorical: list[str] | None = None,
    migration: Migration | None = None,
    migration_note: str | None = None,
    drift: DriftStatus | None = None,
    transactions: dict[str, Any] | None = None,
) -> ReportData:
    """Profile the frame's scored rows per segment of `model`; `categorical` names the columns to break down
    (default: every text column with at most MAX_CATEGORIES values, such as Gender or Region); `decimal_comma`
    reads "1,5" as 1.5, as the scoring read the file; `transactions` (an RFM run's build summary) counts its
    customers, the lines they were built from and those left out with no usable transaction."""
    ids = pd.to_numeric(frame[segment_column], errors="coerce")
    scored = frame[ids.notna()]
    ids = ids[ids.notna()].astype(np.int64).to_numpy()
    columns = [str(column) for column in frame.columns]
    feature_columns = {spec.name: find_column(columns, spec) for spec in model.feature_specs}
    age_column = _age_column(frame)
    if categorical is None:
        used = {column for column in feature_columns.values() if column} | {age_column or ""}
        categorical = categorical_columns(frame, exclude=used | output_columns(model))
    rules = segment_rules(model)

    def profiles(rows: pd.DataFrame) -> list[FeatureProfile]:
        """Each feature the frame has, profiled over `rows`."""
        found = []
        for spec in model.feature_specs:
            column = feature_columns[spec.name]
            values = _values(rows, column, comma=decimal_comma) if column else None
            if values is not None and (profile := _feature(values, name=spec.name, label=spec.label, unit=spec.unit)):
                found.append(profile)
        return found

    segments = []
    for segment in model.segments:
        members = scored[ids == segment.segment_id]
        features = profiles(members)
        compositions = [c for column in categorical if (c := _composition(members[column], column)) is not None]
        segments.append(
            SegmentProfile(
                segment_id=segment.segment_id,
                name=segment.name,
                size=len(members),
                share=len(members) / len(scored) if len(scored) else 0.0,
                description=segment.description,
                strategy=list(segment.strategy),
                features=features,
                age=_age(_values(members, age_column, comma=decimal_comma)) if age_column else None,
                compositions=compositions,
                rules=rules.get(segment.segment_id, []),
            )
        )
    overall = profiles(scored)
    counts = _counts(frame, scored, transactions)
    for column, label in (("is_atypical", "atypical"), ("out_of_range", "out of range")):
        if column in scored.columns:
            counts[label] = int(scored[column].fillna(False).astype(bool).sum())
    counts["segments"] = len(model.segments)
    return ReportData(
        title=title or f"Segment report: {segmentation}, version {model.version}",
        subject=subject,
        segmentation=segmentation,
        version=model.version,
        data_file=data_file,
        when=when,
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        counts=counts,
        segments=segments,
        overall=overall,
        importance=feature_importance(model),
        migration=migration,
        migration_note=migration_note,
        drift=drift,
        transaction_lines=None if transactions is None else transactions["rows_read"],
    )


def _counts(frame: pd.DataFrame, scored: pd.DataFrame, transactions: dict[str, Any] | None) -> dict[str, int]:
    """Rows and customers scored; for an RFM run, every customer its lines named (those with no usable transaction
    too, which skip leaves out of the file) and those left out said apart."""
    if transactions is None:
        return {"rows": len(frame), "customers scored": len(scored)}
    unusable = transactions.get("customers_without_usable_transactions") or 0
    counts = {"customers": transactions["customers"] + unusable, "customers scored": len(scored)}
    if unusable:
        counts["left out: no usable transaction"] = unusable
    if lines := sum(left_out_lines(transactions).values()):
        counts["transaction lines left out"] = lines
    return counts
