"""The sign-in timing benchmark runs and reports its figures (their values are the benchmark's, not asserted)."""

import json
import subprocess
import sys

from app.core.config import PROJECT_ROOT


def test_login_benchmark_reports_the_ratio(tmp_path):
    output = tmp_path / "login.json"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.login", "--rounds", "2", "--output", str(output)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(output.read_text())
    assert figures["rounds"] == 2
    assert figures["unknown_over_wrong_ratio"] == figures["unknown_email_median_s"] / figures["wrong_password_median_s"]
