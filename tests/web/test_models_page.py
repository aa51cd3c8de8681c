"""The /models page: rendered on the server, and in Chromium with the active badge, compare heatmap, training, axe."""

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
from playwright.sync_api import expect

from app.models.synthetic import write_customers
from app.models.training import train
from app.models.versions.store import VersionStore
from tests.live_server import live_server
from tests.web.axe import axe_violations, describe
from tests.web.chart_text import CHART_TEXT
from tests.web.conftest import PageWatch

KEY = "page-admin-key-0123"
HTML = {"accept": "text/html"}
SPRING = "spring_2026_customers.csv"


def add_spring_version(root: Path, data_dir: Path) -> str:
    """Train an inactive k=6 version on other customers, from a file with another name; its version id."""
    spring = write_customers(data_dir / SPRING, rows=300, seed=5)
    return train(spring, output_dir=root, k=6, seed=3).model.version


@pytest.fixture
def two_files(model_dir, tmp_path) -> tuple[Path, str, str]:
    """A versions folder: the session model active (default data), and a version trained on another file."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    return root, VersionStore(root).active_version(), add_spring_version(root, tmp_path)


class Controls(HTMLParser):
    """Every form's attributes, and every input, select and textarea with the form (if any) that holds it."""

    def __init__(self) -> None:
        super().__init__()
        self.forms: list[dict[str, str | None]] = []
        self.controls: list[tuple[dict[str, str | None], dict[str, str | None] | None]] = []
        self._form: dict[str, str | None] | None = None

    def handle_starttag(self, tag, attrs):
        if tag == "form":
            self._form = dict(attrs)
            self.forms.append(self._form)
        elif tag in ("input", "select", "textarea"):
            self.controls.append((dict(attrs), self._form))

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None


def controls_of(html: str) -> Controls:
    parser = Controls()
    parser.feed(html)
    return parser


def row_of(html: str, version: str) -> str:
    """The versions table's row of one version."""
    return re.search(rf'<tr data-version="{re.escape(version)}".*?</tr>', html, re.S).group(0)


def test_no_form_can_carry_the_admin_key_and_training_posts(client_for, two_files):
    root, _, _ = two_files
    response = client_for(model_dir=root, admin_api_keys=[KEY]).get("/models", headers=HTML)
    assert response.status_code == 200
    page = controls_of(response.text)
    key_field, holder = next((attrs, form) for attrs, form in page.controls if attrs.get("id") == "admin-key")
    # Outside every form and without a name: no submission, GET or POST, ever includes it.
    assert holder is None and "name" not in key_field
    assert all("key" not in (attrs.get("name") or "") for attrs, _ in page.controls)
    train_form = next(form for form in page.forms if form.get("id") == "train-form")
    assert train_form["method"] == "post" and train_form["enctype"] == "multipart/form-data"


def test_the_admin_key_field_comes_before_every_action_that_needs_it(client_for, two_files):
    root, _, _ = two_files
    html = client_for(model_dir=root, admin_api_keys=[KEY]).get("/models", headers=HTML).text
    key_at = html.index('id="admin-key"')
    assert key_at < html.index('data-action="activate"') and key_at < html.index('id="train-form"')
    assert "models.js" in html


def test_the_page_says_up_front_that_admin_keys_are_off_and_offers_no_admin_action(client_for, two_files):
    root, _, _ = two_files
    response = client_for(model_dir=root, admin_api_keys=[]).get("/models", headers=HTML)
    assert response.status_code == 200
    html = response.text
    notice = re.search(r'<p class="notice notice-page" id="admin-off">(.*?)</p>', html, re.S)
    assert notice and "Admin actions are off" in notice.group(1) and "ADMIN_API_KEYS" in notice.group(1)
    assert html.index('id="admin-off"') < html.index('id="versions-title"')
    for absent in (
        'id="admin-key"',
        'data-action="activate"',
        'data-action="rollback"',
        'id="train-form"',
        "models.js",
    ):
        assert absent not in html
    assert 'data-role="train-off"' in html


def test_with_one_version_the_compare_form_says_there_is_nothing_to_compare_yet(client_for, model_dir):
    html = client_for(model_dir=model_dir).get("/models", headers=HTML).text
    assert 'data-role="nothing-to-compare"' in html and "There is one version so far" in html
    assert 'name="compare"' not in html  # no form comparing the version with itself


