"""Version folders: a manifest over every file checked at load, signatures, atomic saves, migration, clean-up."""

import json
import os
import pickle
import shutil
import subprocess
import sys
from pathlib import Path

import joblib
import pytest

from app.core.config import PROJECT_ROOT
from app.core.errors import ArtifactError, InvalidDataset, ModelStoreError
from app.models.model import SegmentationModel
from app.models.training import train
from app.models.versions import artifacts
from app.models.versions.artifacts import load_version, save_model
from app.models.versions.store import VersionStore, load_model, model_exists


class _Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "pwned"))


@pytest.fixture
def version_dir(fresh_dir: Path) -> Path:
    """The active version's folder inside the private copy."""
    return fresh_dir / VersionStore(fresh_dir).active_version()


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() for path in sorted(folder.rglob("*")) if path.is_file()}


def _copy_as(model: SegmentationModel, version: str) -> SegmentationModel:
    """The same fitted model under another version id."""
    return SegmentationModel(
        model.features,
        model.mean,
        model.scale,
        model.cluster_centers,
        model.segments,
        {**model.info, "version": version},
        (model.scaler, model.kmeans),
    )


def test_round_trip_keeps_predictions(model, fresh_dir):
    loaded = load_model(fresh_dir)
    assert loaded.version == model.version
    assert loaded.kmeans.n_clusters == 5 and loaded.scaler.mean_.shape == (2,)
    assert [s.name for s in loaded.segments] == [s.name for s in model.segments]
    assert loaded.predict_one([120, 90]) == model.predict_one([120, 90])


def test_version_folder_has_a_manifest_over_every_file(version_dir):
    manifest = json.loads((version_dir / "manifest.json").read_text())
    assert sorted(manifest["files"]) == ["kmeans_model.pkl", "model_info.json", "scaler.pkl"]
    assert manifest["version"] == version_dir.name
    for name, digest in manifest["files"].items():
        assert artifacts.sha256_file(version_dir / name) == digest


@pytest.mark.parametrize("name", ["model_info.json", "kmeans_model.pkl", "scaler.pkl"])
def test_any_edited_file_is_refused_at_load(version_dir, name):
    path = version_dir / name
    if name == "model_info.json":
        info = json.loads(path.read_text())
        centers = info["parameters"]["cluster_centers"]
        centers[1], centers[4] = centers[4], centers[1]
        path.write_text(json.dumps(info))
    else:
        path.write_bytes(path.read_bytes() + b"\0")
    with pytest.raises(ArtifactError, match=f"{name} does not match the sha256"):
        load_version(version_dir)


