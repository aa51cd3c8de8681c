"""A scored file's moves into a target segment: change_<feature> and reachable columns, from a parameter or a column."""

import csv
import io
from pathlib import Path

import numpy as np
import pytest

from app.core.errors import InvalidRequest, UnknownSegment
from app.models.counterfactual import counterfactual
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions

HEADER = "CustomerID,Annual Income (k$),Spending Score (1-100)"


def _score(model, tmp_path: Path, text: str, **options) -> list[dict[str, str]]:
    source = tmp_path / "in.csv"
    source.write_text(text, encoding="utf-8")
    target = tmp_path / "out.csv"
    score_file(model, source, options=ScoreOptions(**options), target=target, spool_rows=0)
    return list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8"))))


def _vip(model) -> int:
    return next(i for i, segment in enumerate(model.segments) if segment.name == "VIP / Whale")


def test_a_target_parameter_adds_each_rows_smallest_change(model, tmp_path: Path) -> None:
    rng = np.random.default_rng(4)
    X = np.round(rng.uniform([0, 1], [150, 100], (300, 2)), 1)
    lines = [HEADER, *(f"{i},{x:g},{y:g}" for i, (x, y) in enumerate(X.tolist()))]
    rows = _score(model, tmp_path, "\n".join(lines) + "\n", target_segment="VIP / Whale", chunk_rows=64)
    assert list(rows[0])[-4:] == ["change_annual_income", "change_spending_score", "reachable", "error"]
    vip = _vip(model)
    moved = []
    for row, x in zip(rows, X, strict=True):
        expected = counterfactual(model, x, vip)
        assert row["reachable"] == "true"
        change = np.array([float(row["change_annual_income"]), float(row["change_spending_score"])])
        assert change == pytest.approx(expected.change, abs=1e-7)
        moved.append(x + change)
    assert (model.labels(np.array(moved)) == vip).all()


def test_a_target_column_gives_each_rows_own_target_and_blank_cells_no_move(model, tmp_path: Path) -> None:
    names = [segment.name for segment in model.segments]
    text = "\n".join(
        [
            f"{HEADER},target_segment",
            f"1,60,5,{names[1]}",
            f"2,20,80,{model.segments[2].segment_id}",
            "3,lots,5,0",
            "4,100,90,",
            f"5,60,5,{model.segments[0].segment_id}.0",
        ]
    )
    rows = _score(model, tmp_path, text + "\n")
    assert [row["reachable"] for row in rows] == ["true", "true", "", "", "true"]
    assert rows[2]["error"] and rows[2]["change_annual_income"] == "" and rows[3]["change_spending_score"] == ""
    for row, target in ((rows[0], 1), (rows[1], 2), (rows[4], 0)):
        x = np.array([float(row["Annual Income (k$)"]), float(row["Spending Score (1-100)"])])
        change = np.array([float(row["change_annual_income"]), float(row["change_spending_score"])])
        assert model.labels((x + change)[None, :])[0] == target


def test_the_own_segment_is_a_zero_change_in_the_file(model, tmp_path: Path) -> None:
    rows = _score(model, tmp_path, f"{HEADER}\n1,120,90\n", target_segment="VIP / Whale")
    assert rows[0]["segment_name"] == "VIP / Whale"
    assert float(rows[0]["change_annual_income"]) == 0 and float(rows[0]["change_spending_score"]) == 0


def test_no_target_adds_no_columns(model, tmp_path: Path) -> None:
    rows = _score(model, tmp_path, f"{HEADER}\n1,120,90\n")
    assert not any(name.startswith("change_") or name == "reachable" for name in rows[0])


def test_unknown_targets_and_clashing_columns_are_refused(model, tmp_path: Path) -> None:
    with pytest.raises(UnknownSegment):
        _score(model, tmp_path, f"{HEADER}\n1,120,90\n", target_segment="Nobody")
    with pytest.raises(InvalidRequest, match="'Nobody'"):
        _score(model, tmp_path, f"{HEADER},target_segment\n1,120,90,Nobody\n")
    with pytest.raises(InvalidRequest, match="not both"):
        _score(model, tmp_path, f"{HEADER},target_segment\n1,120,90,1\n", target_segment="1")
    with pytest.raises(InvalidRequest, match="change_annual_income"):
        _score(model, tmp_path, f"{HEADER},change_annual_income\n1,120,90,3\n", target_segment="1")
