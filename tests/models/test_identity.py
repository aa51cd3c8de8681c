"""Segment identity across retrains: archetypes by geometry, other clusters by matching the active model."""

from pathlib import Path

import numpy as np
import pandas as pd

from app.models.naming import FIRST_DESCRIPTIVE_ID
from app.models.training import train

# Seven well-separated groups of (income k$, score): the five archetypes' places and two more.
CENTRES = [(55, 50), (90, 85), (25, 80), (90, 15), (25, 20), (130, 50), (55, 95)]


def _write(path: Path, centres, *, seed: int, shuffle: int | None = None) -> Path:
    rng = np.random.default_rng(seed)
    rows = np.vstack([rng.normal(centre, 3.0, size=(120, 2)) for centre in centres])
    rows = np.clip(rows, [1, 1], [200, 100])
    if shuffle is not None:
        rows = rows[np.random.default_rng(shuffle).permutation(len(rows))]
    pd.DataFrame(rows.round(1), columns=["annual_income", "spending_score"]).to_csv(path, index=False)
    return path


def _ids(result) -> dict[int, str]:
    return {segment.segment_id: segment.name for segment in result.model.segments}


def test_retraining_with_another_seed_and_row_order_keeps_every_id_and_name(tmp_path):
    first = train(_write(tmp_path / "a.csv", CENTRES, seed=1), output_dir=tmp_path / "m", k=7, seed=1)
    second = train(_write(tmp_path / "b.csv", CENTRES, seed=2, shuffle=9), output_dir=tmp_path / "m", k=7, seed=99)
    assert len(_ids(first)) == 7
    assert sorted(i for i in _ids(first) if i >= FIRST_DESCRIPTIVE_ID) == [5, 6]
    assert _ids(second) == _ids(first)


def test_a_moved_cluster_gets_an_id_never_used_before(tmp_path):
    first = train(_write(tmp_path / "a.csv", CENTRES, seed=1), output_dir=tmp_path / "m", k=7, seed=1)
    moved = [*CENTRES[:5], (130, 50), (170, 95)]  # the last extra group moves far away
    second = train(_write(tmp_path / "b.csv", moved, seed=2), output_dir=tmp_path / "m", k=7, seed=2, activate=True)
    before, after = _ids(first), _ids(second)
    kept = {i: before[i] for i in before if i in after}
    assert {i: after[i] for i in kept} == kept  # every kept id keeps its name
    fresh = {i for i in set(after) - set(before) if i >= FIRST_DESCRIPTIVE_ID}
    assert fresh and min(fresh) > max(before)
    # Back to the first layout, against the active (second) model: the returning group is not matched to
    # anything active, so it gets yet another id, never one an earlier version used.
    third = train(_write(tmp_path / "c.csv", CENTRES, seed=3), output_dir=tmp_path / "m", k=7, seed=3)
    newest = {i for i in set(_ids(third)) - set(after) if i >= FIRST_DESCRIPTIVE_ID}
    assert newest and min(newest) > max(set(before) | set(after))
