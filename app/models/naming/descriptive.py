"""Descriptive names for any feature set, from where each centroid lies in training standard deviations."""

from collections.abc import Collection, Sequence

import numpy as np

from app.models.features import Feature

# A centroid more than this many training standard deviations from the mean is "high" or "low".
LEVEL_THRESHOLD = 0.5
# Beyond this, a name may say "very": only to tell apart centroids that would otherwise share a name.
VERY_THRESHOLD = 1.5
# A name cites at most this many features (the farthest from the mean): eight would make a sentence, not a name.
MAX_NAMED_FEATURES = 3
AVERAGE_NAME = "Average on every feature"


def level_of(z: float) -> str:
    """Map a standardized position to low, moderate or high."""
    if z < -LEVEL_THRESHOLD:
        return "low"
    if z > LEVEL_THRESHOLD:
        return "high"
    return "moderate"


def _word(z: float, *, very: bool) -> str:
    level = level_of(z).capitalize()
    return f"Very {level}" if very and abs(z) > VERY_THRESHOLD else level


def describe(z: np.ndarray, specs: Sequence[Feature], *, very: bool = False, limit: int = MAX_NAMED_FEATURES) -> str:
    """A name from the features a centroid stands out on ("High Income · Low Visits"), or AVERAGE_NAME.

    The `limit` features farthest from the mean are cited, written in the features' own order: two centroids that
    stand out on the same features in the same directions read the same, whichever of them is more extreme.
    """
    standing = [i for i, value in enumerate(z) if level_of(value) != "moderate"]
    farthest = sorted(standing, key=lambda i: -abs(z[i]))[:limit]  # a stable sort: ties go to the first feature
    if not farthest:
        return AVERAGE_NAME
    return " · ".join(f"{_word(z[i], very=very)} {specs[i].noun}" for i in sorted(farthest))


def numbered(bases: Sequence[str], z: np.ndarray, taken: Collection[str]) -> list[str]:
    """The names made unique within themselves and against `taken` by a number: "Champions (2)".

    Centroids that share a name are numbered in order along the feature they differ most on, so the number follows
    where they lie, never the KMeans label order; the first keeps the bare name unless `taken` has it.
    """
    names = list(bases)
    used = set(taken) | {base for base in bases if bases.count(base) == 1}
    for base in sorted(set(bases)):
        members = [i for i, name in enumerate(bases) if name == base]
        if len(members) == 1 and base not in taken:
            continue
        axis = int(np.argmax(np.ptp(z[members], axis=0)))
        members.sort(key=lambda i: (z[i][axis], tuple(z[i])))
        n = 1
        for i in members:
            name = base
            while name in used:
                n += 1
                name = f"{base} ({n})"
            names[i] = name
            used.add(name)
    return names


def descriptive_names(z: np.ndarray, specs: Sequence[Feature], taken: Collection[str] = ()) -> list[str]:
    """Unique descriptive names for standardized centroids (one per row of `z`), none of them in `taken`.

    Centroids that would share a name are told apart by "very" levels and every feature they stand out on, and when
    that is not enough, by a number.
    """
    names = [describe(row, specs) for row in z]
    clashing = [i for i, name in enumerate(names) if names.count(name) > 1 or name in taken]
    for i in clashing:
        names[i] = describe(z[i], specs, very=True, limit=len(specs))
    return numbered(names, z, taken)


def description(levels: dict[str, str], specs: Sequence[Feature]) -> str:
    """One sentence with the centroid's level on every feature."""
    described = ", ".join(f"{levels[spec.name]} {spec.noun.lower()}" for spec in specs)
    return f"Customers with {described}."


def generic_strategy(levels: dict[str, str], specs: Sequence[Feature]) -> tuple[str, ...]:
    """Advice for a segment no vocabulary knows: learn what drives it, test offers on what sets it apart."""
    standing = [f"{levels[spec.name]} {spec.noun.lower()}" for spec in specs if levels[spec.name] != "moderate"]
    apart = " and ".join([", ".join(standing[:-1]), standing[-1]] if len(standing) > 1 else standing)
    return (
        "Survey this group to learn what drives its purchases",
        f"Test offers matched to its {apart or 'profile'} before scaling them",
        "Track its response to campaigns and revisit the segment after retraining",
    )
