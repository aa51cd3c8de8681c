"""Segment report benchmark: a 10-segment version's PDF report, against the PdfPages script a user would write.

The baseline draws the same charts a user would (segment sizes, then one figure per segment with its features' means
and its gender shares) with pyplot and saves them one page each through matplotlib's PdfPages: no tables, no text
layout, no migration. Both are timed warm, in this process, best of three (the first call of either loads
matplotlib); the cold figure is a fresh process that imports everything, builds the report and renders it once.
"""

import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from app.models.training import train
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.reports.version import version_report
from app.web.reports import render_report

SEGMENTS = 10
GOAL_SECONDS = 3.0

COLD = """
import sys, time
started = time.perf_counter()
from pathlib import Path
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.reports.version import version_report
from app.web.reports import render_report
registry = ModelRegistry(VersionStore(Path(sys.argv[1]))).load()
render_report(version_report(registry=registry, version="active", segmentation="default"), format="pdf")
print(time.perf_counter() - started)
"""


def _baseline(model, target: Path) -> None:
    """What a user would write: one pyplot figure per page, saved through PdfPages."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.backends.backend_pdf import PdfPages

    with PdfPages(target) as pdf:
        figure, axes = plt.subplots(figsize=(8.27, 11.69))
        axes.barh([s.name for s in model.segments], [s.size for s in model.segments])
        axes.set_title("Segment sizes")
        pdf.savefig(figure)
        plt.close(figure)
        for segment in model.segments:
            figure, (features, gender) = plt.subplots(2, 1, figsize=(8.27, 11.69))
            features.barh(list(segment.stats), [stats.mean for stats in segment.stats.values()])
            features.set_title(f"{segment.name}: {segment.description}")
            shares = (segment.profile or {}).get("gender") or {"unknown": 1.0}
            gender.pie(list(shares.values()), labels=list(shares))
            pdf.savefig(figure)
            plt.close(figure)


def _best(function, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return min(times)


def bench_report(mode: str, workdir: Path, data: Path) -> list[dict[str, Any]]:
    """The 10-segment report's PDF and HTML render times against the PdfPages baseline, as Figure fields."""
    root = workdir / "report-models"
    train(data, output_dir=root, k=SEGMENTS, sweep=False)
    registry = ModelRegistry(VersionStore(root)).load()
    model = registry.get()

    def build(format: str) -> bytes:
        report = version_report(registry=registry, version="active", segmentation="default")
        return render_report(report, format=format).body

    build("pdf")  # the first call loads matplotlib, reportlab and the fonts: that is the cold figure's part
    _baseline(model, workdir / "baseline.pdf")
    runs = 1 if mode == "dry-run" else 3
    pdf_s = _best(lambda: build("pdf"), runs)
    html_s = _best(lambda: build("html"), runs)
    baseline_s = _best(lambda: _baseline(model, workdir / "baseline.pdf"), runs)
    cold = subprocess.run(
        [sys.executable, "-c", COLD, str(root)],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[1],
    )
    cold_s = float(cold.stdout.strip().splitlines()[-1])
    return [
        {
            "name": f"segment report PDF, {SEGMENTS} segments",
            "unit": "s",
            "project": pdf_s,
            "baseline": baseline_s,
            "ratio": baseline_s / pdf_s,
            "goal": f"project <= {GOAL_SECONDS:g} s",
            "met": pdf_s <= GOAL_SECONDS,
            "note": "every chart, table and text, A4; baseline: pyplot figures through PdfPages",
        },
        {
            "name": f"segment report HTML, {SEGMENTS} segments",
            "unit": "s",
            "project": html_s,
            "baseline": baseline_s,
            "ratio": baseline_s / html_s,
            "goal": f"project <= {GOAL_SECONDS:g} s",
            "met": html_s <= GOAL_SECONDS,
            "note": "one self-contained file, the same charts",
        },
        {
            "name": f"segment report PDF, {SEGMENTS} segments, fresh process",
            "unit": "s",
            "project": cold_s,
            "baseline": None,
            "ratio": None,
            "goal": "",
            "met": None,
            "note": "imports matplotlib and reportlab, loads the fonts: a server's first report",
        },
    ]
