"""Names and ids of any feature set survive seeds, row order and retrains, in dollars and in log space alike."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from app.models.features import Feature, to_model_space
from app.models.naming import FIRST_DESCRIPTIVE_ID, name_segments
from app.models.training import train

# Income in dollars, visits a month (log1p: a skewed count) and tenure in years.
SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$"}),
    Feature.from_dict(
        {"name": "visits", "column": "Visits", "label": "Visits", "unit": "a month", "transform": "log1p"}
    ),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]
CENTRES = [(40_000, 2, 1), (120_000, 2, 8), (45_000, 20, 2), (110_000, 25, 9), (70_000, 6, 4)]
# Five features in their own units, two of them logged.
SPECS5 = [
    *SPECS,
    Feature.from_dict({"name": "basket", "column": "Basket", "label": "Basket", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "age", "column": "Age", "label": "Age", "unit": "years"}),
]
CENTRES5 = [
    (40_000, 2, 1, 30, 25),
    (120_000, 2, 8, 400, 60),
    (45_000, 20, 2, 30, 60),
    (110_000, 25, 9, 150, 35),
    (70_000, 6, 4, 80, 45),
    (70_000, 6, 4, 900, 45),
]
SPREAD = (4_000, None, 0.5, None, 2.0)  # None: Poisson counts, log-normal amounts


def _write(path: Path, centres, *, seed: int, shuffle: int | None = None, n: int = 150) -> Path:
    rng = np.random.default_rng(seed)
    groups = []
    for centre in centres:
        columns = [rng.normal(centre[0], SPREAD[0], n), rng.poisson(centre[1], n), rng.normal(centre[2], SPREAD[2], n)]
        if len(centre) == 5:
            columns += [centre[3] * rng.lognormal(0, 0.15, n), rng.normal(centre[4], SPREAD[4], n)]
        groups.append(np.column_stack(columns))
    rows = np.clip(np.vstack(groups), 0, None)
    if shuffle is not None:
        rows = rows[np.random.default_rng(shuffle).permutation(len(rows))]
    header = ["Income", "Visits", "Tenure", "Basket", "Age"][: rows.shape[1]]
    pd.DataFrame(rows.round(2), columns=header).to_csv(path, index=False)
    return path


def _by_centre(result, centres, specs) -> dict[tuple, tuple[int, str]]:
    """(id, name) of the segment nearest each planted centre, measured in the model's standardized space."""
    model = result.model
    found = {}
    for centre in centres:
        seen = to_model_space(np.array(centre, dtype=float), specs)
        z = (seen - model.mean) / model.scale
        label = int(np.argmin(np.linalg.norm(model.cluster_centers - z, axis=1)))
        segment = next(segment for segment in model.segments if segment.kmeans_label == label)
        found[centre] = (segment.segment_id, segment.name)
    assert len({segment_id for segment_id, _ in found.values()}) == len(centres), "each planted group is one segment"
    return found


@pytest.mark.parametrize(("specs", "centres"), [(SPECS, CENTRES), (SPECS5, CENTRES5)], ids=["3 features", "5 features"])
def test_the_same_groups_get_the_same_names_whatever_the_seed_and_row_order(tmp_path, specs, centres):
    k = len(centres)
    first = train(_write(tmp_path / "a.csv", centres, seed=1), output_dir=tmp_path / "a", specs=specs, k=k, seed=1)
    other = _write(tmp_path / "b.csv", centres, seed=1, shuffle=5)
    second = train(other, output_dir=tmp_path / "b", specs=specs, k=k, seed=77, sweep=False)
    names = _by_centre(first, centres, specs)
    assert _by_centre(second, centres, specs) == names
    assert len({name for _, name in names.values()}) == k
    assert all(segment_id >= FIRST_DESCRIPTIVE_ID for segment_id, _ in names.values())


def test_three_features_read_as_their_planted_levels(tmp_path):
    result = train(_write(tmp_path / "a.csv", CENTRES, seed=1), output_dir=tmp_path / "m", specs=SPECS, k=5, seed=1)
    names = {centre: name for centre, (_, name) in _by_centre(result, CENTRES, SPECS).items()}
    assert names[(120_000, 2, 8)] == "High Income · Low Visits · High Tenure"
    assert names[(70_000, 6, 4)] == "Average on every feature"


@pytest.mark.parametrize(("specs", "centres"), [(SPECS, CENTRES), (SPECS5, CENTRES5)], ids=["3 features", "5 features"])
def test_a_retrain_on_new_customers_keeps_every_id_and_name(tmp_path, specs, centres):
    k = len(centres)
    first = train(_write(tmp_path / "a.csv", centres, seed=1), output_dir=tmp_path / "m", specs=specs, k=k, seed=1)
    retrain = _write(tmp_path / "b.csv", centres, seed=2, shuffle=3)
    second = train(retrain, output_dir=tmp_path / "m", specs=specs, k=k, seed=42, sweep=False)
    before, after = _by_centre(first, centres, specs), _by_centre(second, centres, specs)
    assert after == before
    # New customers move the dollar centroids by far more than the 10 units an original-units rule accepted.
    shift = max(
        abs(a.centroid["income"] - b.centroid["income"])
        for a, b in zip(first.model.segments, second.model.segments, strict=True)
    )
    assert shift > 10


def test_a_renamed_segment_keeps_its_name_across_a_retrain(tmp_path):
    first = train(_write(tmp_path / "a.csv", CENTRES, seed=1), output_dir=tmp_path / "m", specs=SPECS, k=5, seed=1)
    model = first.model
    # The owner renames one segment (the explanation issue adds the editing; identity must already honour it).
    renamed = [
        replace(segment, name="Our regulars", description="Ours.")
        if segment.segment_id == FIRST_DESCRIPTIVE_ID
        else segment
        for segment in model.segments
    ]
    seen = model.cluster_centers * model.scale + model.mean
    names = name_segments(seen[::-1], [s.name for s in SPECS], model.mean, model.scale, reference=renamed, specs=SPECS)
    assert {s.segment_id: s.name for s in names} == {s.segment_id: s.name for s in renamed}
    kept = next(s for s in names if s.segment_id == FIRST_DESCRIPTIVE_ID)
    assert kept.description == "Ours."


def test_a_group_that_moves_in_log_space_gets_a_fresh_id(tmp_path):
    first = train(_write(tmp_path / "a.csv", CENTRES, seed=1), output_dir=tmp_path / "m", specs=SPECS, k=5, seed=1)
    # The high-visits, high-income group now barely visits: in log space it moved by several deviations.
    moved = [*CENTRES[:3], (110_000, 6, 9), CENTRES[4]]
    second = train(_write(tmp_path / "b.csv", moved, seed=2), output_dir=tmp_path / "m", specs=SPECS, k=5, seed=2)
    before, after = _by_centre(first, CENTRES, SPECS), _by_centre(second, moved, SPECS)
    for centre in (CENTRES[0], CENTRES[1], CENTRES[2], CENTRES[4]):
        assert after[centre] == before[centre]
    segment_id, name = after[(110_000, 6, 9)]
    assert segment_id > max(i for i, _ in before.values())
    assert name != before[CENTRES[3]][1]
    assert len({n for _, n in after.values()}) == 5
