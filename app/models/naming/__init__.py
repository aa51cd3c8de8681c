"""Segment naming: stable ids and names from where each centroid lies, never from KMeans labels.

Three vocabularies: the five archetypes for income + spending, the marketers' RFM names for recency, frequency and
monetary, and descriptive names ("High Income · Low Visits") for any other feature set. Whatever the vocabulary, a
cluster that matches a segment of the active model keeps its id and name (the owner's name, if they renamed it).
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import numpy as np

from app.models.features import FEATURES, Feature
from app.models.naming.archetypes import ARCHETYPE_FEATURES, ARCHETYPES, FIRST_DESCRIPTIVE_ID, match_archetypes
from app.models.naming.descriptive import (
    AVERAGE_NAME,
    LEVEL_THRESHOLD,
    description,
    descriptive_names,
    generic_strategy,
    level_of,
    numbered,
)
from app.models.naming.identity import MAX_IDENTITY_SHIFT, match_reference

if TYPE_CHECKING:
    from app.models.model import Segment

__all__ = [
    "ARCHETYPES",
    "AVERAGE_NAME",
    "FIRST_DESCRIPTIVE_ID",
    "LEVEL_THRESHOLD",
    "MAX_IDENTITY_SHIFT",
    "RFM_ORDER",
    "SegmentName",
    "Vocabulary",
    "level_of",
    "name_segments",
    "vocabulary_of",
]

# "auto": the archetypes when the features hold income and spending, RFM names for exactly RFM's three features,
# descriptive names otherwise.
Vocabulary = Literal["auto", "descriptive", "rfm"]
# The column order app.models.rfm.naming.rfm_names reads its centroids in.
RFM_ORDER = ("recency_days", "frequency", "monetary")


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


def vocabulary_of(features: Sequence[str], vocabulary: Vocabulary = "auto") -> str:
    """The vocabulary a feature set is named in: "archetypes", "rfm" or "descriptive"."""
    if vocabulary == "rfm":
        if not set(RFM_ORDER) <= set(features):
            raise ValueError(f"RFM names need the features {', '.join(RFM_ORDER)}; got {', '.join(features)}")
        return "rfm"
    if vocabulary == "descriptive":
        return "descriptive"
    if vocabulary != "auto":
        raise ValueError(f"unknown vocabulary {vocabulary!r}")
    if set(features) >= ARCHETYPE_FEATURES:
        return "archetypes"
    return "rfm" if sorted(features) == sorted(RFM_ORDER) else "descriptive"


def _characteristics(levels: dict[str, str], centroid: np.ndarray, specs: Sequence[Feature]) -> tuple[str, ...]:
    lines = []
    for feature, value in zip(specs, centroid, strict=True):
        name = feature.name
        lines.append(f"{levels[name].capitalize()} {feature.noun.lower()} (centroid {feature.label}: {value:.1f})")
    return tuple(lines)


def _rfm_proposals(shown: np.ndarray, features: list[str]) -> list[tuple[str, str, tuple[str, ...]]]:
    """(name, description, strategy) of every centroid from the RFM rules, which rank all centroids together."""
    from app.models.rfm.naming import rfm_names  # only RFM segmentations need the marketers' vocabulary

    proposals = rfm_names(shown[:, [features.index(name) for name in RFM_ORDER]])
    if len(proposals) != len(shown):
        raise ValueError(f"rfm_names gave {len(proposals)} names for {len(shown)} centroids")
    return [
        (str(name), str(text), (strategy,) if isinstance(strategy, str) else tuple(strategy))
        for name, text, strategy in proposals
    ]


def name_segments(
    centroids: np.ndarray,
    features: list[str],
    data_mean: np.ndarray,
    data_std: np.ndarray,
    *,
    reference: "Sequence[Segment] | None" = None,
    used_ids: Iterable[int] = (),
    specs: Sequence[Feature] | None = None,
    shown: np.ndarray | None = None,
    vocabulary: Vocabulary = "auto",
) -> list[SegmentName]:
    """Name each centroid (the model's space) relative to the training data's mean and spread in that space.

    `shown` is the centroids in the features' own units (for sentences and the RFM rules), `reference` the active
    model's segments (a cluster that matches one keeps its id, name, description and strategy) and `used_ids` every
    id any version ever used (a new cluster gets an id outside them).
    """
    centroids = np.asarray(centroids, dtype=float)
    specs = list(specs) if specs is not None else [FEATURES[name] for name in features]
    shown = centroids if shown is None else np.asarray(shown, dtype=float)
    std = np.where(np.asarray(data_std) > 0, data_std, 1.0)
    z = (centroids - data_mean) / std
    levels = [{name: level_of(value) for name, value in zip(features, row, strict=True)} for row in z]
    kind = vocabulary_of(features, vocabulary)
    matched = match_archetypes(z, features, levels) if kind == "archetypes" else {}

    identities: dict[int, tuple[int, str, str, tuple[str, ...]]] = {
        label: (archetype.segment_id, archetype.name, archetype.description, archetype.strategy)
        for label, archetype in matched.items()
    }
    # Ids go to the other clusters in a fixed order of their centroids, so they never follow KMeans labels.
    unmatched = sorted((label for label in range(len(centroids)) if label not in matched), key=lambda i: tuple(z[i]))
    kept = match_reference(unmatched, z, reference or [], specs, data_mean, std)
    # A kept name stays unless this version already has it (an owner's rename to an archetype's name).
    kept_labels = [label for label in unmatched if label in kept]
    kept_names = numbered([kept[label].name for label in kept_labels], z[kept_labels], [a.name for a in ARCHETYPES])
    for label, name in zip(kept_labels, kept_names, strict=True):
        segment = kept[label]
        identities[label] = (segment.segment_id, name, segment.description, tuple(segment.strategy))

    fresh = [label for label in unmatched if label not in kept]
    taken = {name for _, name, _, _ in identities.values()}
    if kind == "rfm":
        proposals = _rfm_proposals(shown, features)
        names = numbered([proposals[label][0] for label in fresh], z[fresh], taken)
        advice = [proposals[label][1:] for label in fresh]
    else:
        names = descriptive_names(z[fresh], specs, taken)
        advice = [(description(levels[label], specs), generic_strategy(levels[label], specs)) for label in fresh]
    used = {*used_ids, *(segment.segment_id for segment in reference or [])}
    next_id = max([FIRST_DESCRIPTIVE_ID - 1, *used]) + 1
    for offset, (label, name, (text, strategy)) in enumerate(zip(fresh, names, advice, strict=True)):
        identities[label] = (next_id + offset, name, text, strategy)

    named = [
        SegmentName(
            label, segment_id, name, levels[label], text, strategy, _characteristics(levels[label], shown[label], specs)
        )
        for label, (segment_id, name, text, strategy) in identities.items()
    ]
    return sorted(named, key=lambda segment: segment.segment_id)
