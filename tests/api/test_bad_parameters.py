"""A model whose recorded parameters make no sense is never served: not ready with a reason, never a 500 or nulls."""

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from app.models.versions.artifacts import write_manifest
from app.models.versions.store import VersionStore

HTML = {"accept": "text/html"}
CUSTOMER = {"annual_income": 85, "spending_score": 80}


def _zero_scale(info: dict) -> None:
    info["parameters"]["scale"][0] = 0


def _nan_mean(info: dict) -> None:
    info["parameters"]["mean"][1] = float("nan")  # json.dumps writes NaN, which json.loads reads back as a float


def _infinite_centroid(info: dict) -> None:
    info["parameters"]["cluster_centers"][2][0] = float("inf")


def _short_centroid(info: dict) -> None:
    info["parameters"]["cluster_centers"][1] = info["parameters"]["cluster_centers"][1][:1]


def _wrong_mean_shape(info: dict) -> None:
    info["parameters"]["mean"] = info["parameters"]["mean"][:1]


def _missing_segment(info: dict) -> None:
    info["segments"] = info["segments"][:-1]


def _text_scale(info: dict) -> None:
    info["parameters"]["scale"][1] = "wide"


BREAKAGES: dict[str, Callable[[dict], None]] = {
    "scale 0": _zero_scale,
    "NaN mean": _nan_mean,
    "infinite centroid": _infinite_centroid,
    "centroid of the wrong length": _short_centroid,
    "mean of the wrong shape": _wrong_mean_shape,
    "a KMeans label with no segment": _missing_segment,
    "a scale that is text": _text_scale,
}


@pytest.fixture
def broken_model(model_dir: Path, tmp_path: Path) -> Callable[[Callable[[dict], None]], Path]:
    """A copy of the trained model whose active version's model_info.json is edited by `breakage`.

    The manifest is rewritten to match, as someone who can write an unsigned folder could: the checksums pass,
    so only the parameter checks stand between the edit and a served prediction.
    """

    def make(breakage: Callable[[dict], None]) -> Path:
        copy = tmp_path / "models_artifacts"
        shutil.copytree(model_dir, copy)
        version = VersionStore(copy).active_version()
        folder = copy / version
        path = folder / "model_info.json"
        info = json.loads(path.read_text(encoding="utf-8"))
        breakage(info)
        path.write_text(json.dumps(info, indent=2), encoding="utf-8")
        write_manifest(folder, version, None)
        return copy

    return make


@pytest.mark.parametrize("breakage", BREAKAGES.values(), ids=BREAKAGES.keys())
def test_nonsense_parameters_mean_not_ready_everywhere(client_for, broken_model, breakage):
    client = client_for(model_dir=broken_model(breakage))

    health = client.get("/api/v1/health")
    assert health.status_code == 503
    assert health.json()["status"] == "unavailable"
    reason = health.json()["reason"]
    assert "model_info.json" in reason

    predict = client.post("/api/v1/predict", json=CUSTOMER)
    assert predict.status_code == 503
    assert predict.json()["type"] == "model_not_ready" and predict.json()["message"].endswith(reason)

    batch = client.post(
        "/api/v1/predict/batch", json={"customers": [CUSTOMER, {"annual_income": 20, "spending_score": 10}]}
    )
    assert batch.status_code == 503
    assert "null" not in batch.text

    for path in ("/api/v1/clusters", "/api/v1/clusters/info", "/api/v1/clusters/1", "/api/v1/model/info"):
        assert client.get(path).status_code == 503, path

    home = client.get("/", headers=HTML)
    assert home.status_code == 503
    assert "Segmentation is unavailable right now" in home.text
    assert client.get("/", params={"annual_income": "85", "spending_score": "80"}, headers=HTML).status_code == 503
    assert client.get("/about", headers=HTML).status_code == 503
