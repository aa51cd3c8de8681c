"""The PCA plane of a 3+ feature model: fitted at training, signed with the version, and used to place customers."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from sklearn.decomposition import PCA

from app.core.config import PROJECT_ROOT
from app.core.errors import ArtifactError
from app.models import projection
from app.models.model import SegmentationModel
from app.models.training import train
from app.models.versions import artifacts
from app.models.versions.artifacts import load_version
from tests.models.three_features import SPECS, write_customers


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[SegmentationModel, Path]:
    """A 3-feature model (log income, visits, tenure), saved signed, and its version folder."""
    folder = tmp_path_factory.mktemp("three")
    result = train(
        write_customers(folder / "customers.csv"), output_dir=folder / "models", specs=SPECS, k=3, signing_key=b"k1"
    )
    return result.model, result.output_dir


def _standardized(model: SegmentationModel, X: np.ndarray) -> np.ndarray:
    """What scikit-learn's fitted scaler makes of rows in original units (log1p on the log features)."""
    return model.scaler.transform(model.to_model_space(np.asarray(X, dtype=float)))


def test_projection_is_the_first_two_principal_axes_of_the_training_data(trained):
    model, _ = trained
    X = np.asarray(model.info["map_sample"], dtype=float)  # every training row: the file is smaller than the sample
    assert len(X) == model.info["n_samples"]
    pca = PCA(n_components=2).fit(_standardized(model, X))
    fitted = projection.Projection.of(model)
    assert fitted is not None
    for ours, theirs in zip(fitted.components, pca.components_, strict=True):
        assert abs(float(ours @ theirs)) == pytest.approx(1.0, abs=1e-6)  # the same axis, up to its sign
    assert fitted.explained == pytest.approx(tuple(pca.explained_variance_ratio_), abs=1e-6)
    assert fitted.components @ fitted.components.T == pytest.approx(np.eye(2), abs=1e-9)


def test_each_axis_points_its_largest_loading_positive(trained):
    fitted = projection.Projection.of(trained[0])
    for row in fitted.components:
        assert row[np.abs(row).argmax()] > 0


def test_new_customers_are_placed_as_pca_places_them(trained):
    model, folder = trained
    served = load_version(folder, signing_key=b"k1")
    rows = np.array([[30_000, 2.5, 1.5], [150_000, 3.0, 14.0], [70_000, 9.0, 4.0]])
    pca = PCA(n_components=2).fit(_standardized(model, np.asarray(model.info["map_sample"], dtype=float)))
    expected = pca.transform(_standardized(model, rows))
    placed = projection.place_customers(served, rows)
    signs = np.sign(np.sum(projection.Projection.of(served).components * pca.components_, axis=1))
    assert placed == pytest.approx(expected * signs, abs=1e-6)


def test_projection_is_stored_in_the_signed_model_info(trained):
    model, folder = trained
    info = json.loads((folder / "model_info.json").read_text())
    assert info["projection"]["features"] == ["income", "visits", "tenure"]
    assert load_version(folder, signing_key=b"k1").info["projection"] == model.info["projection"]
    # Rewriting the axes and the manifest's checksum still fails the signature.
    info["projection"]["components"][0][0] *= -1
    (folder.parent / "tampered").mkdir()
    tampered = folder.parent / "tampered" / folder.name
    tampered.mkdir()
    for file in folder.iterdir():
        (tampered / file.name).write_bytes(file.read_bytes())
    (tampered / "model_info.json").write_text(json.dumps(info))
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["files"]["model_info.json"] = artifacts.sha256_file(tampered / "model_info.json")
    (tampered / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ArtifactError, match="signature"):
        load_version(tampered, signing_key=b"k1")


def test_two_feature_models_have_no_projection(model):
    assert "projection" not in model.info
    assert projection.Projection.of(model) is None
    with pytest.raises(ValueError, match="no projection"):
        projection.place_customers(model, [[50, 50]])


def test_fit_projection_needs_three_features():
    rows = np.random.default_rng(0).normal(size=(20, 2))
    assert projection.fit_projection(rows, ["a", "b"]) is None
    assert projection.fitted_projection(rows, ["a", "b"]) == {}


def test_centroids_are_placed_in_segment_order(trained):
    model, _ = trained
    placed = projection.placed_centroids(model)
    for segment, point in zip(model.segments, placed, strict=True):
        original = [[segment.centroid[name] for name in model.features]]
        assert point == pytest.approx(projection.place_customers(model, original)[0], abs=1e-6)


def _area(polygon: list[tuple[float, float]]) -> float:
    x, y = np.array(polygon).T
    return abs(float(np.dot(x, np.roll(y, 1)) - np.dot(y, np.roll(x, 1)))) / 2


def test_plane_regions_tile_the_plane_and_agree_with_the_model(trained):
    model, _ = trained
    fitted = projection.Projection.of(model)
    box = ((-4.0, 4.0), (-3.0, 3.0))
    regions = projection.plane_regions(model, *box)
    assert len(regions) == model.n_clusters
    assert sum(_area(polygon) for polygon in regions if len(polygon) >= 3) == pytest.approx(48.0, rel=1e-9)
    checked = 0
    for position, polygon in enumerate(regions):
        if len(polygon) < 3:
            continue
        points = np.array(polygon)
        centre = points.mean(axis=0)
        for corner in points:
            p = centre + 0.9 * (corner - centre)
            z = fitted.center + p @ fitted.components  # the customer lying on the plane at p
            nearest = np.linalg.norm(projection.segment_centroids(model) - z, axis=1).argmin()
            assert nearest == position
            checked += 1
    assert checked >= 3 * 3


def test_axis_texts_name_each_feature_with_its_weight(trained):
    model, _ = trained
    fitted = projection.Projection.of(model)
    texts = projection.axis_texts(model)
    assert len(texts) == 2
    for axis, (text, row) in enumerate(zip(texts, fitted.components, strict=True), start=1):
        assert text.startswith(f"Axis {axis} ({fitted.explained[axis - 1]:.0%} of the spread): ")
        for name, weight in zip(model.features, row, strict=True):
            label = {"income": "log Income", "visits": "Visits", "tenure": "Tenure"}[name]
            if round(abs(weight), 2):
                assert f"{abs(weight):.2f} × {label}" in text
        # The heaviest term comes first, with its sign.
        heaviest = model.features[int(np.abs(row).argmax())]
        assert text.split(": ", 1)[1].split(" × ")[0] == f"{abs(row).max():.2f}"
        assert heaviest in text.lower().split(": ", 1)[1].split(" + ")[0].split(" − ")[0]


@pytest.mark.slow
def test_placing_customers_never_imports_scikit_learn(trained):
    _, folder = trained
    code = (
        "import sys\n"
        "from app.models.versions.artifacts import load_version\n"
        "from app.models import projection\n"
        f"model = load_version({str(folder)!r})\n"
        "projection.place_customers(model, [[50000, 3, 4]])\n"
        "projection.plane_regions(model, (-3, 3), (-3, 3))\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'sklearn', 'scipy', 'joblib'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
