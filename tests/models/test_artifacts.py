"""Artifacts: checksums verified before unpickling, atomic saves, previous model kept on failure."""

import json
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from app.core.config import PROJECT_ROOT
from app.core.errors import ArtifactError, InvalidDataset
from app.models import artifacts
from app.models.artifacts import load_model, model_exists, save_model
from app.models.training import train


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture
def fresh_dir(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the trained artifacts that a test may damage."""
    copy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, copy)
    return copy


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def test_round_trip_keeps_predictions(model, fresh_dir):
    loaded = load_model(fresh_dir)
    assert loaded.version == model.version
    assert loaded.kmeans.n_clusters == 5 and loaded.scaler.mean_.shape == (2,)
    assert [s.name for s in loaded.segments] == [s.name for s in model.segments]
    assert loaded.predict_one([120, 90]) == model.predict_one([120, 90])


def test_tampered_pickle_is_refused_before_unpickling(fresh_dir, tmp_path):
    marker = tmp_path / "marker.txt"
    (fresh_dir / "scaler.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ArtifactError, match=r"scaler.pkl does not match the sha256.*not unpickled"):
        load_model(fresh_dir)
    assert not marker.exists()


def test_edited_checksum_still_cannot_smuggle_a_wrong_object(fresh_dir):
    # Someone who also edits model_info.json gets past the checksum, but not the type check.
    joblib.dump({"not": "a model"}, fresh_dir / "kmeans_model.pkl")
    info = json.loads((fresh_dir / "model_info.json").read_text())
    info["artifacts"]["kmeans_model.pkl"] = artifacts.sha256_file(fresh_dir / "kmeans_model.pkl")
    (fresh_dir / "model_info.json").write_text(json.dumps(info))
    loaded = load_model(fresh_dir)
    with pytest.raises(ArtifactError, match="unexpected objects"):
        _ = loaded.kmeans


def test_pickles_that_disagree_with_the_recorded_parameters_are_refused(fresh_dir):
    info = json.loads((fresh_dir / "model_info.json").read_text())
    info["parameters"]["mean"][0] += 1.0
    (fresh_dir / "model_info.json").write_text(json.dumps(info))
    with pytest.raises(ArtifactError, match="disagree"):
        _ = load_model(fresh_dir).scaler


def test_pickle_replaced_after_loading_is_refused_on_first_use(fresh_dir, tmp_path):
    loaded = load_model(fresh_dir)
    marker = tmp_path / "marker.txt"
    (fresh_dir / "kmeans_model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        _ = loaded.kmeans
    assert not marker.exists()


def test_serving_a_model_never_imports_scikit_learn(model_dir):
    code = (
        "import sys\n"
        "import main\n"
        "from app.models.artifacts import load_model\n"
        f"model = load_model({str(model_dir)!r})\n"
        "model.predict_one([120, 90])\n"
        "from app.services import prediction\n"
        "prediction.predict_customer(model, {'annual_income': 1, 'spending_score': 2})\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'pandas', 'scipy', 'joblib'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda d: (d / "model_info.json").unlink(), "no trained model"),
        (lambda d: (d / "kmeans_model.pkl").unlink(), "kmeans_model.pkl is missing"),
        (lambda d: (d / "model_info.json").write_text("{not json"), "unreadable"),
        (lambda d: (d / "model_info.json").write_text("[]"), "no artifact checksums"),
    ],
)
def test_damaged_artifacts_give_clear_errors(fresh_dir, damage, message):
    damage(fresh_dir)
    with pytest.raises(ArtifactError, match=message):
        load_model(fresh_dir)


def test_sklearn_version_mismatch_warns(fresh_dir, caplog):
    info = json.loads((fresh_dir / "model_info.json").read_text())
    info["sklearn_version"] = "0.0.1"
    (fresh_dir / "model_info.json").write_text(json.dumps(info))
    load_model(fresh_dir)
    assert "trained with scikit-learn 0.0.1" in caplog.text


def test_bad_training_run_leaves_previous_artifacts_intact(fresh_dir, tmp_path):
    before = _snapshot(fresh_dir)
    bad = tmp_path / "bad.csv"
    bad.write_text("CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,30,x,50\n")
    with pytest.raises(InvalidDataset):
        train(bad, output_dir=fresh_dir)
    assert _snapshot(fresh_dir) == before


def test_interrupted_save_keeps_the_previous_model(model, fresh_dir, monkeypatch):
    before = _snapshot(fresh_dir)
    real_dump = joblib.dump

    def dump_then_interrupt(value, path):
        real_dump(value, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", dump_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_model(model, fresh_dir)
    assert _snapshot(fresh_dir) == before
    assert [p.name for p in fresh_dir.parent.iterdir() if p.name.startswith(".")] == []
    assert load_model(fresh_dir).version == model.version


def test_interrupted_swap_is_recovered(model, fresh_dir):
    # A crash between the swap's two renames leaves only the previous folder.
    previous = fresh_dir.parent / f".{fresh_dir.name}.previous"
    fresh_dir.rename(previous)
    assert model_exists(fresh_dir)
    assert load_model(fresh_dir).version == model.version
    save_model(model, fresh_dir)
    assert not previous.exists()
    assert load_model(fresh_dir).version == model.version


def test_save_keeps_unrelated_files(model, fresh_dir):
    (fresh_dir / ".gitkeep").write_text("")
    save_model(model, fresh_dir)
    assert (fresh_dir / ".gitkeep").exists()
    assert model_exists(fresh_dir)
