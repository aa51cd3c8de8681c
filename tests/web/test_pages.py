"""Pages through TestClient: server-rendered results, inline errors, not-ready banner, error pages, headers."""

import re

import pytest
from fastapi.testclient import TestClient

HTML = {"accept": "text/html"}


def test_home_renders_a_default_result_and_the_map(client):
    response = client.get("/", headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert 'id="segment-map"' in html and 'id="customer-marker"' in html
    assert 'data-field="segment_name">Average Customer<' in html
    assert html.count('<label for="') == 2
    assert 'aria-live="polite"' in html


@pytest.mark.parametrize(("point", "name"), [((120, 90), "VIP / Whale"), ((20, 10), "Budget Conscious")])
def test_form_query_renders_the_segment_server_side(client, point, name):
    response = client.get("/", params={"annual_income": point[0], "spending_score": point[1]}, headers=HTML)
    assert response.status_code == 200
    assert f'data-field="segment_name">{name}<' in response.text
    assert f'value="{point[0]}"' in response.text


@pytest.mark.parametrize(
    ("params", "field", "message"),
    [
        ({"annual_income": "abc", "spending_score": "50"}, "annual_income", "is not a number"),
        ({"annual_income": "1_0", "spending_score": "50"}, "annual_income", "is not a number"),
        ({"annual_income": "\uff11\uff10", "spending_score": "50"}, "annual_income", "is not a number"),
        ({"annual_income": "\u0661\u0660", "spending_score": "50"}, "annual_income", "is not a number"),
        ({"annual_income": "50", "spending_score": "5_0"}, "spending_score", "is not a number"),
        ({"annual_income": "0x10", "spending_score": "50"}, "annual_income", "is not a number"),
        ({"annual_income": "1e999", "spending_score": "50"}, "annual_income", "finite number"),
        ({"annual_income": "", "spending_score": "50"}, "annual_income", "Enter a number."),
        ({"annual_income": "nan", "spending_score": "50"}, "annual_income", "finite number"),
        ({"annual_income": "50", "spending_score": "500"}, "spending_score", "between 1 and 100"),
    ],
)
def test_form_errors_are_shown_inline(client, params, field, message):
    response = client.get("/", params=params, headers=HTML)
    assert response.status_code == 422
    match = re.search(rf'data-error-for="{field}"\s*>([^<]*)<', response.text)
    assert match and message in match.group(1)
    assert 'aria-invalid="true"' in response.text


def test_about_page_shows_the_model_card(client, model):
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    html = response.text
    assert model.version in html
    for label in ("Silhouette", "Davies-Bouldin index", "Calinski-Harabasz index", "Inertia"):
        assert label in html
    assert html.count("data-silhouette=") == 9
    assert "chosen k = 5" in html
    for segment in model.segments:
        assert segment.name in html and segment.strategy[0] in html
    assert "curl -s -X POST http://testserver/api/v1/predict" in html


def test_pages_load_nothing_from_other_hosts(client):
    for path in ("/", "/about", "/no-such-page"):
        html = client.get(path, headers=HTML).text
        external = [url for url in re.findall(r'(?:src|href)="(https?://[^"]+)"', html) if "testserver" not in url]
        assert external == [], path
        assert "<script>" not in html  # no inline script: the CSP forbids it


def test_security_and_cache_headers(client):
    page = client.get("/", headers=HTML)
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["x-frame-options"] == "DENY"
    assert "unsafe-inline" in client.get("/docs").headers["content-security-policy"]
    asset = client.get("/static/css/app.css")
    assert asset.status_code == 200 and "max-age=86400" in asset.headers["cache-control"]
    script_type = client.get("/static/js/app.js").headers["content-type"]
    assert script_type.startswith(("text/javascript", "application/javascript"))


def test_unknown_page_gets_html_404_but_api_gets_json(client):
    page = client.get("/nothing", headers=HTML)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and 'class="site-header"' in page.text
    api = client.get("/api/v1/nothing", headers=HTML)
    assert api.status_code == 404 and api.headers["content-type"].startswith("application/json")


def test_not_ready_pages_explain_themselves(client_for, tmp_path):
    client = client_for(model_dir=tmp_path / "empty")
    home = client.get("/", headers=HTML)
    assert home.status_code == 503
    assert "Segmentation is unavailable right now" in home.text
    assert "train_model.py" in home.text
    about = client.get("/about", headers=HTML)
    assert about.status_code == 503
    assert "Segmentation is unavailable" in about.text and "Traceback" not in about.text


def test_crash_on_a_page_gives_a_500_page_that_leaks_nothing(app):
    from app.controllers.deps import get_segmenter

    def broken():
        raise RuntimeError("secret internal detail")

    app.dependency_overrides[get_segmenter] = broken
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.get("/about", headers=HTML)
    finally:
        del app.dependency_overrides[get_segmenter]
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong" in response.text
    assert "secret" not in response.text and "RuntimeError" not in response.text


@pytest.mark.parametrize("text", ["10", "10.", ".5", "+10", "1e1", "1.5E+1", " 10 "])
def test_form_takes_plain_numbers(client, text):
    response = client.get("/", params={"annual_income": text, "spending_score": "50"}, headers=HTML)
    assert response.status_code == 200
    assert 'aria-invalid="true"' not in response.text


def test_head_of_the_home_page_answers_like_get_without_a_body(client, client_for, tmp_path):
    response = client.head("/")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.content == b""
    assert client_for(model_dir=tmp_path / "empty").head("/").status_code == 503