def test_compare_with_active_is_offered_on_other_rows_only(client_for, two_files):
    root, first, second = two_files
    html = client_for(model_dir=root, admin_api_keys=[KEY]).get("/models", headers=HTML).text
    assert "Compare with active" not in row_of(html, first) and 'data-action="activate"' not in row_of(html, first)
    assert "serving now" in row_of(html, first)
    assert "Compare with active" in row_of(html, second) and 'data-action="activate"' in row_of(html, second)
    assert 'name="compare"' in html and 'data-role="nothing-to-compare"' not in html


def test_each_version_shows_the_file_it_was_trained_on(client_for, two_files, default_data):
    root, first, second = two_files
    html = client_for(model_dir=root).get("/models", headers=HTML).text
    shown = re.compile(r'data-role="data-file">(.*?)</strong>')
    assert shown.search(row_of(html, second)).group(1).replace("<wbr>", "") == SPRING
    assert shown.search(row_of(html, first)).group(1).replace("<wbr>", "") == default_data.name
    # The compare form's choices tell the two apart by file and k before the long id.
    options = re.findall(r'<option value="[^"]+"[^>]*>([^<]*)</option>', html)
    assert f"{SPRING} · k=6 · {second}" in options and f"{default_data.name} · k=5 · {first} (active)" in options


def test_comparison_names_segments_and_says_better_or_worse_on_comparable_metrics_only(client_for, two_files):
    root, _, second = two_files
    response = client_for(model_dir=root).get("/models", params={"compare": second, "with": "active"}, headers=HTML)
    assert response.status_code == 200
    html = response.text
    svg = re.search(r'<svg class="chart heatmap".*?</svg>', html, re.S).group(0)
    labels = re.findall(r"<text[^>]*>([^<]+)</text>", svg)
    for name in ("Average", "Customer", "VIP / Whale", "Budget", "Conscious", "after →", "before ↓"):
        assert name in labels
    assert not any(label.startswith("new segment") or label.startswith("old") for label in labels)
    metrics = re.search(r'<ul class="metric-deltas".*?</ul>', html, re.S).group(0)
    verdicts = dict(re.findall(r'data-metric="(\w+)" data-verdict="(\w+)"', metrics))
    assert set(verdicts) == {"silhouette", "davies_bouldin"} and set(verdicts.values()) <= {"better", "worse"}
    assert "higher is better" in metrics and "lower is better" in metrics
    assert "calinski_harabasz -" not in html and "inertia +" not in html  # no raw deltas
    not_compared = re.search(r'id="metrics-not-compared">(.*?)</p>', html, re.S).group(1)
    assert "Calinski-Harabasz index" in not_compared and "Inertia" in not_compared
    assert "different data" in not_compared
    assert SPRING in html[html.index('id="migration-caption"') :][:2000].replace("<wbr>", "")


# -- In Chromium -----------------------------------------------------------------------------------------------------


@pytest.fixture
def models_server(model_dir, tmp_path) -> Iterator[tuple[str, str, str]]:
    """A server with an admin key and two versions: the first active, the second trained on another file."""
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    first = VersionStore(root).active_version()
    second = add_spring_version(root, tmp_path)
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url, first, second


@pytest.mark.slow
def test_models_page_lists_compares_trains_and_activates(browser, models_server, screenshots):
    url, first, second = models_server
    context = browser.new_context(viewport={"width": 375, "height": 800})
    page = context.new_page()
    watch = PageWatch(page, url)
    page.goto(f"{url}/models")
    rows = page.locator("#versions tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible()

    # Compare (a plain GET form: no JavaScript needed) draws the migration heatmap.
    page.select_option('select[name="compare"]', second)
    page.click(".compare-form button")
    heatmap = page.locator("#heatmap")
    expect(heatmap).to_be_visible()
    expect(heatmap.locator("g.cell")).to_have_count(5 * 6)
    assert heatmap.bounding_box()["width"] <= 375

    # Train on the bundled data with the admin key; progress is shown until the new version appears.
    page.fill("#admin-key", KEY)
    page.click("#train-form button")
    expect(page.locator("#train-progress")).to_be_visible()
    expect(page.locator("#train-status")).to_contain_text("Done: version", timeout=120_000)
    expect(rows).to_have_count(3, timeout=20_000)

    # Activate the k=6 version, confirming the dialog.
    page.fill("#admin-key", KEY)  # the reload cleared it: the key is never stored
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[data-action="activate"][data-version="{second}"]')
    expect(page.locator(f'tr[data-version="{second}"] [data-role="active-badge"]')).to_be_visible(timeout=20_000)

    # Now there is a version to go back to: the button names it, and rolls back to it.
    rollback = page.locator('button[data-action="rollback"]')
    expect(rollback).to_contain_text(first)
    page.fill("#admin-key", KEY)
    page.once("dialog", lambda dialog: dialog.accept())
    rollback.click()
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible(timeout=20_000)
    assert watch.errors == [] and watch.foreign_requests() == []
    context.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [375, 1280])
