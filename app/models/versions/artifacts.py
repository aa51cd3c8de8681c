"""One model version on disk: its files, a manifest with the sha256 of each, an optional HMAC signature.

A version folder is written whole in a staging folder and renamed into place, so it is never seen half
written, and never changed afterwards. Loading checks the manifest (and the signature, when a signing key
is set) before reading anything else, and every pickle's sha256 again right before unpickling it.
"""

import hashlib
import hmac
import importlib.metadata
import json
import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from app.core.errors import ArtifactError, ModelStoreError, is_no_space
from app.models.model import Estimators, Segment, SegmentationModel
from app.utils.hashing import sha256_file
from app.utils.locking import hold_directory, is_held

logger = logging.getLogger(__name__)


def retrain_hint(folder: Path) -> str:
    """What brings a damaged version's segmentation back: a new version activated, or another one activated.

    A new version is not activated while ACTIVE names another one, even a damaged one, so the advice activates. A
    version of another segmentation than default sits in segmentations/<name>/<version>.
    """
    if folder.parent.parent.name == "segmentations":
        name = folder.parent.name
        return (
            f"retrain with `python -m app.cli train --segmentation {name} --activate`, "
            f"or activate another version on /models?segmentation={name}"
        )
    return (
        "retrain with `python train_model.py --activate`, "
        "or activate another version with `python -m app.cli models activate VERSION`"
    )


KMEANS_FILE = "kmeans_model.pkl"
SCALER_FILE = "scaler.pkl"
INFO_FILE = "model_info.json"
MANIFEST_FILE = "manifest.json"
PICKLES = (KMEANS_FILE, SCALER_FILE)
ARTIFACT_FILES = (*PICKLES, INFO_FILE)
STAGING_PREFIX = ".staging-"
# A staging folder is locked a moment after it is created; younger unlocked ones may be in that moment.
ORPHAN_MIN_AGE_SECONDS = 5.0
MANIFEST_FORMAT = 1


def _fsync(path: Path) -> None:
    with path.open("rb") as handle:
        os.fsync(handle.fileno())


def _fsync_dir(path: Path) -> None:
    if os.name == "nt":  # pragma: no cover - directories cannot be opened on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def signature_of(manifest: dict[str, Any], key: bytes) -> str:
    """HMAC-SHA256 over the manifest's version and file checksums, in a canonical JSON form."""
    body = json.dumps({"version": manifest["version"], "files": manifest["files"]}, sort_keys=True).encode()
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def build_manifest(folder: Path, version: str, signing_key: bytes | None) -> dict[str, Any]:
    """The sha256 of every file in a version folder, signed when a key is given."""
    files = {path.name: sha256_file(path) for path in sorted(folder.iterdir()) if path.name != MANIFEST_FILE}
    manifest: dict[str, Any] = {"format": MANIFEST_FORMAT, "version": version, "files": files, "signature": None}
    if signing_key:
        manifest["signature"] = signature_of(manifest, signing_key)
    return manifest


def write_manifest(folder: Path, version: str, signing_key: bytes | None) -> None:
    """Write manifest.json for the files already in `folder`."""
    manifest = build_manifest(folder, version, signing_key)
    (folder / MANIFEST_FILE).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


def ensure_writable(root: Path) -> None:
    """Fail early, in one line, when the versions folder cannot be written (before any fitting)."""
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            pass
    except OSError as exc:
        raise _store_error(root, exc) from None


def _store_error(root: Path, exc: OSError) -> ModelStoreError:
    """One line for a failed write to the versions folder: its name for API clients, its path for local users."""

    def said(folder: str) -> str:
        if is_no_space(exc):
            return (
                f"no space left on the model folder '{folder}', so no version was added; "
                "free some space and train again"
            )
        return (
            f"the model folder '{folder}' is not writable ({exc.strerror or type(exc).__name__}); "
            "fix its permissions or choose another with --model-dir / MODEL_DIR"
        )

    # The message may reach API clients (job errors, readiness): the folder's name only. The CLI and the job's and
    # server's logs say its path (local_message), in their one line.
    return ModelStoreError(said(root.name), local_message=said(str(root)))


