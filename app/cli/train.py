"""`python -m app.cli train [--data PATH] [--k 5|auto] [--no-sweep] ...`: train a new version from a customer CSV.

Each run stores a new version under the output folder; it becomes active when none is, or with --activate.
`python train_model.py` runs this command.
"""

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.core.config import get_settings
from app.models.clustering import DEFAULT_K, DEFAULT_SEED, parse_k
from app.models.features import DEFAULT_FEATURES, FEATURES

if TYPE_CHECKING:
    from app.models.training import KChoice, TrainingResult


def _k(value: str) -> "KChoice":
    try:
        return parse_k(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {value!r}") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a new model version from a customer CSV",
        description="Train the KMeans customer segmentation model into a new version. Exit 0 on success, 2 for "
        "bad input, 1 for anything else.",
    )
    # Paths default to the settings, read when the command runs: building the parser reads no settings.
    parser.add_argument("--data", type=Path, default=None, help="customer CSV (default: DATA_PATH)")
    parser.add_argument("--k", type=_k, default=DEFAULT_K, help="number of segments, or 'auto' (default: %(default)s)")
    parser.add_argument(
        "--features", nargs="+", choices=sorted(FEATURES), default=list(DEFAULT_FEATURES), help="columns to cluster on"
    )
    parser.add_argument(
        "--sweep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fit k = 2..10 for the k chart on /about; --k auto always sweeps (default: sweep)",
    )
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="random seed (default: %(default)s)")
    parser.add_argument("--output-dir", type=Path, default=None, help="versions folder (default: MODEL_DIR)")
    parser.add_argument("--activate", action="store_true", help="make the new version the active one")
    parser.add_argument("--reason", default="", help="why, for the activation history")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--processed-dir", type=Path, default=None, help="folder for the cleaned CSV (default: PROCESSED_DIR)"
    )
    parser.set_defaults(handler=run)


def summary(result: "TrainingResult") -> str:
    """A plain-text table of the segments and metrics."""
    model, info = result.model, result.model.info
    units = [info["feature_labels"][f] for f in model.features]
    header = f"{'id':>3}  {'segment':<34} {'size':>8} {'share':>6}  " + "  ".join(f"{u:>22}" for u in units)
    lines = [
        f"Trained {info['algorithm']} with k={model.n_clusters} on {info['n_samples']} customers "
        f"(version {model.version}).",
    ]
    dropped = info.get("dropped_rows") or {}
    if dropped:
        lines.append("Dropped rows: " + "; ".join(f"{count} {reason}" for reason, count in dropped.items()))
    lines += ["", header, "-" * len(header)]
    for segment in model.segments:
        centroid = "  ".join(f"{segment.centroid[f]:>22.1f}" for f in model.features)
        lines.append(f"{segment.segment_id:>3}  {segment.name:<34} {segment.size:>8} {segment.share:>6.1%}  {centroid}")
    metrics = info["metrics"]
    lines += [
        "",
        f"silhouette {metrics['silhouette']:.4f}  davies_bouldin {metrics['davies_bouldin']:.4f}  "
        f"calinski_harabasz {metrics['calinski_harabasz']:.1f}  inertia {metrics['inertia']:.2f}",
        "k selection (silhouette): "
        + (
            "  ".join(f"{score['k']}:{score['silhouette']:.3f}" for score in info["k_selection"])
            if info["k_selection"]
            else "not swept (--no-sweep)"
        ),
        f"Version {model.version} written to {result.output_dir}"
        + (" and activated" if result.activated else " (not active: activate it with --activate or the API)"),
    ]
    if result.processed_path is not None:
        lines.append(f"Cleaned data written to {result.processed_path}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Train and print the summary; errors are left to the CLI's one handler."""
    # Imported here: pandas, scikit-learn and tqdm load only when training, not for every other command.
    from tqdm import tqdm

    from app.models.training import train

    settings = get_settings()
    bar = None

    def progress(event: dict) -> None:
        nonlocal bar
        if event["stage"] == "k_sweep":
            if bar is None:
                bar = tqdm(total=event["of"], desc="k sweep", unit="k", file=sys.stderr, disable=args.quiet)
            bar.set_postfix(k=event["k"])
            bar.update(1)

    try:
        result = train(
            args.data or settings.data_path,
            output_dir=args.output_dir or settings.model_dir,
            k=args.k,
            features=args.features,
            seed=args.seed,
            sweep=args.sweep,
            processed_dir=args.processed_dir or settings.processed_dir,
            activate=args.activate,
            signing_key=settings.signing_key,
            reason=args.reason or "trained from the CLI",
            progress=progress,
        )
    finally:
        if bar is not None:
            bar.close()
    print(summary(result))
    return 0