def test_every_versions_action_is_on_screen_and_rollback_only_when_possible(browser, models_server, width):
    url, _, second = models_server
    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{url}/models")
    links = page.locator(f'tr[data-version="{second}"] a.button')
    expect(links).to_have_count(3)  # compare, PDF report, HTML report
    for index in range(3):
        box = links.nth(index).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= width, box
    activate = page.locator(f'button[data-action="activate"][data-version="{second}"]').bounding_box()
    assert activate["x"] + activate["width"] <= width
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    # The first version has been active since the start: there is nothing before it.
    expect(page.locator('button[data-action="rollback"]')).to_have_count(0)
    expect(page.locator('[data-role="no-rollback"]')).to_contain_text("Nothing to roll back to")
    page.close()


@pytest.mark.slow
def test_activate_without_a_key_points_to_the_key_field_above(browser, models_server):
    url, _, second = models_server
    page = browser.new_page(viewport={"width": 375, "height": 700})
    page.goto(f"{url}/models")
    button = page.locator(f'button[data-action="activate"][data-version="{second}"]')
    button.click()
    expect(page.locator('[data-role="action-status"]')).to_contain_text("Admin key field at the top")
    expect(page.locator("#admin-key")).to_be_focused()
    key_box, button_box = page.locator("#admin-key").bounding_box(), button.bounding_box()
    assert key_box["y"] < button_box["y"]
    page.close()


@pytest.mark.slow
def test_models_page_refuses_a_wrong_key_in_words(browser, models_server):
    url, first, second = models_server
    page = browser.new_page()
    page.goto(f"{url}/models")
    page.fill("#admin-key", "wrong")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f'button[data-action="activate"][data-version="{second}"]')
    expect(page.locator('[data-role="action-status"]')).to_contain_text("does not hold an admin key")
    expect(page.locator(f'tr[data-version="{first}"] [data-role="active-badge"]')).to_be_visible()
    page.close()


@pytest.mark.slow
def test_without_javascript_training_posts_and_the_key_is_in_no_request(browser, models_server):
    url, _, _ = models_server
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    sent = []
    page.on("request", lambda request: sent.append((request.method, request.url, request.post_data or "")))
    page.goto(f"{url}/models")
    page.fill("#admin-key", KEY)
    page.fill('input[name="seed"]', "7")
    page.click("#train-form button[type=submit]")
    page.wait_for_load_state()
    assert [method for method, target, _ in sent if "/api/v1/models" in target] == ["POST"]
    assert all(KEY not in target and KEY not in body for _, target, body in sent), sent
    assert KEY not in page.url
    page.goto(f"{url}/models")
    expect(page.locator("#admin noscript .notice")).to_contain_text("need JavaScript")
    context.close()


HEATMAP_TEXT = """() => {
  const svg = document.querySelector('#heatmap');
  const frame = svg.getBoundingClientRect();
  return [...svg.querySelectorAll('text')].map(t => {
    const box = t.getBoundingClientRect();
    return {text: t.textContent, size: parseFloat(getComputedStyle(t).fontSize) * svg.getScreenCTM().a,
            inside: box.left >= frame.left - 1 && box.right <= frame.right + 1
                    && box.top >= frame.top - 1 && box.bottom <= frame.bottom + 1};
  });
}"""
# Every control a finger or pointer uses: its box, or the box of the label that holds it (a checkbox).
TARGETS = """() => [...document.querySelectorAll('main button, main select, main input, main a.button')]
  .filter(e => e.getBoundingClientRect().width > 0)
  .map(e => { const box = (e.type === 'checkbox' ? e.closest('label') : e).getBoundingClientRect();
              return [e.outerHTML.slice(0, 60), Math.round(box.width), Math.round(box.height)]; })"""


