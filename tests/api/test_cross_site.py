"""POST /api/v1/predict/csv refuses files a browser sends from another site's page; tools and this site pass."""

import pytest

from tests.recorded import customer_file, recording_client, snapshot

URL = "/api/v1/predict/csv"


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},  # a sandboxed frame or a file:// page
        {"Sec-Fetch-Site": "cross-site"},
        {"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "http://testserver:8080"},  # another port is another origin
    ],
)
@pytest.mark.parametrize("body", ["text", "multipart"])
def test_a_cross_site_post_is_refused_before_anything_is_scored_or_logged(client_for, tmp_path, headers, body):
    client = recording_client(client_for, tmp_path)
    before = snapshot(client)
    data = customer_file(10)
    if body == "text":
        # text/plain is a "simple" request: a page can send it with fetch or a form, and no preflight asks first.
        response = client.post(URL, content=data, headers={"content-type": "text/plain", **headers})
    else:
        response = client.post(URL, files={"file": ("c.csv", data, "text/csv")}, headers=headers)
    assert response.status_code == 403, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["type"] == "forbidden"
    assert "other sites" in response.json()["message"]
    assert snapshot(client) == before


@pytest.mark.parametrize(
    "headers",
    [
        {},  # curl -F, scripts: neither header, as in the README's examples
        {"Origin": "http://testserver"},
        {"Origin": "HTTP://TESTSERVER"},
        {"Sec-Fetch-Site": "same-origin"},
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "none"},
        # Behind a proxy that ends TLS the app sees http; the browser's Sec-Fetch-Site still says same-origin.
        {"Origin": "https://testserver", "Sec-Fetch-Site": "same-origin"},
    ],
)
def test_tools_and_this_site_may_post_files(client, headers):
    response = client.post(URL, content=customer_file(10), headers={"content-type": "text/csv", **headers})
    assert response.status_code == 200, response.text


def test_an_origin_in_cors_origins_may_post_files(client_for):
    client = client_for(cors_origins=["https://partner.example"])
    headers = {"content-type": "text/csv", "Origin": "https://partner.example", "Sec-Fetch-Site": "cross-site"}
    answer = client.post(URL, content=customer_file(10), headers=headers)
    assert answer.status_code == 200
    # Its page's script may read the version, the run and the counts: a browser hides headers not exposed.
    exposed = {name.strip().lower() for name in answer.headers["access-control-expose-headers"].split(",")}
    read = {"x-model-version", "x-run-id", "x-run-not-kept", "x-rows-read", "x-rows-scored", "x-rows-left-out"}
    assert read <= exposed
    # Each is sent, except the one that says a run could not be kept: this one was.
    assert all(name in answer.headers for name in exposed - {"x-run-not-kept"})
    assert "x-run-not-kept" not in answer.headers
    headers["Origin"] = "https://other.example"
    assert client.post(URL, content=customer_file(10), headers=headers).status_code == 403


def test_a_refused_cross_site_upload_spends_none_of_the_prediction_limit(client_for, default_data):
    client = client_for(rate_limit_predict="1/minute")
    cross = client.post(
        "/api/v1/predict/csv",
        content=default_data.read_bytes(),
        headers={"Content-Type": "text/csv", "Sec-Fetch-Site": "cross-site"},
    )
    assert cross.status_code == 403
    own = client.post("/api/v1/predict/csv", content=default_data.read_bytes(), headers={"Content-Type": "text/csv"})
    assert own.status_code == 200
