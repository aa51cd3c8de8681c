"""What a segment report says, as plain data: built from a model version or from a labelled frame, rendered as
HTML or PDF by app/web/reports without knowing where it came from."""

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FeatureProfile:
    """One feature of one segment (or of every customer): mean, the 10th-90th percentile band when known, range."""

    name: str
    label: str
    unit: str
    mean: float
    min: float
    max: float
    p10: float | None = None
    p90: float | None = None


@dataclass(frozen=True)
class Composition:
    """A categorical column within a segment (gender, region, ...): each value's share, largest first."""

    column: str
    shares: list[tuple[str, float]]


@dataclass(frozen=True)
class AgeProfile:
    """The ages of a segment's customers: mean and quartiles."""

    mean: float
    median: float
    q1: float
    q3: float


@dataclass(frozen=True)
class SegmentProfile:
    """One segment as the report shows it."""

    segment_id: int
    name: str
    size: int
    share: float
    description: str
    strategy: list[str]
    features: list[FeatureProfile]
    age: AgeProfile | None = None
    compositions: list[Composition] = field(default_factory=list)
    # Plain-language rules that describe who falls in this segment, when the version's info has them.
    rules: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Migration:
    """How customers move between this report's segments and those of an earlier version or run."""

    against: str  # "version 2026..." or "run ..."
    customers: str  # which customers were counted, in words
    old_names: list[str]
    new_names: list[str]
    matrix: list[list[int]]  # rows: earlier segments, columns: this report's segments

    @property
    def moved(self) -> int:
        """Customers counted in another segment than the one with the same name before."""
        return sum(
            count
            for i, row in enumerate(self.matrix)
            for j, count in enumerate(row)
            if self.old_names[i] != self.new_names[j]
        )

    @property
    def total(self) -> int:
        """Customers counted."""
        return sum(sum(row) for row in self.matrix)


@dataclass(frozen=True)
class DriftStatus:
    """The drift verdict to print: `stable`, `watch`, `drift`, `insufficient data` or `unavailable`, and why."""

    status: str
    messages: list[str]
    window: str = ""


@dataclass(frozen=True)
class ReportData:
    """Everything a segment report shows; every part but the summary and the segments is optional."""

    title: str
    subject: str  # "model version" or "scoring run"
    segmentation: str
    version: str
    data_file: str | None
    when: str | None  # when the version was trained or the run scored (ISO 8601)
    generated_at: str
    counts: dict[str, int]  # customers, segments, and any other count worth a line (atypical, out of range)
    segments: list[SegmentProfile]
    # Every customer's features, so each segment's bars can be drawn on the same scale.
    overall: list[FeatureProfile]
    importance: list[tuple[str, float]] = field(default_factory=list)  # (feature label, importance), largest first
    migration: Migration | None = None
    migration_note: str | None = None  # why there is no migration, when there is none
    drift: DriftStatus | None = None
    notes: list[str] = field(default_factory=list)
    # The transaction lines an RFM run's or version's customers were built from (said with counts["customers"]).
    transaction_lines: int | None = None

    @property
    def composition_columns(self) -> list[str]:
        """The categorical columns any segment has, in first-seen order."""
        seen: dict[str, None] = {}
        for segment in self.segments:
            for composition in segment.compositions:
                seen.setdefault(composition.column, None)
        return list(seen)