@pytest.mark.slow
@pytest.mark.parametrize("width", [1280, 375])
def test_models_page_is_legible_and_has_no_axe_violations(browser, models_server, screenshots, width):
    url, _, second = models_server
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    watch = PageWatch(page, url)
    page.goto(f"{url}/models?compare={second}&with=active")
    violations = axe_violations(page)
    assert violations == [], describe(violations)
    # The heatmap's text is drawn at its own size (no 30 px labels, none cut), every label inside the chart.
    texts = page.evaluate(HEATMAP_TEXT)
    assert {"after →", "before ↓", "VIP / Whale"} <= {t["text"] for t in texts}
    assert all(11 <= t["size"] <= 14 and t["inside"] for t in texts), texts
    chart = page.evaluate(CHART_TEXT)
    assert all(c["overlaps"] == [] for c in chart if c["chart"] == "heatmap"), chart
    # Nothing but the scrollable regions is wider than the screen, and each of them can take the focus to scroll.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    scrolling = page.evaluate(
        "[...document.querySelectorAll('main *')].filter(e => e.scrollWidth > e.clientWidth + 1"
        " && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX)).map(e => [e.className, e.tabIndex])"
    )
    assert all(tab_index == 0 for _, tab_index in scrolling), scrolling
    if width == 375:
        small = [target for target in page.evaluate(TARGETS) if target[2] < 44 or target[1] < 44]
        assert small == [], small
    # Checkboxes keep their square when their label wraps (a long one was squashed to a sliver at 375 px).
    boxes = page.evaluate(
        "[...document.querySelectorAll('main input[type=checkbox]')].filter(e => e.offsetParent)"
        ".map(e => { const b = e.getBoundingClientRect(); return [e.name, Math.round(b.width), Math.round(b.height)] })"
    )
    assert boxes and all(w == h >= 20 for _, w, h in boxes), boxes
    assert watch.errors == [] and watch.foreign_requests() == []
    page.screenshot(path=str(screenshots / f"models-{width}.png"), full_page=True)
    context.close()


@pytest.mark.slow
def test_models_page_without_admin_keys_says_so_first_and_passes_axe(browser, model_dir, tmp_path, screenshots):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    second = add_spring_version(root, tmp_path)
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": ""}
    with live_server(env, tmp_path / "server.log") as server:
        for width in (1280, 375):
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(f"{server.url}/models?compare={second}&with=active")
            notice = page.locator("#admin-off")
            expect(notice).to_contain_text("Admin actions are off")
            assert notice.bounding_box()["y"] < page.locator("#versions").bounding_box()["y"]
            assert notice.bounding_box()["y"] < 900  # on the first screen
            violations = axe_violations(page)
            assert violations == [], describe(violations)
            page.screenshot(path=str(screenshots / f"models-no-keys-{width}.png"), full_page=True)
            page.close()


@pytest.mark.slow
@pytest.mark.parametrize("width", [375, 1280])
def test_a_version_is_labelled_from_the_page(browser, models_server, screenshots, width):
    url, _, second = models_server
    page = browser.new_page(viewport={"width": width, "height": 900})
    watch = PageWatch(page, url)
    page.goto(f"{url}/models")
    page.fill("#admin-key", KEY)
    page.once("dialog", lambda dialog: dialog.accept(f"spring export {width}"))
    page.click(f'button[data-action="label"][data-version="{second}"]')
    label = page.locator(f'tr[data-version="{second}"] [data-role="label"]')
    expect(label).to_have_text(f"“spring export {width}”", timeout=20_000)
    expect(page.locator(f'button[data-action="label"][data-version="{second}"]')).to_have_text("Relabel")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=screenshots / f"models-labelled-{width}.png", full_page=True)
    assert axe_violations(page) == [], describe(axe_violations(page))
    assert watch.errors == []
    page.close()


def test_the_admin_pages_are_linked_from_models_and_answer(client_for, two_files):
    root, _, _ = two_files
    client = client_for(model_dir=root, admin_api_keys=[KEY])
    links = re.search(r'<p id="admin-links">.*?</p>', client.get("/models", headers=HTML).text, re.S).group(0)
    for path in re.findall(r'href="([^"]+)"', links):
        assert client.get(path, headers=HTML).status_code == 200, path
    assert set(re.findall(r'href="([^"]+)"', links)) == {"/webhooks", "/audit"}
