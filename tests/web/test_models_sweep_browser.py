"""The /models training form in Chromium: the "compare k" box decides whether a fixed-k version sweeps."""

import shutil

import pytest
from playwright.sync_api import expect

from app.models.versions.store import VersionStore
from tests.live_server import live_server

KEY = "sweep-admin-key-0123"


@pytest.mark.slow
@pytest.mark.parametrize("ticked", [False, True])
def test_train_form_sweeps_only_when_the_box_is_ticked(browser, model_dir, tmp_path, ticked):
    root = tmp_path / "models_artifacts"
    shutil.copytree(model_dir, root)
    before = set(VersionStore(root).versions())
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        page = browser.new_page()
        page.goto(f"{server.url}/models")
        page.fill("#admin-key", KEY)
        if ticked:
            page.check('#train-form input[name="sweep"]')
        page.click("#train-form button")
        expect(page.locator("#train-status")).to_contain_text("Done: version", timeout=120_000)
        page.close()
    [version] = set(VersionStore(root).versions()) - before
    info = VersionStore(root).load(version).info
    assert info["sweep"] is ticked and len(info["k_selection"]) == (9 if ticked else 0)
