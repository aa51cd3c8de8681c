"""The benchmark script runs end to end at tiny sizes, so it cannot rot. It asserts no timings."""

import json
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT

pytestmark = pytest.mark.slow


def test_benchmarks_dry_run_produces_every_figure(tmp_path):
    output = tmp_path / "latest.json"
    result = subprocess.run(
        [sys.executable, "benchmarks/run.py", "--dry-run", "--output", str(output)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(output.read_text())
    assert report["mode"] == "dry-run"
    names = [figure["name"] for figure in report["figures"]]
    for expected in (
        "single-row predict latency",
        "HTTP predict throughput, both logging each request",
        "HTTP predict, client accepts gzip: compression on",
        "HTTP batch of 10,000, client accepts gzip: compression on",
        "HTTP batch of 10,000 customers",
        "start-up to health 200",
        "model load (verify checksums + read parameters)",
        "imports (from main import app)",
        "CLI score against the I/O floor",
        "server RSS growth during that upload",
        "HTTP predict throughput during a training job",
        "HTTP predict p99 latency, prediction log on",
        "HTTP batch of 10,000, prediction log on",
        "HTTP predict, multiprocess metrics",
    ):
        assert expected in names
    for prefix in ("batch labels", "batch predict"):
        assert any(name.startswith(prefix) for name in names), prefix
    assert any(name.startswith("peak RSS") for name in names)
    assert any(name.startswith("train --k auto") for name in names)
    for prefix in ("CLI score,", "CLI score peak RSS", "HTTP /predict/csv", "counterfactual, one"):
        assert any(name.startswith(prefix) for name in names), prefix
    for prefix in (
        "over-time series (day buckets)",
        "drift evaluation (24 h window and report)",
        "RFM batch predict body against pandas",  # what a data scientist would write
        "RFM batch predict body,",  # against each customer built alone
    ):
        measured = [figure for figure in report["figures"] if figure["name"].startswith(prefix)]
        # Against the plain table's query, measured in the same run.
        assert measured and measured[0]["baseline"] > 0 and measured[0]["ratio"] > 0, prefix
    assert any(name.startswith("API training job on") for name in names)
    assert any(name.startswith("CSV scoring with target_segment") for name in names)
    for figure in report["figures"]:
        assert figure["project"] > 0, figure
        if figure["baseline"] is not None:
            assert figure["ratio"] is None or figure["ratio"] > 0
    assert "| figure | unit | project | baseline | ratio | goal | met |" in result.stdout
    assert report["machine"]["cores"] >= 1
