"""`python -m app.cli train [--segmentation NAME] [--data PATH] [--k 5|auto] ...`: train a new version from a CSV.

`--engine dask` trains on a Dask cluster from a CSV or Parquet file of any size (`--scheduler tcp://...`, else a
local cluster of `--workers` processes).

Each run stores a new version under the models folder (--model-dir); it becomes active when none is, or with
--activate. `python train_model.py` runs this command.
"""

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.shared import TrainingBar, catalog, disk_full_names, reason_text, show_progress
from app.core.config import get_settings
from app.core.errors import InvalidRequest
from app.models.clustering import DEFAULT_K, DEFAULT_SEED, MAX_SEED, parse_k
from app.models.features import DEFAULT_FEATURES, FEATURES
from app.models.rfm.left_out import left_out_notes
from app.models.segmentations.spec import DEFAULT_NAME as DEFAULT_SEGMENTATION
from app.models.small_segments import small_segment_notes
from app.services.training.engine import DEFAULT_WORKERS, ENGINES, engine_options

if TYPE_CHECKING:
    from app.models.training import KChoice, TrainingResult


def _k(value: str) -> "KChoice":
    try:
        return parse_k(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{exc}, got {value!r}") from None


def _seed(value: str) -> int:
    """A seed within the API's bounds: scikit-learn would refuse a negative one only once the data is read."""
    try:
        seed = int(value)
    except ValueError:
        seed = -1
    if not 0 <= seed <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"must be a whole number from 0 to {MAX_SEED}, got {value!r}")
    return seed


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `train` command."""
    parser = subparsers.add_parser(
        "train",
        help="train a new model version from a customer CSV",
        description="Train the KMeans customer segmentation model into a new version. Exit 0 on success, 2 for "
        "bad input, 1 for anything else.",
    )
    # Paths default to the settings, read when the command runs: building the parser reads no settings.
    parser.add_argument(
        "--data", type=Path, default=None, help="customer CSV, or Parquet with --engine dask (default: DATA_PATH)"
    )
    parser.add_argument(
        "--engine",
        choices=ENGINES,
        default="local",
        help="train here with the file in memory, or on Dask for files of any size (default: %(default)s)",
    )
    parser.add_argument("--scheduler", help="Dask scheduler address, with --engine dask (default: a local cluster)")
    parser.add_argument(
        "--workers",
        type=int,
        default=DEFAULT_WORKERS,
        help="workers of the local Dask cluster, with --engine dask (default: %(default)s)",
    )
    parser.add_argument("--k", type=_k, default=DEFAULT_K, help="number of segments, or 'auto' (default: %(default)s)")
    parser.add_argument(
        "--segmentation",
        default=DEFAULT_SEGMENTATION,
        help="segmentation to train (default: %(default)s); others train their spec's features into their folder",
    )
    parser.add_argument(
        "--features",
        nargs="+",
        choices=sorted(FEATURES),
        default=None,
        help=f"columns to cluster on, for the default segmentation (default: {' '.join(DEFAULT_FEATURES)})",
    )
    parser.add_argument(
        "--sweep",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="also fit k = 2..10 for the k chart on /about; --k auto always sweeps (default: sweep)",
    )
    parser.add_argument(
        "--seed", type=_seed, default=DEFAULT_SEED, help=f"random seed, 0 to {MAX_SEED} (default: %(default)s)"
    )
    # --model-dir as every other command spells it; --output-dir, its first name, still works for existing scripts.
    parser.add_argument(
        "--model-dir",
        "--output-dir",
        dest="model_dir",
        type=Path,
        default=None,
        help="models folder (default: MODEL_DIR): default's versions at its top, others' under segmentations/NAME/; "
        "--output-dir is its older name",
    )
    parser.add_argument(
        "--activate", action="store_true", help="make the new version the active one (it is anyway when none is active)"
    )
    parser.add_argument("--reason", default="", type=reason_text, help="why, for the activation history")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--processed-dir", type=Path, default=None, help="folder for the cleaned CSV (default: PROCESSED_DIR)"
    )
    parser.set_defaults(handler=run)


def summary(result: "TrainingResult") -> str:
    """A plain-text table of the segments and metrics."""
    model, info = result.model, result.model.info
    units = [info["feature_labels"][f] for f in model.features]
    # As wide as the longest name: a generated one ("Low Income · Low Visits · Low Tenure (2)") passes 34.
    width = max([34, *(len(segment.name) for segment in model.segments)])
    header = f"{'id':>3}  {'segment':<{width}} {'size':>8} {'share':>6}  " + "  ".join(f"{u:>22}" for u in units)
    lines = [
        f"Trained {info['algorithm']} with k={model.n_clusters} on {info['n_samples']} customers "
        + (f"on Dask in {info['n_iter']} passes " if info.get("engine") == "dask" else "")
        + f"(version {model.version}).",
    ]
    dropped = info.get("dropped_rows") or {}
    if dropped:
        lines.append("Dropped rows: " + "; ".join(f"{count} {reason}" for reason, count in dropped.items()))
    lines += [f"Warning: {note}" for note in left_out_notes(info) + small_segment_notes(model.segments)]
    lines += ["", header, "-" * len(header)]
    for segment in model.segments:
        centroid = "  ".join(f"{segment.centroid[f]:>22.1f}" for f in model.features)
        lines.append(
            f"{segment.segment_id:>3}  {segment.name:<{width}} {segment.size:>8} {segment.share:>6.1%}  {centroid}"
        )
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
    # Imported here: pandas and scikit-learn load only when training, not for every other command.
    from app.models.segmentations.training import train_segmentation

    if args.engine != "dask" and (args.scheduler or args.workers != DEFAULT_WORKERS):
        raise InvalidRequest("--scheduler and --workers need --engine dask")
    if args.workers < 1:
        raise InvalidRequest(f"--workers must be at least 1, got {args.workers}")
    settings = get_settings()
    root = args.model_dir or settings.model_dir
    spec = catalog(root, creating=True).get(args.segmentation)
    options = {}
    if spec.name == DEFAULT_SEGMENTATION:
        options = {
            "features": args.features or list(DEFAULT_FEATURES),
            "processed_dir": args.processed_dir or settings.processed_dir,
        }
    else:
        if args.features:
            raise InvalidRequest(f"--features is for the default segmentation; {spec.name} trains its spec's features")
        if args.data is None:
            raise InvalidRequest(f"train --segmentation {spec.name} needs --data FILE: DATA_PATH is the default's data")
        # The cleaned CSV only where asked: PROCESSED_DIR holds the default segmentation's.
        options = {"processed_dir": args.processed_dir} if args.processed_dir else {}
    bar = TrainingBar(enabled=show_progress(args.quiet))
    try:
        places = [("the models folder", Path(root))]
        if options.get("processed_dir"):
            places.insert(0, ("the cleaned CSV's folder", Path(options["processed_dir"])))
        with (
            disk_full_names(*places),
            engine_options(args.engine, scheduler=args.scheduler, n_workers=args.workers) as engine,
        ):
            result = train_segmentation(
                spec,
                args.data or settings.data_path,
                models_root=root,
                k=args.k,
                seed=args.seed,
                sweep=args.sweep,
                activate=args.activate,
                signing_key=settings.signing_key,
                reason=args.reason or "trained from the CLI",
                progress=bar,
                **options,
                **engine,
            )
    finally:
        bar.close()
    print(summary(result))
    return 0
