"""Segment naming: stable ids and names from where each centroid lies, never from KMeans labels."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from app.models.features import FEATURES, Feature

if TYPE_CHECKING:
    from app.models.model import Segment

# A centroid more than this many training standard deviations from the mean is "high" or "low".
LEVEL_THRESHOLD = 0.5
FIRST_DESCRIPTIVE_ID = 5
_INCOMPATIBLE = 1e9
# Across retrains, a cluster that is not one of the five archetypes keeps the id (and name) of the active
# model's cluster it matches: an optimal one-to-one assignment on centroid distance in original units
# (k$ of income, points of score, years of age), accepted up to this distance. Farther means a new segment.
MAX_IDENTITY_DISTANCE = 10.0


@dataclass(frozen=True)
class Archetype:
    """A named segment that a centroid can be matched to."""

    segment_id: int
    name: str
    income: frozenset[str]
    spending: frozenset[str]
    prototype: tuple[float, float]  # (income, spending) in training standard deviations
    description: str
    strategy: tuple[str, ...]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype(
        0,
        "Average Customer",
        frozenset({"moderate"}),
        frozenset({"moderate"}),
        (0.0, 0.0),
        "Middle income, middle spending: the steady core of the customer base.",
        (
            "Run standard seasonal promotions",
            "Enrol them in the loyalty programme with points on every visit",
            "Cross-sell complementary products at checkout",
        ),
    ),
    Archetype(
        1,
        "VIP / Whale",
        frozenset({"high"}),
        frozenset({"high"}),
        (1.0, 1.0),
        "High income and high spending: the most valuable customers.",
        (
            "Offer premium products and early access to new collections",
            "Send exclusive, invitation-only offers",
            "Assign personal shopping or concierge service",
        ),
    ),
    Archetype(
        2,
        "Young Trendsetter",
        frozenset({"low", "moderate"}),
        frozenset({"high"}),
        (-1.0, 1.0),
        "Lower income but high spending: trend-driven buyers who spend beyond their means.",
        (
            "Promote trendy, new-season products",
            "Reach them on social media and with influencer campaigns",
            "Offer buy-now-pay-later and student discounts",
        ),
    ),
    Archetype(
        3,
        "High Earner Saver",
        frozenset({"high"}),
        frozenset({"low"}),
        (1.0, -1.0),
        "High income but low spending: careful buyers who can afford more.",
        (
            "Highlight quality, durability and long-term value",
            "Present purchases as investments with warranties and guarantees",
            "Use personalised recommendations to win their trust",
        ),
    ),
    Archetype(
        4,
        "Budget Conscious",
        frozenset({"low"}),
        frozenset({"low"}),
        (-1.0, -1.0),
        "Low income and low spending: price-sensitive customers.",
        (
            "Send discount coupons and bundle deals",
            "Announce clearance and end-of-season sales",
            "Promote value own-brand ranges",
        ),
    ),
)

GENERIC_STRATEGY: tuple[str, ...] = (
    "Survey this group to learn what drives its purchases",
    "Test offers matched to its income and spending before scaling them",
    "Track its response to campaigns and revisit the segment after retraining",
)


@dataclass(frozen=True)
class SegmentName:
    """The stable identity given to one KMeans cluster."""

    kmeans_label: int
    segment_id: int
    name: str
    levels: dict[str, str]
    description: str
    strategy: tuple[str, ...]
    characteristics: tuple[str, ...]


def level_of(z: float) -> str:
    """Map a standardized position to low, moderate or high."""
    if z < -LEVEL_THRESHOLD:
        return "low"
    if z > LEVEL_THRESHOLD:
        return "high"
    return "moderate"


def _characteristics(levels: dict[str, str], centroid: np.ndarray, specs: "Sequence[Feature]") -> tuple[str, ...]:
    lines = []
    for feature, value in zip(specs, centroid, strict=True):
        name = feature.name
        lines.append(f"{levels[name].capitalize()} {feature.noun.lower()} (centroid {feature.label}: {value:.1f})")
    return tuple(lines)


def _descriptive_name(levels: dict[str, str], specs: "Sequence[Feature]") -> str:
    return " · ".join(f"{levels[spec.name].capitalize()} {spec.noun}" for spec in specs)


def _match_archetypes(z: np.ndarray, features: list[str], levels: list[dict[str, str]]) -> dict[int, Archetype]:
    """Optimal one-to-one assignment of compatible centroids to archetypes."""
    if not {"annual_income", "spending_score"} <= set(features):
        return {}
    from scipy.optimize import linear_sum_assignment  # naming runs at training; serving never imports scipy

    income, spending = features.index("annual_income"), features.index("spending_score")
    cost = np.full((len(z), len(ARCHETYPES)), _INCOMPATIBLE)
    for i, position in enumerate(z):
        for j, archetype in enumerate(ARCHETYPES):
            if levels[i]["annual_income"] in archetype.income and levels[i]["spending_score"] in archetype.spending:
                cost[i, j] = (position[income] - archetype.prototype[0]) ** 2 + (
                    position[spending] - archetype.prototype[1]
                ) ** 2
    rows, cols = linear_sum_assignment(cost)
    return {int(i): ARCHETYPES[j] for i, j in zip(rows, cols, strict=True) if cost[i, j] < _INCOMPATIBLE}


def _match_reference(
    labels: list[int], centroids: np.ndarray, features: list[str], reference: "Sequence[Segment]"
) -> dict[int, "Segment"]:
    """Unmatched clusters paired with the reference's non-archetype segments, within MAX_IDENTITY_DISTANCE."""
    candidates = [
        segment
        for segment in reference
        if segment.segment_id >= FIRST_DESCRIPTIVE_ID and set(segment.centroid) == set(features)
    ]
    if not labels or not candidates:
        return {}
    from scipy.optimize import linear_sum_assignment  # naming runs at training; serving never imports scipy

    old = np.array([[segment.centroid[f] for f in features] for segment in candidates])
    cost = np.linalg.norm(centroids[labels][:, None, :] - old[None, :, :], axis=2)
    rows, cols = linear_sum_assignment(cost)
    return {labels[i]: candidates[j] for i, j in zip(rows, cols, strict=True) if cost[i, j] <= MAX_IDENTITY_DISTANCE}


