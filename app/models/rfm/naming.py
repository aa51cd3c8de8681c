"""RFM segment names from the marketers' vocabulary, assigned from the centroids' R, F and M standing.

Rules (the README quotes this table):

1. Each centroid gets three scores in 0..1 from its place among the k centroids on a log scale (log1p of the
   values): R is 1 for the most recent centroid and 0 for the longest gone, F and M are 1 for the most frequent and
   highest-spending centroid and 0 for the least; the others sit in between by distance, not only by rank, so a
   2-order group stays near the 1-order group rather than half-way to a 20-order one. Equal centroids score 0.5.
2. Each name has an ideal (R, F, M):

   | name                | R    | F    | M    | who they are                                             |
   |---------------------|------|------|------|----------------------------------------------------------|
   | Champions           | 1.00 | 1.00 | 1.00 | bought recently, buy often and spend the most            |
   | Loyal Customers     | 0.60 | 0.85 | 0.85 | buy often and spend well, a little less recently         |
   | Potential Loyalists | 0.85 | 0.45 | 0.45 | recent customers with a few orders and average spend     |
   | New Customers       | 0.90 | 0.00 | 0.15 | bought very recently, for the first time or so           |
   | At Risk             | 0.30 | 0.65 | 0.65 | bought often and spent well, but not for a long time     |
   | Can't Lose Them     | 0.05 | 0.95 | 0.95 | among the best customers once, and gone the longest      |
   | Hibernating         | 0.30 | 0.20 | 0.20 | few, small orders, a long time ago                       |
   | Lost                | 0.00 | 0.00 | 0.00 | the longest gone, with the fewest and smallest orders    |

3. Names are assigned one per centroid so that the total squared distance between the centroids' scores and their
   names' ideals is smallest (the Hungarian algorithm): no two centroids share a name, and a centroid gives way
   to one that fits the name better.
4. Beyond 8 centroids, the extra ones take the nearest ideal's name with a number ("At Risk (2)"), as every other
   vocabulary numbers a repeated name.
"""

from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment


@dataclass(frozen=True)
class RfmName:
    """A segment name with its description and three strategies."""

    name: str
    description: str
    strategy: tuple[str, str, str]
    ideal: tuple[float, float, float]  # R, F, M scores


NAMES: tuple[RfmName, ...] = (
    RfmName(
        "Champions",
        "Bought recently, buy often and spend the most.",
        ("Reward them: early access and loyalty perks", "Ask for reviews and referrals", "Upsell premium lines"),
        (1.0, 1.0, 1.0),
    ),
    RfmName(
        "Loyal Customers",
        "Buy often and spend well; their last order is a little older than the champions'.",
        ("Offer a loyalty programme tier", "Recommend products from their history", "Invite them to give feedback"),
        (0.6, 0.85, 0.85),
    ),
    RfmName(
        "Potential Loyalists",
        "Recent customers with a few orders and average spend.",
        ("Offer a membership or loyalty programme", "Recommend related products", "Keep in touch with onboarding"),
        (0.85, 0.45, 0.45),
    ),
    RfmName(
        "New Customers",
        "Bought very recently, for the first time or nearly.",
        ("Welcome them with a clear onboarding", "Give early support and tips", "Offer a second-order incentive"),
        (0.9, 0.0, 0.15),
    ),
    RfmName(
        "At Risk",
        "Used to buy often and spend well, but not for a long time.",
        ("Send personalised win-back emails", "Offer renewals or helpful reminders", "Show what is new since"),
        (0.3, 0.65, 0.65),
    ),
    RfmName(
        "Can't Lose Them",
        "Among the best customers once, and gone the longest.",
        ("Win them back with a strong offer", "Talk to them: ask what went wrong", "Do not lose them to a rival"),
        (0.05, 0.95, 0.95),
    ),
    RfmName(
        "Hibernating",
        "Few, small orders, a long time ago.",
        ("Offer relevant products and special discounts", "Recreate brand value", "Keep the contact light"),
        (0.3, 0.2, 0.2),
    ),
    RfmName(
        "Lost",
        "The longest gone, with the fewest and smallest orders.",
        ("Try one reactivation campaign", "Ask why they left", "Otherwise stop spending on them"),
        (0.0, 0.0, 0.0),
    ),
)


def rfm_scores(centroids: np.ndarray) -> np.ndarray:
    """(k, 3) R, F and M scores in 0..1: each centroid's place between the lowest and the highest on a log scale,
    oriented so that the most recent, most frequent and highest-spending centroid scores 1."""
    logs = np.log1p(np.clip(np.asarray(centroids, dtype=float), 0.0, None))
    low, high = logs.min(axis=0), logs.max(axis=0)
    spread = np.where(high > low, high - low, 1.0)
    scores = np.where(high > low, (logs - low) / spread, 0.5)
    scores[:, 0] = 1.0 - scores[:, 0]  # a lower recency is better
    return scores


def rfm_names(centroids: np.ndarray) -> list[tuple[str, str, list[str]]]:
    """(name, description, strategy) for each centroid of a (k, 3) array of recency_days, frequency and monetary in
    original units, by the rules of this module's docstring; names are unique."""
    centroids = np.asarray(centroids, dtype=float)
    if centroids.ndim != 2 or centroids.shape[1] != 3:
        raise ValueError(f"centroids must be (k, 3) recency_days, frequency, monetary; got shape {centroids.shape}")
    scores = rfm_scores(centroids)
    ideals = np.array([name.ideal for name in NAMES])
    cost = ((scores[:, None, :] - ideals[None, :, :]) ** 2).sum(axis=2)
    chosen: dict[int, RfmName] = {}
    rows, cols = linear_sum_assignment(cost)
    for row, col in zip(rows.tolist(), cols.tolist(), strict=True):
        chosen[row] = NAMES[col]
    taken = {name.name for name in chosen.values()}
    out: list[tuple[str, str, list[str]]] = []
    for index in range(len(centroids)):
        if index in chosen:
            name = chosen[index]
            out.append((name.name, name.description, list(name.strategy)))
            continue
        name = NAMES[int(np.argmin(cost[index]))]
        number = 2
        while f"{name.name} ({number})" in taken:
            number += 1
        taken.add(f"{name.name} ({number})")
        out.append((f"{name.name} ({number})", name.description, list(name.strategy)))
    return out
