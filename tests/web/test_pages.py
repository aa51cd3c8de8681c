"""Pages through TestClient: server-rendered results, inline errors, not-ready banner, error pages, headers."""

import re

import pytest
from fastapi.testclient import TestClient

from tests.recorded import logged, recording_client, snapshot

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
    assert "curl -s -X POST http://127.0.0.1:8000/api/v1/predict" in html  # HOST:PORT, never the request Host


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
    # The docs pages run no inline script; only ReDoc's styled-components need inline styles.
    swagger, redoc = (client.get(path).headers["content-security-policy"] for path in ("/docs", "/redoc"))
    assert "script-src 'self';" in swagger and "unsafe-inline" not in swagger
    assert "script-src 'self';" in redoc and "style-src 'self' 'unsafe-inline';" in redoc
    asset = client.get("/static/css/app.css")
    assert asset.status_code == 200 and "immutable" not in asset.headers["cache-control"]
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
    assert "Move the sliders" not in home.text and "slider" not in home.text
    about = client.get("/about", headers=HTML)
    assert about.status_code == 503
    assert "Segmentation is unavailable" in about.text and "Traceback" not in about.text
    for page in (home, about):
        # People get a plain message; the folder and the command stay in the logs and in the health check.
        assert str(tmp_path) not in page.text and "train_model" not in page.text and "<code>python" not in page.text
    health = client.get("/api/v1/health").json()
    # Health gives operators the fix; no absolute server path reaches any client (the logs keep it).
    assert "train_model.py" in health["reason"] and str(tmp_path) not in health["reason"]


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


def test_no_page_shows_attributes_as_text(client, client_for, tmp_path):
    pages = [
        client.get(path, headers=HTML)
        for path in (
            "/",
            "/?annual_income=5000&spending_score=99",
            "/?annual_income=x",
            "/about",
            "/nope",
            "/docs",
            "/redoc",
        )
    ]
    empty = client_for(model_dir=tmp_path / "empty")
    pages += [empty.get("/", headers=HTML), empty.get("/about", headers=HTML)]
    for page in pages:
        assert "=&#34;" not in page.text and "=&quot;" not in page.text, page.url
    home = pages[0].text
    assert len(re.findall(r'<path [^>]*stroke="#fff" stroke-width="1.2" data-segment-id="\d"/>', home)) == 5
    assert 'data-field="swatch"' in home


def test_static_urls_carry_a_content_hash_and_are_cached_for_a_year(client):
    import hashlib

    from app.core.config import PROJECT_ROOT

    html = client.get("/", headers=HTML).text
    for path in ("css/app.css", "js/app.js", "favicon.svg"):
        digest = hashlib.sha256((PROJECT_ROOT / "app" / "static" / path).read_bytes()).hexdigest()[:12]
        url = f"/static/{path}?v={digest}"
        assert url in html, path
        response = client.get(url)
        assert response.status_code == 200
        assert (
            "max-age=31536000" in response.headers["cache-control"] and "immutable" in response.headers["cache-control"]
        )
    # A stale hash is not promised forever.
    assert "immutable" not in client.get("/static/css/app.css?v=000000000000").headers["cache-control"]


def test_out_of_range_customer_gets_a_notice_and_an_off_chart_marker(client, model):
    response = client.get("/", params={"annual_income": 5000, "spending_score": 99}, headers=HTML)
    assert response.status_code == 200
    low, high = model.training_range
    expected = (
        f"Income 5,000 k$ is outside the incomes this model was trained on ({low[0]:.0f}–{high[0]:.0f} k$): "
        "treat the segment as an extrapolation."
    )
    assert expected in response.text
    assert re.search(r'class="customer-marker is-off-chart is-extrapolated" transform="translate\(', response.text)
    assert 'data-role="off-chart-note" hidden' not in response.text  # the note is shown
    inside = client.get("/", params={"annual_income": 60, "spending_score": 50}, headers=HTML).text
    assert (
        "treat the segment as an extrapolation" not in inside.split('data-field="out_of_range"')[1].split("</div>")[0]
    )
    assert 'class="customer-marker"' in inside


def test_slider_and_box_ranges_are_explained(client):
    html = client.get("/", headers=HTML).text
    assert 'id="annual_income-hint"' in html
    assert "The slider covers 0–150; type any value between 0 and 10,000 in the box." in html
    assert 'id="spending_score-hint"' not in html  # same range in both controls: nothing to explain


