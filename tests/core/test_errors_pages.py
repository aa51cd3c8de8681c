"""Validation errors on HTML error pages: worded by field label, with a way back to the page the user came from."""

import re

import pytest

from app.core.handlers import page_name

HTML = {"Accept": "text/html"}


def _message(html: str) -> str:
    (message,) = re.findall(r'<p id="error-message">(.*?)</p>', html, re.S)
    return message


def test_page_422_names_the_field_by_its_label(client):
    response = client.get("/monitoring?window=7d", headers=HTML)
    assert response.status_code == 422
    message = _message(response.text)
    assert message.startswith("Window: expected a whole number"), message
    assert "query." not in message and "Value error" not in message


def test_page_422_counts_every_problem_in_words(client):
    response = client.get("/monitoring?window=7d&since=yesterday", headers=HTML)
    assert response.status_code == 422
    message = _message(response.text)
    assert "Window: " in message and "Since: " in message, message


def test_api_422_keeps_the_field_location(client):
    response = client.get("/api/v1/monitoring/drift?window=7d")
    assert response.status_code == 422
    assert response.json()["message"].startswith("query.window: ")


def test_page_422_links_back_to_the_page_without_the_bad_query(client):
    response = client.get("/monitoring?window=7d", headers=HTML)
    assert response.status_code == 422
    assert '<a class="button" id="error-back" href="/monitoring">' in response.text
    assert "Go to the segmentation page" in response.text


def test_error_page_links_back_to_a_same_site_referer_only(client):
    same = client.get("/models?segmentation=nope", headers=HTML | {"Referer": "http://testserver/about?x=1"})
    assert same.status_code == 404
    assert 'id="error-back" href="/about?x=1"' in same.text
    other = client.get("/models?segmentation=nope", headers=HTML | {"Referer": "http://evil.example/about"})
    assert other.status_code == 404
    assert 'id="error-back"' not in other.text


def _way_back(html: str) -> tuple[str, str] | None:
    """The error page's way back, as its address and its words; None without one."""
    found = re.findall(r'<a class="button" id="error-back" href="([^"]*)">([^<]*)</a>', html)
    return found[0] if found else None


@pytest.mark.parametrize(
    ("came_from", "name"),
    [("/runs/0123abcd?sort=file", "Runs"), ("/monitoring?window=7", "Monitoring"), ("/about", "About the model")],
)
def test_error_page_names_the_page_it_links_back_to(client, came_from, name):
    response = client.get("/models?segmentation=nope", headers=HTML | {"Referer": f"http://testserver{came_from}"})
    assert response.status_code == 404
    assert _way_back(response.text) == (came_from, f"Go back to {name}")


def test_error_page_offers_no_way_back_to_an_address_that_is_no_page(client):
    referer = {"Referer": "http://testserver/segmentations/foo/runs"}
    response = client.get("/models?segmentation=nope", headers=HTML | referer)
    assert response.status_code == 404
    assert _way_back(response.text) is None
    assert '<a class="button" href="/">Go to the segmentation page</a>' in response.text


def test_the_way_backs_page_names_are_the_navs(client):
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    (nav,) = re.findall(r'<nav aria-label="Main">(.*?)</nav>', response.text, re.S)
    links = re.findall(r'<a href="([^"]*)"[^>]*>(.*?)</a>', nav, re.S)
    assert len(links) == 8, links
    for href, words in links:
        assert page_name(href) == re.sub(r"<[^>]+>", "", words), href
