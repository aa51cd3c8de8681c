"""/about for a version trained without the k sweep: it says so instead of leaving the k chart out silently."""

import pytest

from app.models.training import train
from app.models.versions.store import load_model
from app.web.pages.about import about_page

HTML = {"accept": "text/html"}
NO_SWEEP = "trained with a fixed k = 5 and no k sweep"


@pytest.fixture(scope="module")
def unswept_dir(default_data, tmp_path_factory):
    """A versions folder whose only (active) version was trained with k = 5 and no sweep."""
    root = tmp_path_factory.mktemp("unswept") / "models_artifacts"
    train(default_data, output_dir=root, sweep=False)
    return root


def test_about_page_context_without_sweep_says_so(unswept_dir):
    context = about_page(load_model(unswept_dir), base_url="http://testserver")
    assert context["swept"] is False and context["k_chart"] is None


def test_about_page_without_sweep_says_so(client_for, unswept_dir):
    response = client_for(model_dir=unswept_dir).get("/about", headers=HTML)
    assert response.status_code == 200
    assert NO_SWEEP in response.text and 'data-role="no-sweep"' in response.text
    assert "data-silhouette=" not in response.text


def test_about_page_with_sweep_shows_the_chart_and_no_note(client):
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    assert "no k sweep" not in response.text and "data-silhouette=" in response.text
