"""/about shows each segment's rules with their fidelity and SQL, and a chart of what drives the segments."""

import html
import re

import pytest

from app.models.model import SegmentationModel
from app.web.charts.importance import importance_chart
from app.web.pages.about import STANDS_OUT, drivers_text
from tests.web.conftest import PageWatch

HTML = {"accept": "text/html"}


def _section(page: str, section_id: str) -> str:
    found = re.search(rf'<section[^>]*id="{section_id}".*?</section>', page, re.S)
    assert found, f"no section {section_id}"
    return found.group(0)


def _check_rules_section(page: str, model: SegmentationModel) -> None:
    """Every segment's rules, fidelity and SQL as the version recorded them, and one importance bar per feature."""
    rules = _section(page, "segment-rules")
    recorded = model.info["segment_rules"]
    for segment in model.segments:
        mine = recorded["segments"][str(segment.segment_id)]
        card = re.search(
            rf'<article class="segment-rules" data-segment-id="{segment.segment_id}">(.*?)</article>', rules, re.S
        )
        assert card, segment.name
        text = html.unescape(card.group(1))
        for clause in mine["clauses"]:
            assert f"{clause} → {segment.name}" in text
        assert f"fidelity {mine['fidelity'] * 100:.0f}%" in text
        assert f'<code id="sql-{segment.segment_id}">{mine["sql"]}</code>' in text
    assert f"{recorded['fidelity'] * 100:.0f}%" in rules
    chart = re.search(r'<svg id="importance-chart".*?</svg>', page, re.S)
    assert chart
    bars = re.findall(r'data-feature="([^"]+)" data-importance="([^"]+)"', chart.group(0))
    expected = [(item["feature"], item["importance"]) for item in model.info["importance"]["features"]]
    assert [(feature, float(share)) for feature, share in bars] == expected


def test_the_default_about_page_shows_rules_sql_and_importance(client, model) -> None:
    response = client.get("/about", headers=HTML)
    assert response.status_code == 200
    _check_rules_section(response.text, model)
    assert "Annual Income" in _section(response.text, "segment-rules") and " k$" in response.text
    # The SQL is shown as text: its double quotes are escaped in the markup, not raw.
    assert "&#34;Annual Income (k$)&#34;" in response.text or "&quot;Annual Income (k$)&quot;" in response.text


@pytest.mark.parametrize("name", ["crm", "rfm"])
def test_a_segmentations_about_page_shows_its_own_rules(segmented, name: str) -> None:
    response = segmented.get(f"/about?segmentation={name}", headers=HTML)
    assert response.status_code == 200
    model = segmented.app.state.segmentations.registry(name).get()
    _check_rules_section(response.text, model)
    assert "Annual Income" not in _section(response.text, "segment-rules")


def test_the_importance_chart_draws_bars_in_proportion() -> None:
    chart = importance_chart(
        {
            "sample_size": 10,
            "repeats": 5,
            "features": [
                {"feature": "a", "label": "A", "importance": 0.5, "std": 0.0},
                {"feature": "b", "label": "B", "importance": 0.25, "std": 0.0},
            ],
        }
    )
    assert chart is not None
    first, second = chart["bars"]
    assert first["width"] == pytest.approx(chart["plot_width"] / 2) and second["width"] == pytest.approx(
        first["width"] / 2
    )
    assert second["y"] > first["y"] + first["height"]
    assert importance_chart(None) is None and importance_chart({"features": []}) is None


def test_what_sets_a_segment_apart_names_the_features_it_stands_out_on(model) -> None:
    for segment in model.segments:
        text = drivers_text(model, segment.segment_id)
        position = model.info["importance"]["segments"][str(segment.segment_id)]
        standing_out = [spec for spec in model.feature_specs if abs(position[spec.name]) >= STANDS_OUT]
        for spec in model.feature_specs:
            assert (spec.label in text) == (spec in standing_out), (segment.name, text)
        if not standing_out:
            assert text == "close to the average customer on every feature"
        else:
            signs = [f"{spec.label} {'+' if position[spec.name] > 0 else '-'}" for spec in standing_out]
            assert all(sign in text for sign in signs)


@pytest.mark.slow
def test_copy_sql_puts_a_segments_where_clause_on_the_clipboard(browser, base_url, model) -> None:
    context = browser.new_context(
        viewport={"width": 1280, "height": 900}, permissions=["clipboard-read", "clipboard-write"]
    )
    page = context.new_page()
    watch = PageWatch(page, base_url)
    page.goto(f"{base_url}/about")
    segment = model.segments[1]
    card = page.locator(f'article.segment-rules[data-segment-id="{segment.segment_id}"]')
    card.get_by_role("button", name=f"Copy the SQL of {segment.name}").click()
    status = page.locator('#segment-rules [data-role="copy-status"]')
    status.filter(has_text="Copied").wait_for()
    expected = model.info["segment_rules"]["segments"][str(segment.segment_id)]["sql"]
    assert page.evaluate("navigator.clipboard.readText()") == expected
    assert page.locator('[aria-labelledby="api-title"] [data-role="copy-status"]').text_content() == ""
    assert watch.errors == []
    context.close()