def name_segments(
    centroids: np.ndarray,
    features: list[str],
    data_mean: np.ndarray,
    data_std: np.ndarray,
    *,
    reference: "Sequence[Segment] | None" = None,
    used_ids: Iterable[int] = (),
    specs: "Sequence[Feature] | None" = None,
    shown: np.ndarray | None = None,
) -> list[SegmentName]:
    """Name each centroid (original units) relative to the training data's mean and spread.

    `reference` is the active model's segments (their ids are kept by matching clusters) and `used_ids`
    every id any version ever used (a new cluster gets an id outside them).
    """
    centroids = np.asarray(centroids, dtype=float)
    specs = list(specs) if specs is not None else [FEATURES[name] for name in features]
    nouns = {spec.name: spec.noun for spec in specs}
    # Described in the features' own units (the centroids may be in the model's log space).
    shown = centroids if shown is None else np.asarray(shown, dtype=float)
    z = (centroids - data_mean) / np.where(data_std > 0, data_std, 1.0)
    levels = [{name: level_of(value) for name, value in zip(features, row, strict=True)} for row in z]
    matched = _match_archetypes(z, features, levels)

    named: list[SegmentName] = []
    for label, archetype in sorted(matched.items()):
        named.append(
            SegmentName(
                label,
                archetype.segment_id,
                archetype.name,
                levels[label],
                archetype.description,
                archetype.strategy,
                _characteristics(levels[label], shown[label], specs),
            )
        )
    # Unmatched clusters get ids in a fixed order of their centroids, so ids do not follow labels.
    unmatched = sorted((label for label in range(len(centroids)) if label not in matched), key=lambda i: tuple(z[i]))
    kept = _match_reference(unmatched, shown, features, reference or [])
    taken_ids = {*used_ids, *(segment.segment_id for segment in reference or [])}
    next_id = max([FIRST_DESCRIPTIVE_ID - 1, *taken_ids]) + 1
    taken = {segment.name for segment in named}
    for label in unmatched:
        if label in kept:
            segment_id, base = kept[label].segment_id, kept[label].name
        else:
            segment_id, base = next_id, _descriptive_name(levels[label], specs)
            next_id += 1
        name, n = base, 2
        while name in taken:
            name, n = f"{base} ({n})", n + 1
        taken.add(name)
        described = ", ".join(f"{level} {nouns[f].lower()}" for f, level in levels[label].items())
        named.append(
            SegmentName(
                label,
                segment_id,
                name,
                levels[label],
                f"Customers with {described}.",
                GENERIC_STRATEGY,
                _characteristics(levels[label], shown[label], specs),
            )
        )
    return sorted(named, key=lambda segment: segment.segment_id)