def test_reasons_carry_no_absolute_paths(version_dir):
    (version_dir / "scaler.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactError) as caught:
        load_version(version_dir)
    assert str(version_dir.parent) not in caught.value.message
    assert f"{version_dir.name}/scaler.pkl" in caught.value.message


def test_tampered_pickle_is_refused_before_unpickling(version_dir, tmp_path):
    marker = tmp_path / "marker.txt"
    (version_dir / "scaler.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ArtifactError, match=r"scaler.pkl does not match the sha256"):
        load_version(version_dir)
    assert not marker.exists()


def test_an_added_file_is_refused(version_dir):
    (version_dir / "extra.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactError, match="not in the manifest"):
        load_version(version_dir)


def test_edited_manifest_still_cannot_smuggle_a_wrong_object(version_dir):
    # Someone who also rewrites the (unsigned) manifest gets past the checksum, but not the type check.
    joblib.dump({"not": "a model"}, version_dir / "kmeans_model.pkl")
    artifacts.write_manifest(version_dir, version_dir.name, None)
    loaded = load_version(version_dir)
    with pytest.raises(ArtifactError, match="unexpected objects"):
        _ = loaded.kmeans


def test_pickle_replaced_after_loading_is_refused_on_first_use(version_dir, tmp_path):
    loaded = load_version(version_dir)
    marker = tmp_path / "marker.txt"
    (version_dir / "kmeans_model.pkl").write_bytes(pickle.dumps(_Payload(marker)))
    with pytest.raises(ArtifactError, match="does not match the sha256"):
        _ = loaded.kmeans
    assert not marker.exists()


def test_signed_version_loads_with_its_key_and_says_so(model, tmp_path):
    folder = save_model(_copy_as(model, "20990101.000000.000000-signed"), tmp_path, signing_key=b"k1")
    assert load_version(folder, signing_key=b"k1").info["signed"] is True
    assert load_version(folder).info["signed"] is False  # no key configured: checksums only


def test_signature_catches_a_rewritten_manifest(model, tmp_path):
    folder = save_model(_copy_as(model, "20990101.000000.000000-signed"), tmp_path, signing_key=b"k1")
    info = json.loads((folder / "model_info.json").read_text())
    info["segments"][1]["strategy"][0] = "TAMPERED"
    (folder / "model_info.json").write_text(json.dumps(info))
    manifest = json.loads((folder / "manifest.json").read_text())
    manifest["files"]["model_info.json"] = artifacts.sha256_file(folder / "model_info.json")
    (folder / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match=r"signature of version .* does not match"):
        load_version(folder, signing_key=b"k1")


def test_wrong_key_and_unsigned_versions_are_refused_when_a_key_is_set(model, tmp_path):
    signed = save_model(_copy_as(model, "20990101.000000.000000-a"), tmp_path, signing_key=b"k1")
    unsigned = save_model(_copy_as(model, "20990101.000000.000000-b"), tmp_path)
    with pytest.raises(ArtifactError, match=r"signature .* does not match"):
        load_version(signed, signing_key=b"other")
    with pytest.raises(ArtifactError, match="not signed"):
        load_version(unsigned, signing_key=b"k1")


@pytest.mark.slow
def test_serving_a_model_never_imports_scikit_learn(model_dir):
    code = (
        "import sys\n"
        "import main\n"
        "from app.models.versions.store import load_model\n"
        f"model = load_model({str(model_dir)!r})\n"
        "model.predict_one([120, 90])\n"
        "from app.services import prediction\n"
        "prediction.predict_customer(model, {'annual_income': 1, 'spending_score': 2})\n"
        "heavy = {'sklearn', 'pandas', 'scipy', 'joblib', 'pyarrow'}\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_sklearn_version_mismatch_warns(model, tmp_path, caplog):
    copy = _copy_as(model, "20990101.000000.000000-old")
    copy.info["sklearn_version"] = "0.0.1"
    load_version(save_model(copy, tmp_path))
    assert "trained with scikit-learn 0.0.1" in caplog.text


def test_bad_training_run_leaves_every_version_intact(fresh_dir, tmp_path):
    before = _snapshot(fresh_dir)
    bad = tmp_path / "bad.csv"
    bad.write_text("CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,30,x,50\n")
    with pytest.raises(InvalidDataset):
        train(bad, output_dir=fresh_dir)
    assert _snapshot(fresh_dir) == before


def test_interrupted_save_leaves_no_version_and_no_staging(model, fresh_dir, monkeypatch):
    before = _snapshot(fresh_dir)
    real_dump = joblib.dump

    def dump_then_interrupt(value, path):
        real_dump(value, path)
        raise KeyboardInterrupt

    monkeypatch.setattr(joblib, "dump", dump_then_interrupt)
    with pytest.raises(KeyboardInterrupt):
        save_model(_copy_as(model, "20990101.000000.000000-x"), fresh_dir)
    assert _snapshot(fresh_dir) == before
    assert [p.name for p in fresh_dir.iterdir() if p.name.startswith(".staging")] == []
    assert load_model(fresh_dir).version == model.version


def test_orphaned_staging_folders_are_removed_at_next_save_and_logged(model, fresh_dir, caplog):
    orphan = fresh_dir / ".staging-dead"
    orphan.mkdir()
    (orphan / "kmeans_model.pkl").write_bytes(b"half")
    os.utime(orphan, (0, 0))
    save_model(_copy_as(model, "20990101.000000.000000-y"), fresh_dir)
    assert not orphan.exists()
    assert "orphaned staging folder" in caplog.text


def test_staging_folder_in_use_is_not_removed(fresh_dir):
    with artifacts.staging_folder(fresh_dir) as staging:
        os.utime(staging, (0, 0))
        assert artifacts.clean_orphans(fresh_dir) == []
        assert staging.exists()


def test_orphans_are_removed_at_start(fresh_dir, caplog):
    (fresh_dir / ".staging-dead").mkdir()
    os.utime(fresh_dir / ".staging-dead", (0, 0))
    VersionStore(fresh_dir).prepare()
    assert not (fresh_dir / ".staging-dead").exists()
    assert "orphaned" in caplog.text


def test_read_only_folder_fails_before_fitting_in_one_line(default_data, tmp_path, monkeypatch):
    if os.geteuid() == 0:
        # root writes anywhere, so simulate the folder refusing writes.
        def refuse(*args, **kwargs):
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(artifacts.tempfile, "TemporaryFile", refuse)
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o555)
    fitted = []
    monkeypatch.setattr("app.models.training.fit_model", lambda *a, **k: fitted.append(1))
    with pytest.raises(ModelStoreError, match="not writable") as refused:
        train(default_data, output_dir=folder)
    assert fitted == []
    # An API client (a job's error) is told the folder's name; the CLI and the logs its path.
    assert "model folder 'ro' " in refused.value.message and str(folder) not in refused.value.message
    assert f"model folder '{folder}' " in refused.value.local_message


def test_old_single_folder_layout_is_migrated(model, tmp_path):
    legacy = tmp_path / "models_artifacts"
    legacy.mkdir()
    joblib.dump(model.kmeans, legacy / "kmeans_model.pkl")
    joblib.dump(model.scaler, legacy / "scaler.pkl")
    info = {
        **model.info,
        "version": "20261126.165110-95dfbc16",
        "parameters": model.parameters(),
        "segments": [segment.to_dict() for segment in model.segments],
        "artifacts": {name: artifacts.sha256_file(legacy / name) for name in artifacts.PICKLES},
    }
    (legacy / "model_info.json").write_text(json.dumps(info))
    assert model_exists(legacy)
    store = VersionStore(legacy)
    store.prepare()
    assert store.versions() == ["20261126.165110-95dfbc16"]
    assert store.active_version() == "20261126.165110-95dfbc16"
    assert store.history()[0]["reason"] == "migrated from the single-folder layout"
    assert not (legacy / "model_info.json").exists()
    assert load_model(legacy).predict_one([120, 90]) == model.predict_one([120, 90])


def test_migration_does_not_bless_a_tampered_old_model(model_dir, tmp_path):
    legacy = tmp_path / "models_artifacts"
    shutil.copytree(model_dir / VersionStore(model_dir).active_version(), legacy)
    (legacy / "manifest.json").unlink()
    info = json.loads((legacy / "model_info.json").read_text())
    info["artifacts"] = {"kmeans_model.pkl": "0" * 64, "scaler.pkl": "0" * 64}
    (legacy / "model_info.json").write_text(json.dumps(info))
    store = VersionStore(legacy)
    store.prepare()
    with pytest.raises(ArtifactError, match=r"manifest\.json is missing"):
        load_model(legacy)


def test_same_second_versions_are_unique_and_sorted(default_data, tmp_path):
    first = train(default_data, output_dir=tmp_path)
    second = train(default_data, output_dir=tmp_path)
    assert first.model.version != second.model.version
    assert VersionStore(tmp_path).versions() == [first.model.version, second.model.version]
    assert first.activated and not second.activated


def test_existing_version_is_never_overwritten(model, fresh_dir):
    with pytest.raises(ModelStoreError, match="already exists"):
        save_model(model, fresh_dir)


def test_a_damaged_active_version_advises_what_brings_the_service_back(fresh_dir, version_dir, default_data, tmp_path):
    (version_dir / "scaler.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactError) as caught:
        load_version(version_dir)
    # A plain retrain adds a version but leaves ACTIVE naming the damaged one: the advice activates.
    assert "retrain with `python train_model.py --activate`" in caught.value.message
    assert "or activate another version with `python -m app.cli models activate VERSION`" in caught.value.message
    assert train(default_data, output_dir=fresh_dir, processed_dir=tmp_path).activated is False
    assert train(default_data, output_dir=fresh_dir, processed_dir=tmp_path, activate=True).activated is True
    assert load_model(fresh_dir).version != version_dir.name


def test_a_damaged_version_of_another_segmentation_names_it_in_the_advice(version_dir, tmp_path):
    other = tmp_path / "models" / "segmentations" / "loyalty" / version_dir.name
    shutil.copytree(version_dir, other)
    (other / "scaler.pkl").write_bytes(b"x")
    with pytest.raises(ArtifactError) as caught:
        load_version(other)
    # train_model.py trains default: the advice for another segmentation names it.
    assert "retrain with `python -m app.cli train --segmentation loyalty --activate`" in caught.value.message
    assert "/models?segmentation=loyalty" in caught.value.message
