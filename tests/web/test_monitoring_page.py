"""/monitoring rendered on the server: statuses in words, and bad input as an HTML 4xx page."""


def test_monitoring_page_renders_without_data(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    response = client.get("/monitoring", headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert 'data-status="insufficient data"' in response.text
    assert "no verdict yet" in response.text
    assert 'aria-current="page"' in response.text
    assert 'id="retrain-link" href="/models"' in response.text
    assert client.get("/models", headers={"Accept": "text/html"}).status_code == 200


def test_monitoring_page_with_a_bad_window_is_an_html_422(client_for, tmp_path):
    client = client_for(database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    response = client.get("/monitoring?window=0", headers={"Accept": "text/html"})
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("text/html")
