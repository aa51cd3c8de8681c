"""What the pages of a non-default segmentation say: its own features, files and state, never the default's."""

import json
import re

import pandas as pd
import pytest

HTML = {"accept": "text/html"}
CURL_BODY = re.compile(r"-d &#39;(\{.*?\})&#39;")


def test_the_about_curl_example_sends_the_training_datas_means(segmented, segmentations_template):
    response = segmented.get("/about?segmentation=crm", headers=HTML)
    assert response.status_code == 200
    body = json.loads(CURL_BODY.search(response.text).group(1).replace("&#34;", '"'))
    means = pd.read_csv(segmentations_template[1])[["Income", "Visits", "Tenure"]].mean()
    assert body["features"].keys() == {"income", "visits", "tenure"}
    for name, column in (("income", "Income"), ("visits", "Visits"), ("tenure", "Tenure")):
        assert abs(body["features"][name] - means[column]) <= 0.01 + 1e-6 * abs(means[column]), name


def test_the_home_page_of_a_segmentation_without_a_version_says_to_train_one(segmented):
    response = segmented.get("/?segmentation=empty", headers=HTML)
    assert response.status_code == 503
    assert "Segmentation empty has no trained version yet" in response.text
    assert 'href="/models?segmentation=empty"' in response.text
    assert "annual income" not in response.text and "try again later" not in response.text
    # The default segmentation without a model still says it is unavailable.
    assert "Segmentation empty" not in segmented.get("/", headers=HTML).text


@pytest.mark.parametrize("path", ["/about", "/score", "/monitoring"])
def test_every_page_of_a_segmentation_without_a_version_says_to_train_one(segmented, path):
    response = segmented.get(f"{path}?segmentation=empty", headers=HTML)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    assert "Segmentation empty has no trained version yet" in response.text
    assert "Train its first version on the" in response.text
    assert 'href="/models?segmentation=empty">Models page</a>' in response.text
    assert "try again later" not in response.text.lower() and "No segmentation model is loaded" not in response.text


@pytest.fixture
def inactive(segmentations_template, client_for, tmp_path):
    """A client over a copy of the segmentations folder where neither `crm` nor `default` has an active version."""
    import shutil

    root = tmp_path / "models_artifacts"
    shutil.copytree(segmentations_template[0], root)
    (root / "segmentations" / "crm" / "ACTIVE").unlink()
    (root / "ACTIVE").unlink()
    return client_for(model_dir=root, jobs_dir=tmp_path / "jobs", auto_train=False)


@pytest.mark.parametrize("path", ["/about", "/score", "/monitoring"])
def test_every_page_of_a_segmentation_with_no_active_version_says_how_to_activate_one(inactive, path):
    response = inactive.get(f"{path}?segmentation=crm", headers=HTML)
    assert response.status_code == 503
    assert response.headers["content-type"].startswith("text/html")
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", response.text))
    assert "Segmentation crm has no active version." in text
    assert "Activate one with its Activate button on the Models page" in text
    assert "POST /api/v1/segmentations/crm/models/{version}/activate" in text
    assert 'href="/models?segmentation=crm">Models page</a>' in response.text
    assert "try again later" not in text.lower() and "No segmentation model is loaded" not in text
    default = inactive.get(path, headers=HTML)
    assert default.status_code == 503
    assert "Segmentation default has no active version." in default.text
    assert 'href="/models">Models page</a>' in default.text and "POST /api/v1/models/{version}/activate" in default.text


def test_the_api_keeps_its_503_for_no_active_version_with_the_clearer_message(inactive):
    response = inactive.post("/api/v1/segmentations/crm/predict", json={"features": {}})
    assert response.status_code == 503
    assert response.json()["type"] == "model_not_ready"
    assert response.json()["message"] == (
        "segmentation crm has versions, but no model version is active: activate one on the Models page "
        "(/models?segmentation=crm) or with POST /api/v1/segmentations/crm/models/{version}/activate"
    )
    default = inactive.get("/api/v1/clusters")
    assert (default.status_code, default.json()["type"]) == (503, "model_not_ready")
    assert default.json()["message"] == (
        "segmentation default has versions, but no model version is active: activate one on the Models page "
        "(/models) or with POST /api/v1/models/{version}/activate"
    )


def test_the_default_segmentation_without_a_model_is_still_unavailable(client_for, tmp_path):
    response = client_for(model_dir=tmp_path / "nothing").get("/about", headers=HTML)
    assert response.status_code == 503
    assert "No segmentation model is loaded right now" in response.text
    assert "has no trained version yet" not in response.text


FOOTER = re.compile(r'<footer class="site-footer">(.*?)</footer>', re.S)


@pytest.mark.parametrize(
    ("query", "line"),
    [
        ("", "KMeans on income and spending"),
        ("?segmentation=crm", "KMeans on income, visits and tenure"),
        ("?segmentation=rfm", "KMeans on recency, frequency and monetary"),
        ("?segmentation=empty", "KMeans clustering"),
    ],
)
def test_every_pages_footer_names_what_the_segmentation_clusters_on(segmented, query, line):
    paths = ["/", "/models"] + ([] if query.endswith("empty") else ["/score", "/about", "/monitoring"])
    for path in paths:
        response = segmented.get(path + query, headers=HTML)
        assert response.status_code in (200, 503), (path, response.text)
        footer = FOOTER.search(response.text).group(1)
        assert f"· {line} ·" in footer, (path, footer)
