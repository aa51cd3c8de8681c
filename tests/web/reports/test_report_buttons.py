"""The report buttons on /about and /models lead to the version's PDF and HTML report."""

import re

import pytest


def _links(html: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for href, role in re.findall(r'<a [^>]*href="([^"]+)" data-role="(report-(?:pdf|html))"', html):
        found.setdefault(role, []).append(href.replace("&amp;", "&"))
    return found


def test_the_about_page_links_the_served_versions_report(client, model):
    response = client.get("/about")
    assert response.status_code == 200
    links = _links(response.text)
    assert links["report-pdf"] == [f"/api/v1/models/{model.version}/report?format=pdf&download=true"]
    pdf = client.get(links["report-pdf"][0])
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    assert "attachment" in pdf.headers["content-disposition"]
    html = client.get(links["report-html"][0])
    assert html.status_code == 200 and model.version in html.text


@pytest.mark.parametrize("role", ["report-pdf", "report-html"])
def test_the_models_page_links_every_versions_report(client_for, two_versions, role):
    root, first, second = two_versions
    client = client_for(model_dir=root)
    links = _links(client.get("/models").text)[role]
    assert sorted(links) == sorted(
        f"/api/v1/models/{version}/report?format={role.split('-')[1]}"
        + ("&download=true" if role == "report-pdf" else "")
        for version in (first, second)
    )
    response = client.get(links[0])
    assert response.status_code == 200
