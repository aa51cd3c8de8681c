"""What a new user meets in the first five minutes (issue 9), checked in Chromium at desktop and phone widths."""

import re

import httpx
import pytest
from playwright.sync_api import expect

from tests.live_server import live_server
from tests.web.conftest import PageWatch, move_sliders, small_chart_text

PHONE = {"viewport": {"width": 375, "height": 667}, "is_mobile": True, "has_touch": True}
NAME = '#result [data-field="segment_name"]'


@pytest.fixture
def phone(browser, base_url):
    """A 375 px touch page with a watch on its console and network."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.watch = PageWatch(page, base_url)
    yield page
    context.close()


def test_every_centroid_marker_is_drawn(page, base_url):
    page.goto(base_url + "/")
    markers = page.locator("#segment-map .centroids path[data-segment-id]")
    expect(markers).to_have_count(5)
    for index in range(5):
        box = markers.nth(index).bounding_box()
        assert box and box["width"] > 5 and box["height"] > 5, index
    # Markers are siblings, not nested in one another (the symptom of attributes rendered as text).
    assert page.locator("#segment-map .centroids path path").count() == 0
    swatch = page.locator('#result svg[data-field="swatch"]')
    expect(swatch).to_have_count(1)
    assert swatch.bounding_box()["width"] > 0
    assert "=&#34;" not in page.content() and "=&quot;" not in page.content()


def test_out_of_range_income_is_called_an_extrapolation_live(page, base_url):
    page.goto(base_url + "/")
    notice = page.locator('#result [data-field="out_of_range"]')
    expect(notice).to_be_hidden()
    page.fill("#annual_income-number", "5000")
    page.fill("#spending_score-number", "99")
    api = httpx.post(base_url + "/api/v1/predict", json={"annual_income": 5000, "spending_score": 99}).json()
    item = api["out_of_range"][0]
    expect(notice).to_be_visible()
    expect(notice).to_contain_text(
        f"Income 5,000 k$ is outside the incomes this model was trained on "
        f"({item['training_min']:g}–{item['training_max']:g} k$): treat the segment as an extrapolation."
    )
    expect(page.locator(NAME)).to_have_text(api["segment_name"])
    marker = page.locator("#customer-marker")
    expect(marker).to_have_class(
        re.compile(r"\bis-off-chart\b.*\bis-extrapolated\b|\bis-extrapolated\b.*\bis-off-chart\b")
    )
    arrow = marker.locator(".off-chart-arrow")
    expect(arrow).to_be_visible()
    # The ring is pinned to the plot's right edge and the arrow points right, off the chart.
    right = float(page.locator("#segment-map").get_attribute("data-right"))
    assert re.match(rf"translate\({right:g}(\.0+)? ", marker.get_attribute("transform"))
    assert arrow.get_attribute("transform") == "rotate(0)"
    expect(page.locator('[data-role="off-chart-note"]')).to_be_visible()
    # The slider and the box disagree on purpose, and the page says why.
    expect(page.locator("#annual_income-hint")).to_contain_text("The slider covers 0–150")
    assert page.locator("#annual_income-slider").input_value() == "150"
    # Back inside the training range: every sign of extrapolation goes away.
    page.fill("#annual_income-number", "60")
    expect(notice).to_be_hidden()
    expect(arrow).to_be_hidden()
    expect(marker).not_to_have_class(re.compile("is-extrapolated"))
    expect(page.locator('[data-role="off-chart-note"]')).to_be_hidden()
    assert page.watch.errors == []


def test_invalid_typing_marks_the_result_out_of_date_and_leaves_the_slider(page, base_url):
    page.goto(base_url + "/?annual_income=20&spending_score=80")
    expect(page.locator(NAME)).to_have_text("Young Trendsetter")
    card, stale = page.locator("#result"), page.locator('#result [data-role="stale"]')
    expect(stale).to_be_hidden()
    box, slider = page.locator("#spending_score-number"), page.locator("#spending_score-slider")
    box.fill("")
    box.press_sequentially("101", delay=60)
    expect(page.locator('[data-error-for="spending_score"]')).to_be_visible()
    expect(stale).to_be_visible()
    expect(card).to_have_class(re.compile(r"\bis-stale\b"))
    # Marked as stale by colour, an edge and the notice, yet as legible as any text: no fading.
    name_style = page.evaluate(
        "(() => { const s = getComputedStyle(document.querySelector('#result .result-name'));"
        " return [s.opacity, s.color]; })()"
    )
    assert name_style == ["1", "rgb(74, 85, 102)"]  # --muted, 7.5:1 on the card's white
    assert card.evaluate("el => getComputedStyle(el).outlineStyle") == "dashed"
    page.wait_for_timeout(700)  # longer than any debounce: nothing may have been segmented meanwhile
    assert slider.input_value() == "80"  # never followed the keystroke "10"
    expect(page.locator(NAME)).to_have_text("Young Trendsetter")
    # A valid value is segmented, and only then does the slider follow it.
    box.fill("15")
    expect(stale).to_be_hidden()
    expect(card).not_to_have_class(re.compile(r"\bis-stale\b"))
    expect(slider).to_have_value("15")
    expect(page.locator(NAME)).to_have_text("Budget Conscious")


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 375, "height": 667}])
def test_without_javascript_the_slider_the_user_moved_is_segmented(browser, base_url, viewport):
    context = browser.new_context(java_script_enabled=False, viewport=viewport)
    page = context.new_page()
    try:
        page.goto(base_url + "/")
        assert "as you go" not in page.locator(".lead").inner_text()
        expect(page.locator('[data-role="live-hint"]')).to_be_hidden()
        # Move the income slider to 120 with the keyboard (60 + 60 steps) and the spending slider to 90.
        move_sliders(page, 60, 40)
        assert page.locator("#annual_income-number").input_value() == "60"  # no script to copy it over
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"annual_income_slider=120"))
        expect(page.locator(NAME)).to_have_text("VIP / Whale")
        expect(page.locator("#annual_income-number")).to_have_value("120")
        expect(page.locator("#spending_score-number")).to_have_value("90")
        # Then typing in a box wins over the slider.
        page.fill("#annual_income-number", "20")
        page.click("button[type=submit]")
        page.wait_for_url(re.compile(r"[?&]annual_income=20&"))
        expect(page.locator(NAME)).to_have_text("Young Trendsetter")
        expect(page.locator("#annual_income-slider")).to_have_value("20")
    finally:
        context.close()


def test_with_javascript_the_intro_promises_live_updates(page, base_url):
    page.goto(base_url + "/")
    expect(page.locator('[data-role="live-hint"]')).to_be_visible()


def test_phone_charts_tables_and_navigation_are_readable(phone, base_url, screenshots):
    for path in ("/", "/about"):
        phone.goto(base_url + path)
        assert small_chart_text(phone) == [], path
        links = phone.locator(".nav-list a:visible")  # API docs moves to the footer on phones
        tops = set()
        for index in range(links.count()):
            box = links.nth(index).bounding_box()
            assert box["height"] >= 44 and box["width"] >= 44, (path, index, box)
            tops.add(round(box["y"]))
        assert len(tops) == 1, f"the navigation wraps onto {len(tops)} lines on {path}"
        assert phone.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
    # The statistics table fits the phone: stacked rows whose cells name their column.
    scroll = phone.locator(".table-scroll")
    assert scroll.evaluate("el => el.scrollWidth <= el.clientWidth + 1")
    first_share = phone.locator('#stats-table tbody tr >> nth=0 >> [data-col="share"]')
    label = first_share.evaluate("td => getComputedStyle(td, '::before').content")
    assert label == '"Share"'
    expect(first_share).to_be_visible()
    phone.screenshot(path=screenshots / "about-mobile.png", full_page=True)
    assert phone.watch.errors == [] and phone.watch.foreign_requests() == []


def test_desktop_chart_text_is_readable(page, base_url):
    for path in ("/", "/about"):
        page.goto(base_url + path)
        assert small_chart_text(page) == [], path


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_stay_on_this_server_with_a_way_back(page, base_url, path):
    # Every Content-Security-Policy violation, whether or not the browser also logs it to the console.
    page.add_init_script(
        "window.cspViolations = [];"
        "document.addEventListener('securitypolicyviolation',"
        " e => window.cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));"
    )
    page.goto(base_url + path)
    if path == "/redoc":
        expect(page.locator("text=API docs by Redocly")).to_be_visible()
        logo = page.locator('img[alt="redocly logo"]')
        expect(logo).to_be_visible()
        assert logo.evaluate("img => img.complete && img.naturalWidth > 0")
    else:
        expect(page.locator(".swagger-ui .title").first).to_contain_text("Customer Segmentation")
    page.wait_for_load_state("networkidle")
    assert page.watch.foreign_requests() == []
    assert page.evaluate("window.cspViolations") == []
    assert [error for error in page.watch.errors if "Content Security Policy" in error] == []
    assert page.watch.errors == []
    assert page.evaluate("document.documentElement.lang") == "en"
    back = page.get_by_role("link", name=re.compile("Back to Customer Segmentation"))
    expect(back).to_be_visible()
    back.click()
    page.wait_for_url(base_url + "/")


@pytest.fixture(scope="module")
def empty_server(tmp_path_factory):
    """The app with no model at all (and no training): what users see before anything is set up."""
    folder = tmp_path_factory.mktemp("no-model")
    with live_server(
        {"MODEL_DIR": str(folder / "models"), "AUTO_TRAIN": "false"}, folder / "server.log", ready_status=503
    ) as server:
        yield server.url, folder


@pytest.mark.parametrize("viewport", [{"width": 1280, "height": 900}, {"width": 375, "height": 667}])
def test_without_a_model_pages_say_so_plainly(browser, empty_server, viewport, screenshots):
    url, folder = empty_server
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        page.goto(url + "/")
        expect(page.locator("#outage")).to_be_visible()
        text = page.locator("main").inner_text()
        assert "slider" not in text.lower() and "train_model" not in text and str(folder) not in text
        response = page.goto(url + "/about")
        assert response.status == 503
        text = page.locator("main").inner_text()
        expect(page.locator("h1")).to_have_text("Segmentation is unavailable")
        assert "No segmentation model is loaded right now" in text
        assert str(folder) not in text and "train_model" not in text and "python" not in text
        # The footer ends the page: at the bottom of the window on this short page (or just below it on a phone,
        # where the header and footer wrap), never in the middle of it.
        footer = page.locator(".site-footer").bounding_box()
        page_height = page.evaluate("document.documentElement.scrollHeight")
        assert footer["y"] + footer["height"] == pytest.approx(max(viewport["height"], page_height), abs=1)
        if viewport["width"] == 375:
            page.screenshot(path=screenshots / "no-model-mobile.png", full_page=True)
    finally:
        context.close()
    # The details stay where operators look.
    reason = httpx.get(url + "/api/v1/health").json()["reason"]
    assert "train_model.py" in reason and str(folder) not in reason


def test_a_clear_vip_is_not_called_unusual_but_a_stray_customer_is(page, base_url):
    page.goto(base_url + "/?annual_income=120&spending_score=90")
    expect(page.locator(NAME)).to_have_text("VIP / Whale")
    atypical = page.locator('#result [data-field="is_atypical"]')
    expect(atypical).to_be_hidden()
    page.fill("#annual_income-number", "130")
    page.fill("#spending_score-number", "99")
    expect(page.locator('#result [data-field="confidence"]')).not_to_have_text("")
    page.wait_for_timeout(600)
    expect(page.locator(NAME)).to_have_text("VIP / Whale")
    expect(atypical).to_be_hidden()
    # A VIP who drifts back towards average spending is a doubtful VIP: the page says so, in plain words.
    page.fill("#spending_score-number", "60")
    page.fill("#annual_income-number", "87")
    expect(atypical).to_be_visible()
    expect(atypical).to_contain_text("Unusual for this segment")
    expect(atypical).to_contain_text("not in the direction the segment stands for")


def test_polish_k_chart_cards_and_footer(page, base_url, screenshots):
    page.goto(base_url + "/about")
    chart = page.locator("#k-chart")
    # The k = 2 point (and every other one) sits within the plot, below the top gridline.
    grid_top = min(line.bounding_box()["y"] for line in chart.locator(".grid line").all())
    for point in chart.locator(".series-inertia-point, .series-silhouette-point").all():
        box = point.bounding_box()
        assert box["y"] + box["height"] / 2 >= grid_top - 0.5
    # Five segment cards lay out as 3 + 2, not 4 + 1.
    rows = {}
    for card in page.locator(".segment-card").all():
        rows.setdefault(round(card.bounding_box()["y"]), []).append(card)
    assert sorted(len(cards) for cards in rows.values()) == [2, 3]
    page.screenshot(path=screenshots / "about-desktop.png", full_page=True)
    page.goto(base_url + "/no-such-page")
    footer = page.locator(".site-footer").bounding_box()
    assert footer["y"] + footer["height"] == pytest.approx(900, abs=1)