@contextmanager
def staging_folder(root: Path) -> Iterator[Path]:
    """A private folder under root, locked while in use so a concurrent clean-up never takes it."""
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    try:
        with hold_directory(staging):
            yield staging
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def clean_orphans(root: Path) -> list[str]:
    """Remove staging folders that no live process holds (left by a killed save); return their names."""
    removed = []
    if not root.is_dir():
        return removed
    for path in root.iterdir():
        if not (path.name.startswith(STAGING_PREFIX) and path.is_dir()):
            continue
        try:
            age = time.time() - path.stat().st_mtime
        except OSError:
            continue
        if age > ORPHAN_MIN_AGE_SECONDS and not is_held(path):
            shutil.rmtree(path, ignore_errors=True)
            if not path.exists():
                removed.append(path.name)
                logger.warning("removed the orphaned staging folder %s (left by an interrupted save)", path)
    return removed


def save_model(model: SegmentationModel, root: str | Path, *, signing_key: bytes | None = None) -> Path:
    """Write the model as a new version folder root/<version>: staged, fsynced, then renamed into place."""
    root = Path(root).resolve()
    ensure_writable(root)
    clean_orphans(root)
    target = root / model.version
    if target.exists():
        raise ModelStoreError(f"model version {model.version} already exists")
    import joblib  # only training saves, so serving never imports joblib

    info = {
        **model.info,
        "parameters": model.parameters(),
        "segments": [segment.to_dict() for segment in model.segments],
    }
    try:
        # A write that fails (a full disk, a quota) leaves nothing behind: the staging folder is removed on the way out.
        with staging_folder(root) as staging:
            staging.chmod(0o755)  # mkdtemp makes it private; the version folder should not be
            joblib.dump(model.kmeans, staging / KMEANS_FILE)
            joblib.dump(model.scaler, staging / SCALER_FILE)
            (staging / INFO_FILE).write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
            write_manifest(staging, model.version, signing_key)
            for path in staging.iterdir():
                _fsync(path)
            # rename refuses a non-empty target, so two savers of one version id cannot overwrite each other.
            try:
                staging.rename(target)
            except OSError as exc:
                raise ModelStoreError(f"model version {model.version} could not be stored: {exc.strerror}") from None
    except OSError as exc:
        raise _store_error(root, exc) from None
    _fsync_dir(root)
    return target


def _relative(folder: Path, name: str | None = None) -> str:
    """A path as clients may see it: version/file, never the server's absolute path."""
    return f"{folder.name}/{name}" if name else folder.name


def read_manifest(folder: Path, signing_key: bytes | None, *, reuse_digests: bool = False) -> dict[str, Any]:
    """Check every file of a version against its manifest (and signature); ArtifactError saying what is wrong.

    Loading hashes every file. Listings pass `reuse_digests`, so a file whose size and mtime are unchanged since
    it was last hashed is not read again (see app/utils/hashing.py); an altered one is hashed, and refused.
    """
    path = folder / MANIFEST_FILE
    if not path.is_file():
        raise ArtifactError(f"{_relative(folder, MANIFEST_FILE)} is missing, so the version cannot be trusted")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        files = manifest["files"]
        if not isinstance(files, dict) or not all(isinstance(v, str) for v in files.values()):
            raise TypeError("files")
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
        logger.error("unreadable manifest %s: %s", path, exc)
        raise ArtifactError(f"{_relative(folder, MANIFEST_FILE)} is unreadable") from None
    if manifest.get("version") != folder.name:
        raise ArtifactError(f"{_relative(folder, MANIFEST_FILE)} names another version: it was moved or altered")
    if signing_key:
        signature = manifest.get("signature")
        if not isinstance(signature, str):
            raise ArtifactError(f"version {folder.name} is not signed, but a MODEL_SIGNING_KEY is set")
        if not hmac.compare_digest(signature, signature_of(manifest, signing_key)):
            raise ArtifactError(
                f"the signature of version {folder.name} does not match: altered, or signed with another key"
            )
    for name in ARTIFACT_FILES:
        if name not in files:
            raise ArtifactError(f"{_relative(folder, MANIFEST_FILE)} does not cover {name}")
    present = {p.name for p in folder.iterdir() if p.name != MANIFEST_FILE}
    for extra in sorted(present - set(files)):
        raise ArtifactError(f"{_relative(folder, extra)} is not in the manifest: it was added after training")
    for name, digest in files.items():
        file = folder / name
        if not file.is_file():
            raise ArtifactError(f"{_relative(folder, name)} is missing; {retrain_hint(folder)}")
        if not hmac.compare_digest(sha256_file(file, reuse=reuse_digests), digest):
            logger.error("%s does not match its sha256 in %s", file, path)
            raise ArtifactError(
                f"{_relative(folder, name)} does not match the sha256 in its manifest: it was altered after "
                f"training, so it was not used; {retrain_hint(folder)}"
            )
    return manifest