@pytest.mark.parametrize(
    ("params", "income"),
    [
        # Only the slider moved (the box still shows what the page rendered): the slider's value is segmented.
        ({"annual_income": "60", "annual_income_slider": "120", "annual_income_was": "60"}, "120"),
        # The box changed: it wins, wherever the slider is.
        ({"annual_income": "20", "annual_income_slider": "60", "annual_income_was": "60"}, "20"),
        ({"annual_income": "20", "annual_income_slider": "120", "annual_income_was": "60"}, "20"),
        # Nothing changed, with a value the slider cannot show exactly.
        ({"annual_income": "60.4", "annual_income_slider": "60", "annual_income_was": "60.4"}, "60.4"),
        # A shared link with only the box values.
        ({"annual_income": "20"}, "20"),
    ],
)
def test_no_js_form_segments_the_control_the_user_set(client, params, income):
    query = {"spending_score": "90", "spending_score_slider": "90", "spending_score_was": "90", **params}
    html = client.get("/", params=query, headers=HTML).text
    assert 'id="annual_income-number" class="number" name="annual_income"' in html
    assert re.search(rf'name="annual_income" [^>]*value="{re.escape(income)}"', html, re.S)
    expected = client.post("/api/v1/predict", json={"annual_income": float(income), "spending_score": 90}).json()
    expected = expected["segment_name"]
    assert f'data-field="segment_name">{expected}<' in html


def test_about_lays_segments_out_evenly_with_profiles_and_unique_landmarks(client):
    html = client.get("/about", headers=HTML).text
    assert 'class="segment-grid columns-3"' in html  # five cards: 3 + 2, never 4 + 1
    assert html.count('data-role="profile"') == 5 and "% female" in html and "Average age" in html
    # Every labelled region is named once: the statistics section and its scroll box are told apart.
    labelledby = re.findall(r'aria-labelledby="([^"]+)"', html)
    assert len(labelledby) == len(set(labelledby))
    assert 'aria-label="Statistics table, scrolls sideways"' in html


def test_home_intro_promises_live_updates_only_to_javascript(client):
    html = client.get("/", headers=HTML).text
    lead = html.split('<p class="lead">')[1].split("</p>")[0]
    visible = re.sub(r'<span data-role="live-hint" hidden>.*?</span>', "", lead)
    assert "as you go" not in visible and "Find segment" in visible


def test_navigation_calls_the_versions_page_models_like_its_url(client):
    page = client.get("/")
    assert page.status_code == 200
    link = re.search(r'<a href="[^"]*/models"[^>]*>(.*?)</a>', page.text)
    assert link and link.group(1) == "Models"


def test_views_of_the_home_page_record_no_prediction(client_for, tmp_path):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    for _ in range(10):
        view = client.get("/", headers=HTML)
        assert view.status_code == 200
        assert 'data-field="segment_name">Average Customer<' in view.text  # the default preview, computed
    assert client.head("/", params={"annual_income": "120", "spending_score": "90"}).status_code == 200
    assert client.get("/", params={"annual_income": "abc", "spending_score": "50"}, headers=HTML).status_code == 422
    assert snapshot(client) == before


def test_a_no_js_form_submission_records_one_prediction(client_for, tmp_path):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    form = {
        "annual_income": "120",
        "annual_income_slider": "60",
        "annual_income_was": "60",
        "spending_score": "90",
        "spending_score_slider": "50",
        "spending_score_was": "50",
    }
    page = client.get("/", params=form, headers={**HTML, "X-Request-ID": "form-1"})
    assert page.status_code == 200
    assert 'data-field="segment_name">VIP / Whale<' in page.text
    after = snapshot(client)
    assert {key: after[key] - before[key] for key in after if after[key] != before[key]} == {
        "predictions single": 1,
        "logged": 1,
    }
    assert logged(client, "single") == 1


def test_a_result_link_or_another_sites_request_records_nothing(client_for, tmp_path):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    # A shared or bookmarked result link (what the page's script puts in the address bar) has no *_was fields.
    link = client.get("/", params={"annual_income": "120", "spending_score": "90"}, headers=HTML)
    assert link.status_code == 200 and 'data-field="segment_name">VIP / Whale<' in link.text
    # Another site's page asking for the form (an <img src="/?...">): the page is drawn, nothing recorded.
    form = {"annual_income": "137", "annual_income_was": "60", "spending_score": "1", "spending_score_was": "50"}
    for _ in range(5):
        sent = client.get("/", params=form, headers={**HTML, "Sec-Fetch-Site": "cross-site"})
        assert sent.status_code == 200
    assert snapshot(client) == before


def test_no_js_form_submissions_count_against_the_prediction_limit(client_for, tmp_path):
    client = recording_client(client_for, tmp_path, rate_limit_predict="2/minute")
    form = {"annual_income": "120", "annual_income_was": "60", "spending_score": "90", "spending_score_was": "50"}
    assert [client.get("/", params=form, headers=HTML).status_code for _ in range(3)] == [200, 200, 429]
    assert client.get("/", headers=HTML).status_code == 200  # a plain view is never limited


def test_models_history_says_when_no_version_was_active_before(client):
    response = client.get("/models", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert "(none was active before)" in response.text
    assert "(was <code>none</code>)" not in response.text
