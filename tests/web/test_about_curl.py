"""/about tells visitors nothing about the server: the configured address (never the Host header), no versions."""

HTML = {"accept": "text/html"}


def test_about_curl_example_ignores_the_request_host(client):
    response = client.get("/about", headers={**HTML, "Host": "evil.example"})
    assert response.status_code == 200
    assert "evil.example" not in response.text
    assert "curl -s -X POST http://127.0.0.1:8000/api/v1/predict" in response.text


def test_about_curl_example_uses_the_public_url(client_for):
    client = client_for(public_url="https://segments.example.com")
    response = client.get("/about", headers={**HTML, "Host": "evil.example"})
    assert response.status_code == 200
    assert "curl -s -X POST https://segments.example.com/api/v1/predict" in response.text
    assert "evil.example" not in response.text


def test_about_never_names_the_library_version(client, model):
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    assert "scikit-learn" not in response.text
    assert model.info["sklearn_version"] not in response.text
