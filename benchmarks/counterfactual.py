"""Counterfactual speed: one customer in process on the largest model the issue names (k = 10, 8 features), against
scipy's SLSQP on the same problem, and a 2-feature CSV scored with a target segment, against the same file without.
"""

import time
from pathlib import Path
from typing import Any

import numpy as np
from scipy.optimize import minimize

from app.models.counterfactual import counterfactual, model_space, standardize
from app.models.features import Feature
from app.models.synthetic import write_customers
from app.models.training import train
from app.models.versions.store import load_model
from app.services.scoring.files import score_file
from app.services.scoring.options import ScoreOptions

CUSTOMERS = {"full": 2_000, "quick": 500, "dry-run": 20}
SLSQP_CUSTOMERS = {"full": 200, "quick": 50, "dry-run": 5}
CSV_ROWS = {"full": 1_000_000, "quick": 300_000, "dry-run": 2_000}
FEATURES = 8
K = 10


def _wide_model(workdir: Path):
    """A 10-segment model over 8 features (two of them log1p), trained on planted groups."""
    rng = np.random.default_rng(0)
    centres = rng.uniform(10, 100, (K, FEATURES))
    rows = np.abs(np.repeat(centres, 100, axis=0) + rng.normal(0, 6, (K * 100, FEATURES)))
    names = [f"f{i}" for i in range(FEATURES)]
    path = workdir / "wide.csv"
    lines = [",".join(names)] + [",".join(f"{v:.3f}" for v in row) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    specs = [
        Feature.from_dict({"name": n, "column": n, "label": n, "min": 0, "max": 500, "transform": t})
        for n, t in zip(names, ["log1p", "log1p"] + ["none"] * (FEATURES - 2), strict=True)
    ]
    result = train(path, output_dir=workdir / "wide-models", specs=specs, k=K, sweep=False)
    return load_model(workdir / "wide-models" / result.model.version), rows


def _slsqp(model, x0: np.ndarray, target: int) -> None:
    """What a user would write: scipy's general minimiser on the same cell, box and objective."""
    space = model_space(model)
    A, b = space.cell(target)
    z0 = standardize(model, x0)
    minimize(
        lambda z: ((z - z0) ** 2).sum(),
        z0,
        jac=lambda z: 2 * (z - z0),
        method="SLSQP",
        bounds=list(zip(space.low, space.high, strict=True)),
        constraints=[{"type": "ineq", "fun": lambda z: b - A @ z, "jac": lambda z: -A}],
    )


def bench_counterfactual(mode: str, workdir: Path) -> list[dict[str, Any]]:
    """Per-customer latency (k = 10, 8 features) and 2-feature CSV throughput, as Figure fields."""
    model, rows = _wide_model(workdir)
    rng = np.random.default_rng(1)
    picks = rows[rng.integers(0, len(rows), CUSTOMERS[mode])]
    targets = rng.integers(0, K, len(picks))
    few = SLSQP_CUSTOMERS[mode]
    ours, slsqp = float("inf"), float("inf")
    for _ in range(3):  # in turns, the best of three: a shared machine's slow spells hit both
        started = time.perf_counter()
        for x, t in zip(picks, targets.tolist(), strict=True):
            counterfactual(model, x, t)
        ours = min(ours, (time.perf_counter() - started) / len(picks))
        started = time.perf_counter()
        for x, t in zip(picks[:few], targets[:few].tolist(), strict=True):
            _slsqp(model, x, t)
        slsqp = min(slsqp, (time.perf_counter() - started) / few)

    csv_rows = CSV_ROWS[mode]
    data = write_customers(workdir / "cf-default.csv")
    default_dir = workdir / "cf-default-models"
    default = train(data, output_dir=default_dir, sweep=False).model
    source = write_customers(workdir / "cf-score-in.csv", rows=csv_rows)
    out = workdir / "cf-score-out.csv"
    timings = {}
    for name, options in (("plain", ScoreOptions()), ("target", ScoreOptions(target_segment="VIP / Whale"))):
        best = float("inf")
        for _ in range(2):
            started = time.perf_counter()
            score_file(default, source, options=options, target=out, spool_rows=0)
            best = min(best, time.perf_counter() - started)
        timings[name] = best
    rate, plain_rate = csv_rows / timings["target"], csv_rows / timings["plain"]
    return [
        {
            "name": f"counterfactual, one customer in process (k = {K}, {FEATURES} features)",
            "unit": "ms",
            "project": ours * 1e3,
            "baseline": slsqp * 1e3,
            "ratio": slsqp / ours,
            "goal": "<= 5 ms",
            "met": ours <= 0.005,
            "note": "exact (LDP through NNLS); baseline: scipy.optimize.minimize(method='SLSQP') on the same problem",
        },
        {
            "name": f"CSV scoring with target_segment, {csv_rows:,}-row 2-feature file, in process",
            "unit": "customers/s",
            "project": rate,
            "baseline": plain_rate,
            "ratio": rate / plain_rate,
            "goal": ">= 100,000 customers/s",
            "met": rate >= 100_000,
            "note": "baseline: the same file scored without a target (change_* and reachable columns not added)",
        },
    ]