def _verify_pickles(folder: Path, manifest: dict[str, Any]) -> None:
    for name in PICKLES:
        path = folder / name
        if not path.is_file() or sha256_file(path) != manifest["files"].get(name):
            raise ArtifactError(
                f"{_relative(folder, name)} does not match the sha256 in its manifest: it was altered after "
                f"training, so it was not unpickled; {retrain_hint(folder)}"
            )


def _installed_sklearn() -> str | None:
    # Read from package metadata: importing scikit-learn costs a second and ~100 MB the server never needs.
    try:
        return importlib.metadata.version("scikit-learn")
    except importlib.metadata.PackageNotFoundError:
        return None


def _unpickle(folder: Path, manifest: dict[str, Any], parameters: dict[str, Any]) -> Estimators:
    """Unpickle the estimators, re-checking each sha256 first, and check they match the recorded parameters."""
    import joblib
    import numpy as np
    import sklearn
    from sklearn.cluster import KMeans
    from sklearn.preprocessing import StandardScaler

    _verify_pickles(folder, manifest)
    try:
        with warnings.catch_warnings():
            # load_model already warned about a version difference, once, in plain words.
            warnings.simplefilter("ignore", sklearn.exceptions.InconsistentVersionWarning)
            kmeans = joblib.load(folder / KMEANS_FILE)
            scaler = joblib.load(folder / SCALER_FILE)
    except Exception as exc:  # unpickling can raise almost anything; all of it means "unusable"
        raise ArtifactError(f"model artifacts of {folder.name} are unusable: {exc}; {retrain_hint(folder)}") from None
    if not isinstance(kmeans, KMeans) or not isinstance(scaler, StandardScaler):
        raise ArtifactError(f"model artifacts of {folder.name} hold unexpected objects; {retrain_hint(folder)}")
    if not (
        np.array_equal(kmeans.cluster_centers_, parameters["cluster_centers"])
        and np.array_equal(scaler.mean_, parameters["mean"])
        and np.array_equal(scaler.scale_, parameters["scale"])
    ):
        raise ArtifactError(f"the pickles of {folder.name} disagree with {INFO_FILE}; {retrain_hint(folder)}")
    return scaler, kmeans


def read_info(folder: Path) -> dict[str, Any]:
    """model_info.json of a version (not verified: call read_manifest first when it matters)."""
    try:
        info = json.loads((folder / INFO_FILE).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        logger.error("unreadable %s: %s", folder / INFO_FILE, exc)
        raise ArtifactError(f"{_relative(folder, INFO_FILE)} is unreadable; {retrain_hint(folder)}") from None
    if not isinstance(info, dict):
        raise ArtifactError(f"{_relative(folder, INFO_FILE)} is not a JSON object; {retrain_hint(folder)}")
    return info


def load_version(folder: str | Path, *, signing_key: bytes | None = None) -> SegmentationModel:
    """Load one verified version folder; pickles are unpickled only on first use."""
    folder = Path(folder)
    if not folder.is_dir():
        raise ArtifactError(f"model version {folder.name} is not on disk")
    manifest = read_manifest(folder, signing_key)
    info = read_info(folder)
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
        model_info["signed"] = manifest.get("signature") is not None and signing_key is not None
        return SegmentationModel(
            list(info["features"]),
            parameters["mean"],
            parameters["scale"],
            parameters["cluster_centers"],
            segments,
            model_info,
            estimators=lambda: _unpickle(folder, manifest, parameters),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(
            f"{_relative(folder, INFO_FILE)} is incomplete or inconsistent ({exc}); {retrain_hint(folder)}"
        ) from None
