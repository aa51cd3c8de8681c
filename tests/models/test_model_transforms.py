"""A model over log1p features: clustered in log space, answering in the features' own units."""

from pathlib import Path

import numpy as np
import pytest

from app.models.features import Feature, from_model_space, to_model_space
from app.models.model import SegmentationModel
from app.models.synthetic_crm import GROUPS, generate_crm, write_crm
from app.models.training import train
from app.models.versions.store import load_model

SPECS = [
    Feature.from_dict({"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"}),
    Feature.from_dict({"name": "visits", "column": "Visits", "label": "Visits", "transform": "log1p"}),
    Feature.from_dict({"name": "tenure", "column": "Tenure", "label": "Tenure", "unit": "years"}),
]


@pytest.fixture(scope="module")
def crm_model(tmp_path_factory: pytest.TempPathFactory) -> SegmentationModel:
    folder = tmp_path_factory.mktemp("crm")
    result = train(write_crm(folder / "crm.csv"), output_dir=folder / "models", specs=SPECS, k=3)
    return load_model(folder / "models" / result.model.version)


def test_the_spec_is_kept_with_the_version(crm_model: SegmentationModel) -> None:
    assert crm_model.features == ["income", "visits", "tenure"]
    assert [f.transform for f in crm_model.feature_specs] == ["log1p", "log1p", "none"]
    assert crm_model.feature_specs[0].unit == "$" and crm_model.transformed


def test_the_planted_groups_are_recovered(crm_model: SegmentationModel) -> None:
    from sklearn.metrics import adjusted_rand_score

    frame, plan = generate_crm()
    labels = crm_model.labels(frame[["Income", "Visits", "Tenure"]].to_numpy(dtype=float))
    assert adjusted_rand_score(plan, labels) >= 0.95


def test_centroids_are_reported_in_the_features_own_units(crm_model: SegmentationModel) -> None:
    incomes = sorted(segment.centroid["income"] for segment in crm_model.segments)
    planted = sorted(group[0] for group in GROUPS.values())
    assert np.allclose(incomes, planted, rtol=0.15)  # dollars, not log-dollars


def test_one_row_and_many_rows_give_the_same_answers(crm_model: SegmentationModel) -> None:
    rng = np.random.default_rng(3)
    X = np.column_stack([rng.uniform(5_000, 400_000, 200), rng.uniform(0, 30, 200), rng.uniform(0, 30, 200)])
    many = crm_model.score(X)
    for i, row in enumerate(X.tolist()):
        one = crm_model.score_one(row)
        assert one.positions[0] == many.positions[i]
        assert np.allclose(one.distances[0], many.distances[i])
        assert one.is_atypical[0] == many.is_atypical[i]
        assert (one.out_of_range[0] == many.out_of_range[i]).all()


def test_out_of_range_is_judged_in_original_units(crm_model: SegmentationModel) -> None:
    low, high = crm_model.training_range
    inside = crm_model.score(np.array([(low + high) / 2]))
    above = crm_model.score(np.array([high * 3]))
    assert not inside.any_out_of_range[0] and above.out_of_range[0].tolist() == [True, True, True]


def test_model_space_round_trips() -> None:
    X = np.array([[0.0, 5.0, 2.0], [1e6, 0.5, 40.0]])
    assert np.allclose(from_model_space(to_model_space(X, SPECS), SPECS), X)
    assert to_model_space(X, SPECS)[1, 0] == pytest.approx(np.log1p(1e6))
    assert to_model_space(X, SPECS[2:] * 3) is X  # nothing transformed: no copy


def test_decision_regions_are_refused_for_transformed_features(crm_model: SegmentationModel, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="untransformed"):
        crm_model.decision_regions((0, 1), (0, 1))
