"""Save and load model artifacts: atomic swap on save, sha256 check before unpickling."""

import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import warnings
from pathlib import Path
from typing import Any

from app.core.errors import ArtifactError
from app.models.model import Estimators, Segment, SegmentationModel
from app.utils.hashing import sha256_file

logger = logging.getLogger(__name__)

RETRAIN_HINT = "retrain with `python train_model.py`"

KMEANS_FILE = "kmeans_model.pkl"
SCALER_FILE = "scaler.pkl"
INFO_FILE = "model_info.json"
PICKLES = (KMEANS_FILE, SCALER_FILE)
ARTIFACT_FILES = (*PICKLES, INFO_FILE)


def _previous_dir(model_dir: Path) -> Path:
    return model_dir.parent / f".{model_dir.name}.previous"


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _swap_in(staging: Path, model_dir: Path) -> None:
    """Replace model_dir by staging; at every instant one complete model is on disk."""
    previous = _previous_dir(model_dir)
    if previous.exists():
        if model_dir.exists():
            shutil.rmtree(previous)
        else:
            # An earlier swap died between its two renames: the previous model is the good one.
            previous.rename(model_dir)
    if model_dir.exists():
        model_dir.rename(previous)
    try:
        staging.rename(model_dir)
    except BaseException:
        if previous.exists() and not model_dir.exists():
            previous.rename(model_dir)
        raise
    shutil.rmtree(previous, ignore_errors=True)


def save_model(model: SegmentationModel, model_dir: str | Path) -> Path:
    """Write all artifacts to a staging folder, then swap it in for model_dir."""
    model_dir = Path(model_dir).resolve()
    model_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{model_dir.name}.staging-", dir=model_dir.parent))
    import joblib  # only training saves, so serving never imports joblib

    try:
        staging.chmod(0o755)  # mkdtemp makes it private; the swapped-in folder should not be
        joblib.dump(model.kmeans, staging / KMEANS_FILE)
        joblib.dump(model.scaler, staging / SCALER_FILE)
        info = {
            **model.info,
            "parameters": model.parameters(),
            "segments": [segment.to_dict() for segment in model.segments],
            "artifacts": {name: sha256_file(staging / name) for name in PICKLES},
        }
        (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        if model_dir.is_dir():
            # Keep files that are not ours (a README, .gitkeep) across the swap.
            for extra in model_dir.iterdir():
                if extra.is_file() and extra.name not in ARTIFACT_FILES:
                    shutil.copy2(extra, staging / extra.name)
        for path in staging.iterdir():
            _fsync(path)
        _swap_in(staging, model_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return model_dir


def model_exists(model_dir: str | Path) -> bool:
    """True when model_dir (or a copy left by an interrupted swap) has model_info.json."""
    model_dir = Path(model_dir)
    return (model_dir / INFO_FILE).is_file() or (_previous_dir(model_dir) / INFO_FILE).is_file()


def read_info(model_dir: Path) -> dict[str, Any]:
    """Read model_info.json, or raise ArtifactError saying what is wrong."""
    path = model_dir / INFO_FILE
    if not path.is_file():
        raise ArtifactError(f"no trained model in {model_dir}: run `python train_model.py` to create one")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ArtifactError(f"{path} is unreadable ({type(exc).__name__}); {RETRAIN_HINT}") from None
    if not isinstance(info, dict) or not isinstance(info.get("artifacts"), dict):
        raise ArtifactError(f"{path} has no artifact checksums; {RETRAIN_HINT}")
    return info


def _verify(model_dir: Path, info: dict[str, Any]) -> None:
    for name in PICKLES:
        path = model_dir / name
        if not path.is_file():
            raise ArtifactError(f"{path} is missing; {RETRAIN_HINT}")
        if sha256_file(path) != info["artifacts"].get(name):
            raise ArtifactError(
                f"{name} does not match the sha256 recorded in {INFO_FILE}: it was altered after training, "
                f"so it was not unpickled; {RETRAIN_HINT}"
            )


def _installed_sklearn() -> str | None:
    # Read from package metadata: importing scikit-learn costs a second and ~100 MB the server never needs.
    try:
        return importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return None


def _unpickle(model_dir: Path, info: dict[str, Any]) -> Estimators:
    """Unpickle the estimators, re-checking each sha256 first, and check they match the recorded parameters."""
    import joblib
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    _verify(model_dir, info)
    try:
        with warnings.catch_warnings():
            # load_model already warned about a version difference, once, in plain words.
            warnings.simplefilter("ignore", sklearn.exceptions.InconsistentVersionWarning)
            kmeans = joblib.load(model_dir / KMEANS_FILE)
            scaler = joblib.load(model_dir / SCALER_FILE)
    except Exception as exc:  # unpickling can raise almost anything; all of it means "unusable"
        raise ArtifactError(f"model artifacts in {model_dir} are unusable: {exc}; {RETRAIN_HINT}") from None
    if not isinstance(kmeans, KMeans) or not isinstance(scaler, StandardScaler):
        raise ArtifactError(f"model artifacts in {model_dir} hold unexpected objects; {RETRAIN_HINT}")
    parameters = info["parameters"]
    if not (
        np.array_equal(kmeans.cluster_centers_, parameters["cluster_centers"])
        and np.array_equal(scaler.mean_, parameters["mean"])
        and np.array_equal(scaler.scale_, parameters["scale"])
    ):
        raise ArtifactError(f"the pickles in {model_dir} disagree with {INFO_FILE}; {RETRAIN_HINT}")
    return scaler, kmeans


def load_model(model_dir: str | Path) -> SegmentationModel:
    """Load verified artifacts: every pickle's sha256 is checked first, and pickles are unpickled only on use."""
    model_dir = Path(model_dir)
    if not (model_dir / INFO_FILE).is_file() and (_previous_dir(model_dir) / INFO_FILE).is_file():
        logger.warning("using the model left at %s by an interrupted save", _previous_dir(model_dir))
        model_dir = _previous_dir(model_dir)
    info = read_info(model_dir)
    _verify(model_dir, info)
    trained_with, installed = info.get("sklearn_version"), _installed_sklearn()
    if trained_with != installed:
        logger.warning(
            "model was trained with scikit-learn %s but %s is installed; retrain if predictions look wrong",
            trained_with,
            installed,
        )
    try:
        parameters = info["parameters"]
        segments = [Segment.from_dict(segment) for segment in info["segments"]]
        model_info = {key: value for key, value in info.items() if key not in ("segments", "artifacts", "parameters")}
        return SegmentationModel(
            list(info["features"]),
            parameters["mean"],
            parameters["scale"],
            parameters["cluster_centers"],
            segments,
            model_info,
            estimators=lambda: _unpickle(model_dir, info),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{model_dir / INFO_FILE} is incomplete or inconsistent ({exc}); {RETRAIN_HINT}") from None
