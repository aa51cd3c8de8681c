"""Browser fixtures: the real app under uvicorn, driven by Playwright in Debian's headless Chromium."""

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from app.models.training import train
from tests.live_server import live_server
from tests.models.three_features import SPECS, write_customers
from tests.tools import unavailable

SCREENSHOTS = PROJECT_ROOT / "tests" / "artifacts"
# Without the background-networking switches Chromium tries to reach Google at start-up.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
]


def chromium_path() -> str | None:
    """Debian's Chromium (Playwright's own download cannot be reached here)."""
    for candidate in (os.environ.get("CHROMIUM_PATH"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).is_file():
            return candidate
    return None


# One per module, not per session: Playwright's sync API keeps an event loop running on the main thread until it
# stops, and any later test that runs its own loop (asyncio.run) would fail for as long as it stayed open.
@pytest.fixture(scope="module")
def browser():
    """A headless Chromium: the system's, else Playwright's own; missing in CI is a failure, never a skip."""
    from playwright.sync_api import Error, sync_playwright

    with sync_playwright() as playwright:
        try:
            # Without a system Chromium (Windows, macOS), use the one `playwright install` downloaded.
            browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
        except Error as exc:
            unavailable(
                f"no Chromium to drive ({str(exc).splitlines()[0]}): run `bash setup.sh test`, which installs it"
            )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def base_url(model_dir, tmp_path_factory) -> Iterator[str]:
    """The real app on a free local port, serving the session's model."""
    log = tmp_path_factory.mktemp("web-server") / "server.log"
    results = tmp_path_factory.mktemp("web-score-results")
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "SCORE_RESULTS_DIR": str(results)}
    with live_server(env, log) as server:
        yield server.url


@pytest.fixture(scope="session")
def three_feature_dir(tmp_path_factory) -> Path:
    """A models folder whose active version is trained on Income ($, log1p), Visits and Tenure (k=3)."""
    folder = tmp_path_factory.mktemp("three-features")
    output = folder / "models_artifacts"
    train(write_customers(folder / "customers.csv"), output_dir=output, specs=SPECS, k=3)
    return output


@pytest.fixture(scope="session")
def three_feature_url(three_feature_dir, tmp_path_factory) -> Iterator[str]:
    """The real app on a free local port, serving the 3-feature model."""
    log = tmp_path_factory.mktemp("three-feature-server") / "server.log"
    with live_server({"MODEL_DIR": str(three_feature_dir), "AUTO_TRAIN": "false"}, log) as server:
        yield server.url


@pytest.fixture
def fresh_server(model_dir, tmp_path):
    """The real app with its own empty prediction log."""
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}"}
    with live_server(env, tmp_path / "server.log") as server:
        yield server.url


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """The git-ignored folder for full-page screenshots."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


class PageWatch:
    """Collects console errors, page errors and every request a page makes."""

    def __init__(self, page, base_url: str) -> None:
        self.base_url = base_url
        self.errors: list[str] = []
        self.requests: list[str] = []
        page.on("console", lambda message: message.type == "error" and self.errors.append(message.text))
        page.on("pageerror", lambda error: self.errors.append(str(error)))
        page.on("request", lambda request: self.requests.append(request.url))

    def foreign_requests(self) -> list[str]:
        """Requests to any host but the test server."""
        local = (self.base_url, "data:", f"blob:{self.base_url}")  # ReDoc starts a worker from a same-origin blob
        return [url for url in self.requests if not url.startswith(local)]


# Rendered size in CSS pixels of every text in every chart: font size times the SVG's scale on screen.
CHART_TEXT_SIZES = """() => [...document.querySelectorAll('svg.chart text')].map(t => {
  const scale = t.ownerSVGElement.getScreenCTM().a;
  return [t.textContent.trim(), parseFloat(getComputedStyle(t).fontSize) * scale];
})"""


def small_chart_text(page, minimum: float = 11) -> list[tuple[str, float]]:
    """Chart texts drawn smaller than `minimum` CSS pixels on the page (asserting the page has chart text)."""
    sizes = page.evaluate(CHART_TEXT_SIZES)
    assert sizes, page.url
    return [(text, round(size, 1)) for text, size in sizes if size < minimum]


def move_sliders(page, income_steps: int, spending_steps: int) -> None:
    """Move the income and spending sliders right by so many steps each, with the keyboard."""
    for slider, steps in (("#annual_income-slider", income_steps), ("#spending_score-slider", spending_steps)):
        page.focus(slider)
        for _ in range(steps):
            page.keyboard.press("ArrowRight")


@pytest.fixture
def page(browser, base_url):
    """A fresh desktop page with a watch on its console and network."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.watch = PageWatch(page, base_url)
    yield page
    context.close()


@pytest.fixture(scope="session")
def segmentations_template(model_dir, tmp_path_factory) -> tuple[Path, Path, Path]:
    """A models folder with three more segmentations, trained once a session: `crm` (columns: Income, Visits,
    Tenure), `rfm` (from a transactions file) and `empty` (columns, no version yet); and the two files."""
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.segmentations.spec import SegmentationSpec
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_crm import write_crm
    from app.models.synthetic_transactions import write_transactions

    folder = tmp_path_factory.mktemp("segmentations")
    root = folder / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    crm = write_crm(folder / "crm.csv")
    transactions, _ = write_transactions(folder / "online_retail.csv", customers=300, seed=5)
    features = [{"name": n, "column": n.title(), "label": n.title()} for n in ("income", "visits", "tenure")]
    specs = {
        "crm": SegmentationSpec.from_dict({"name": "crm", "features": features}),
        "rfm": SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}),
        "empty": SegmentationSpec.from_dict({"name": "empty", "features": features}),
    }
    for spec in specs.values():
        catalog.create(spec)
    train_segmentation(catalog.get("crm"), crm, models_root=root, k=3, activate=True)
    train_segmentation(catalog.get("rfm"), transactions, models_root=root, k=4, activate=True)
    return root, crm, transactions


@pytest.fixture
def segmented(segmentations_template, client_for, tmp_path):
    """A client over a private copy of the segmentations folder (see segmentations_template)."""
    template = segmentations_template[0]
    root = tmp_path / "models_artifacts"
    shutil.copytree(template, root)
    return client_for(model_dir=root, jobs_dir=tmp_path / "jobs")
