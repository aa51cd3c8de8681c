"""The synthetic dataset: deterministic, shaped like the public one, and the committed copy matches the code."""

import numpy as np
import pandas as pd
import pytest

from app.core.config import PROJECT_ROOT
from app.models.features import PUBLIC_HEADER
from app.models.synthetic import GROUPS, _group_sizes, generate_customers, main


def test_generate_is_deterministic_for_a_seed():
    first, second = generate_customers(200, seed=7), generate_customers(200, seed=7)
    pd.testing.assert_frame_equal(first, second)
    assert not first.equals(generate_customers(200, seed=8))


def test_generate_default_matches_public_shape():
    frame = generate_customers()
    assert list(frame.columns) == list(PUBLIC_HEADER)
    assert len(frame) == 200
    assert frame["CustomerID"].is_unique
    income, score, age = frame["Annual Income (k$)"], frame["Spending Score (1-100)"], frame["Age"]
    assert (income.min(), income.max()) == (15, 137)
    assert (score.min(), score.max()) == (1, 99)
    assert (age.min(), age.max()) == (18, 70)
    for column in (income, score, age):
        assert column.dtype.kind == "i"
    assert 0.50 <= (frame["Gender"] == "Female").mean() <= 0.62


def test_group_sizes_follow_the_public_table():
    assert _group_sizes(200).tolist() == [group.size for group in GROUPS]
    big = _group_sizes(1_000_003)
    assert big.sum() == 1_000_003
    np.testing.assert_allclose(big / big.sum(), [g.size / 200 for g in GROUPS], atol=1e-5)


def test_committed_dataset_is_the_generator_output():
    committed = pd.read_csv(PROJECT_ROOT / "data" / "raw" / "mall_customers.csv")
    pd.testing.assert_frame_equal(committed, generate_customers(), check_dtype=False)


def test_generate_large_is_vectorised_and_valid():
    frame = generate_customers(200_000, seed=1)
    assert len(frame) == 200_000
    assert frame["Annual Income (k$)"].between(15, 137).all()
    assert frame["Spending Score (1-100)"].between(1, 99).all()


def test_cli_writes_requested_rows(tmp_path, capsys):
    out = tmp_path / "custom.csv"
    assert main(["--rows", "500", "--seed", "3", "--output", str(out)]) == 0
    assert len(pd.read_csv(out)) == 500
    assert "500" in capsys.readouterr().out


def test_cli_rejects_too_few_rows(tmp_path):
    with pytest.raises(SystemExit) as exit_info:
        main(["--rows", "2", "--output", str(tmp_path / "x.csv")])
    assert exit_info.value.code == 2
    assert not (tmp_path / "x.csv").exists()
