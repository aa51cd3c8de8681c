"""The report of a model version: its training customers per segment, as the version recorded them."""

from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from app.core.errors import DatabaseUnavailable, SegmentationError
from app.models.model import SegmentationModel
from app.models.rfm.left_out import left_out_lines
from app.models.versions.registry import ModelRegistry
from app.services import lifecycle
from app.services.monitoring import reads
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

Sessions = Callable[[], AbstractContextManager[Session]]


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _overall(model: SegmentationModel) -> list[FeatureProfile]:
    """Every training customer's features: data_stats for mean and range, the drift reference's deciles for p10-p90."""
    stats = model.info.get("data_stats") or {}
    reference = (model.info.get("drift_reference") or {}).get("features") or {}
    profiles = []
    for spec in model.feature_specs:
        own = stats.get(spec.name)
        if own is None:  # an old version without data_stats: the segments' ranges still bound every customer
            parts = [segment.stats[spec.name] for segment in model.segments]
            own = {
                "mean": sum(p.mean * s.size for p, s in zip(parts, model.segments, strict=True))
                / max(1, sum(s.size for s in model.segments)),
                "min": min(p.min for p in parts),
                "max": max(p.max for p in parts),
            }
        deciles = (reference.get(spec.name) or {}).get("deciles") or []
        profiles.append(
            FeatureProfile(
                name=spec.name,
                label=spec.label,
                unit=spec.unit,
                mean=float(own["mean"]),
                min=float(own["min"]),
                max=float(own["max"]),
                p10=_number(deciles[1]) if len(deciles) == 11 else None,
                p90=_number(deciles[9]) if len(deciles) == 11 else None,
            )
        )
    return profiles


def _compositions(profile: dict[str, Any]) -> list[Composition]:
    """Gender and any other categorical column the version recorded as {value: share}, largest share first."""
    found = []
    for key, shares in profile.items():
        if key == "age" or not isinstance(shares, dict):
            continue
        pairs = [(str(value), float(share)) for value, share in shares.items() if isinstance(share, int | float)]
        if pairs:
            found.append(
                Composition(column=key.replace("_", " ").capitalize(), shares=sorted(pairs, key=lambda p: -p[1]))
            )
    return found


def _segments(model: SegmentationModel) -> list[SegmentProfile]:
    rules = segment_rules(model)
    segments = []
    for segment in model.segments:
        profile = segment.profile or {}
        age = profile.get("age")
        features = []
        for spec in model.feature_specs:
            stats = segment.stats[spec.name]
            features.append(
                FeatureProfile(
                    name=spec.name,
                    label=spec.label,
                    unit=spec.unit,
                    mean=stats.mean,
                    min=stats.min,
                    max=stats.max,
                    # Recorded by versions that keep per-segment percentiles; none does yet, so usually None.
                    p10=_number(getattr(stats, "p10", None)),
                    p90=_number(getattr(stats, "p90", None)),
                )
            )
        segments.append(
            SegmentProfile(
                segment_id=segment.segment_id,
                name=segment.name,
                size=segment.size,
                share=segment.share,
                description=segment.description,
                strategy=list(segment.strategy),
                features=features,
                age=AgeProfile(**{key: float(age[key]) for key in ("mean", "median", "q1", "q3")})
                if isinstance(age, dict) and all(key in age for key in ("mean", "median", "q1", "q3"))
                else None,
                compositions=_compositions(profile),
                rules=rules.get(segment.segment_id, []),
            )
        )
    return segments


def previous_version(registry: ModelRegistry, version: str) -> str | None:
    """The usable version trained just before `version`, or None when it is the first."""
    entries = registry.versions()  # newest first
    names = [entry["version"] for entry in entries]
    if version not in names:
        return None
    return next((entry["version"] for entry in entries[names.index(version) + 1 :] if entry["usable"]), None)


def version_migration(registry: ModelRegistry, version: str) -> tuple[Migration | None, str | None]:
    """Where the version's training customers would have been under the previous version, or why that is unknown."""
    previous = previous_version(registry, version)
    if previous is None:
        return None, "This is the first version of this segmentation: there is no earlier version to compare with."
    try:
        comparison = lifecycle.compare(registry=registry, version=version, with_version=previous)
    except SegmentationError as exc:
        return None, f"No migration against version {previous}: {exc.message}"
    if not comparison["n_customers"]:
        return None, f"Version {version} kept no sample of its training customers to compare with {previous}."
    return (
        Migration(
            against=f"version {previous}",
            customers=f"{comparison['n_customers']:,} of this version's training customers (its stored sample)",
            old_names=[segment["name"] for segment in comparison["old_segments"]],
            new_names=[segment["name"] for segment in comparison["new_segments"]],
            matrix=comparison["migration_matrix"],
        ),
        None,
    )


def version_drift(sessions: Sessions | None, model: SegmentationModel, *, segmentation: str) -> DriftStatus | None:
    """The drift verdict of the version's recent logged predictions; `unavailable` when the log cannot be read."""
    if sessions is None:
        return None
    try:
        with sessions() as session:
            report = reads.drift(session, model, segmentation=segmentation)
    except DatabaseUnavailable as exc:
        return DriftStatus(status="unavailable", messages=[exc.message])
    window = report["window"]
    if window["kind"] == "rows":
        span = f"the last {window['size']:,} predictions this version logged (of {window['requested']:,} asked for)"
    else:
        since, until = (window[end][:16].replace("T", " ") for end in ("since", "until"))
        span = f"the {window['size']:,} customers this version scored from {since} to {until} UTC, each counted once"
    return DriftStatus(status=report["status"], messages=list(report["messages"]), window=span)


def version_report(
    *, registry: ModelRegistry, version: str, segmentation: str, sessions: Sessions | None = None
) -> ReportData:
    """The report of a version (`active` for the served one): 404 UnknownModelVersion when there is none."""
    model = registry.get(None if version == "active" else version)
    info = model.info
    migration, note = version_migration(registry, model.version)
    counts = {"customers": int(info.get("n_samples") or sum(s.size for s in model.segments))}
    lines = (info.get("rfm_summary") or {}).get("rows_read")
    # An RFM version's customers were built from these lines: said with the customers, as a run's report says them.
    transaction_lines = lines if isinstance(lines, int) else None
    if transaction_lines is None and isinstance(info.get("n_input_rows"), int):
        counts["rows in the training file"] = info["n_input_rows"]
    if left_out := sum(left_out_lines(info.get("rfm_summary")).values()):
        counts["transaction lines left out"] = left_out
    counts["segments"] = len(model.segments)
    return ReportData(
        title=f"Segment report: {segmentation}, version {model.version}",
        subject="model version",
        segmentation=segmentation,
        version=model.version,
        data_file=info.get("data_file"),
        when=info.get("trained_at"),
        generated_at=datetime.now(UTC).isoformat(timespec="seconds"),
        counts=counts,
        segments=_segments(model),
        overall=_overall(model),
        importance=feature_importance(model),
        migration=migration,
        migration_note=note,
        drift=version_drift(sessions, model, segmentation=segmentation),
        transaction_lines=transaction_lines,
    )
