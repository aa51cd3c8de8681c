"""The five canonical income + spending segments, matched to centroids by geometry (ids 0 to 4)."""

from dataclasses import dataclass

import numpy as np

# Ids 0 to 4 are the archetypes'; every other segment, of any feature set, gets an id from here upward.
FIRST_DESCRIPTIVE_ID = 5
ARCHETYPE_FEATURES = frozenset({"annual_income", "spending_score"})
_INCOMPATIBLE = 1e9


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


def match_archetypes(z: np.ndarray, features: list[str], levels: list[dict[str, str]]) -> dict[int, Archetype]:
    """Optimal one-to-one assignment of compatible centroids (standardized) to archetypes, by KMeans label.

    Compatible: the centroid's income and spending levels are the archetype's, and it is moderate on every other
    feature.
    """
    if not set(features) >= ARCHETYPE_FEATURES:
        return {}
    from scipy.optimize import linear_sum_assignment  # naming runs at training; serving never imports scipy

    income, spending = features.index("annual_income"), features.index("spending_score")
    cost = np.full((len(z), len(ARCHETYPES)), _INCOMPATIBLE)
    others = [name for name in features if name not in ARCHETYPE_FEATURES]
    for i, position in enumerate(z):
        # An archetype speaks of income and spending only: a cluster that stands out on another feature is named
        # for what sets it apart, not called "Average Customer" at +1.2 sd of basket size.
        if any(levels[i][name] != "moderate" for name in others):
            continue
        for j, archetype in enumerate(ARCHETYPES):
            if levels[i]["annual_income"] in archetype.income and levels[i]["spending_score"] in archetype.spending:
                cost[i, j] = (position[income] - archetype.prototype[0]) ** 2 + (
                    position[spending] - archetype.prototype[1]
                ) ** 2
    rows, cols = linear_sum_assignment(cost)
    return {int(i): ARCHETYPES[j] for i, j in zip(rows, cols, strict=True) if cost[i, j] < _INCOMPATIBLE}
