"""The browser fixture lets the tests after it run their own event loops."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow  # it runs a browser test in a pytest of its own


def test_a_test_after_a_browser_module_can_run_its_own_event_loop():
    # A browser test, then one that calls asyncio.run: in this order in one session, as any selection may put them.
    tests = [
        "tests/web/test_long_names_browser.py",
        "tests/core/test_middleware.py::test_a_crash_before_the_answer_becomes_a_logged_500_in_the_error_shape",
    ]
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:]
    assert "2 passed" in run.stdout
