"""`python -m app.cli score INPUT OUTPUT`: label every customer of a CSV or Parquet file, locally or on Dask."""

import argparse
import re
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.shared import add_model_dir, catalog, disk_full_names, registry, show_progress, without_pandas
from app.core.errors import InvalidRequest, SegmentationError, UnknownSegment
from app.models.counterfactual import segment_position
from app.models.features import DEFAULT_FEATURES
from app.models.model import SegmentationModel
from app.services.dask_extra import require_dask
from app.services.scoring.files import is_customer_table, score_path
from app.services.scoring.options import DEFAULT_CHUNK_ROWS, ON_ERROR_POLICIES, ScoreOptions
from app.services.scoring.score_columns import EXTRA_COLUMNS
from app.services.scoring.summary import ScoreSummary

if TYPE_CHECKING:
    from app.services.scoring.rfm import Unusable

SHORT = {"annual_income": "income", "spending_score": "spending"}


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `score` command."""
    parser = subparsers.add_parser(
        "score",
        help="label every customer of a file with its segment",
        description="Score a customer file (.csv or .parquet, by extension) into a labelled file: every input "
        "column, then segment_id, segment_name, confidence, distance, is_atypical and out_of_range, the columns "
        "--extra-columns, --explain and --target-segment add (in that order), and error under --on-error flag. Exit "
        "0 on success, 2 for bad input, 1 for anything else.",
    )
    parser.add_argument("input", type=Path, help="customer file, .csv or .parquet (rfm: a transactions CSV)")
    parser.add_argument(
        "output", type=Path, help="labelled file, .csv or .parquet (--engine dask: Parquet is a folder of parts)"
    )
    parser.add_argument(
        "--segmentation", default="default", help="score with this segmentation's active model (default: %(default)s)"
    )
    add_model_dir(parser)
    parser.add_argument(
        "--model-version", help="score with this stored version instead of the active one (the API's ?model_version=)"
    )
    parser.add_argument("--on-error", choices=ON_ERROR_POLICIES, default="flag", help="what to do with bad rows")
    parser.add_argument(
        "--chunk-rows", type=int, default=DEFAULT_CHUNK_ROWS, help="rows per chunk (memory use follows it)"
    )
    parser.add_argument("--engine", choices=("local", "dask"), default="local", help="score here, or on Dask")
    parser.add_argument("--scheduler", help="Dask scheduler address (default: start a local cluster)")
    parser.add_argument("--delimiter", choices=(",", ";"), help="CSV delimiter (default: sniffed)")
    parser.add_argument("--income-column", help="column holding annual income (k$)")
    parser.add_argument("--spending-column", help="column holding the spending score")
    parser.add_argument(
        "--column",
        dest="feature_columns",
        action="append",
        default=[],
        metavar="FEATURE=COLUMN",
        help="the file's column for a feature of the segmentation, repeated for several: "
        "--column 'visits=Visits per month' (everything after the first = is the column)",
    )
    parser.add_argument("--id-column", help="column holding the customer id")
    parser.add_argument(
        "--extra-columns",
        type=_extra_columns,
        default=(),
        metavar="NAMES",
        help=f"more columns to append, comma-separated: {', '.join(EXTRA_COLUMNS)}",
    )
    parser.add_argument(
        "--explain",
        action="store_true",
        help="append why each customer is in their segment (the API's explain=true): for each feature "
        "typical_low_<feature> and typical_high_<feature> (the segment's p10-p90), position_<feature> (below, "
        "within or above), share_of_distance_<feature> and share_of_margin_<feature>, then confidence_text",
    )
    parser.add_argument(
        "--target-segment",
        metavar="SEGMENT",
        help="a segment (id or name) to move every customer into (the API's target_segment=): appends "
        "change_<feature> for each feature (the smallest signed change that makes the model put the customer "
        "there, 0 when already there, empty when out of reach) and reachable; a file may instead name each row's "
        "target in a target_segment column",
    )
    parser.add_argument(
        "--no-formula-guard",
        dest="formula_guard",
        action="store_false",
        help="write text cells that start with = + - @ as they are (for programs, not spreadsheets)",
    )
    parser.add_argument("--excel", action="store_true", help="start the CSV with a UTF-8 BOM, for Excel")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.set_defaults(handler=run)


def _extra_columns(value: str) -> tuple[str, ...]:
    """`--extra-columns a,b` as names (ScoreOptions refuses unknown ones in one line, as any bad input)."""
    return tuple(name.strip() for name in value.split(",") if name.strip())


def _feature_columns(values: list[str]) -> tuple[tuple[str, str], ...]:
    """`--column FEATURE=COLUMN` flags as (feature, column) pairs (a bad one: one line, exit 2, as any bad input)."""
    pairs = []
    for value in values:
        feature, equals, column = value.partition("=")  # a feature's name never holds `=`; a column may
        if not (equals and feature.strip() and column.strip()):
            raise InvalidRequest(f"--column takes FEATURE=COLUMN, such as 'visits=Visits per month', not {value!r}")
        pairs.append((feature.strip(), column.strip()))  # stripped as the header's names are
    return tuple(pairs)


def _model(args: argparse.Namespace) -> SegmentationModel:
    """The segmentation's active model, or the named version (not ready or unknown: a one-line error, exit 2)."""
    return registry(args.model_dir, args.segmentation).get(args.model_version)


# The scoring service names the API's parameters in its refusals (as the /score page rewords them for its form):
# here they name the command's own options. Whole phrases only, anchored where they can be: the same message quotes
# the file's column names, which may hold anything ("column=x" included) and must come through as written.
CLI_WORDS = (
    (re.compile(r"name them with income_column= and spending_column="),
     "name them with --income-column and --spending-column"),
    (re.compile(r"name the column of each with column=<feature>:<column>"),
     "name the column of each with --column FEATURE=COLUMN"),
    (re.compile(r"score with on_error=flag or on_error=skip"), "score with --on-error flag or --on-error skip"),
    (re.compile(r"^(income|spending)_column= names ('.*') and column= names ('.*') for ([a-z][a-z0-9_]*): give one "
                r"column for each feature$"),
     r"--\1-column names \2 and --column names \3 for \4: give one column for each feature"),
    (re.compile(r"^column= names "), "--column names "),
    (re.compile(r"^income_column and spending_column both name "), "--income-column and --spending-column both name "),
    (re.compile(r" that extra_columns= asks to add; rename them, or leave them out of extra_columns$"),
     " that --extra-columns asks to add; rename them, or leave them out of --extra-columns"),
    (re.compile(r" that explain=true adds; rename them, or score without explain$"),
     " that --explain adds; rename them, or score without --explain"),
    (re.compile(r"^(the file has a '.*' column) and target_segment= is given too: give the target as a parameter or "
                r"as a column, not both$"),
     r"\1 and --target-segment is given too: give the target as --target-segment or as a column, not both"),
)  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Score the file and print a one-screen summary; refusals advise the command's options, not the API's."""
    try:
        # An RFM file's customer table is written next to the output too: the same disk.
        with disk_full_names(("the labelled file", args.output)):
            return _run(args)
    except SegmentationError as exc:
        for api_words, cli_words in CLI_WORDS:
            exc.local_message = api_words.sub(cli_words, exc.local_message)
        raise


def _check_target(model: SegmentationModel, target: str) -> None:
    """Refuse a target segment the model does not have before any work (an RFM table built, a cluster started)."""
    try:
        segment_position(model, target)
    except UnknownSegment as exc:  # the API's 404: its own words, after the option that named it
        raise InvalidRequest(f"--target-segment: {exc.message}") from None


def _run(args: argparse.Namespace) -> int:
    if args.scheduler and args.engine != "dask":
        raise InvalidRequest("--scheduler needs --engine dask")
    if args.engine == "dask":
        require_dask()  # before an RFM file's customer table is built for it
    options = ScoreOptions(
        on_error=args.on_error,
        delimiter=args.delimiter,
        income_column=args.income_column,
        spending_column=args.spending_column,
        feature_columns=_feature_columns(args.feature_columns),
        id_column=args.id_column,
        chunk_rows=args.chunk_rows,
        formula_guard=args.formula_guard,
        excel=args.excel,
        extra_columns=args.extra_columns,
        target_segment=args.target_segment,
        explain=args.explain,
    )
    if args.segmentation != "default" and (args.income_column or args.spending_column):
        raise InvalidRequest("--income-column and --spending-column name the default segmentation's columns")
    spec = catalog(args.model_dir).get(args.segmentation)
    model = _model(args)
    if options.target_segment is not None:
        _check_target(model, options.target_segment)
    if spec.kind != "rfm" or (args.input.is_file() and is_customer_table(model, args.input)):
        return _score(args, model, options, args.input)
    from app.services.scoring.rfm import build_customers, refuse_feature_columns

    refuse_feature_columns(options)
    if not args.input.is_file():
        raise InvalidRequest(f"input file not found: {args.input}")
    if not args.output.parent.is_dir():
        raise InvalidRequest(f"output folder not found: {args.output.parent}")
    # An rfm segmentation reads transactions: one row per customer (recency, frequency, monetary) first, written
    # next to the output (it can be large) and removed after; bad lines as --on-error says.
    with tempfile.TemporaryDirectory(prefix=".rfm-", dir=args.output.parent) as work:
        table = Path(work) / f"{args.input.stem}_customers.csv"
        built = build_customers(args.input, table, options=spec.rfm, on_error=options.on_error)
        return _score(args, model, built.scoring(options), table, unusable=built.unusable)


def _score(
    args: argparse.Namespace,
    model: SegmentationModel,
    options: ScoreOptions,
    source: Path,
    *,
    unusable: "Unusable | None" = None,
) -> int:
    """Score `source` into the output with the chosen engine and print the summary; `unusable`: an RFM file's
    customers without a usable transaction."""
    quiet = not show_progress(args.quiet)
    if args.engine == "dask":
        from app.services.scoring.dask import score_path_dask

        summary = score_path_dask(
            model, source, args.output, options=options, scheduler=args.scheduler, show_progress=not quiet,
            unusable=unusable,
        )  # fmt: skip
    else:
        from tqdm import tqdm

        with (
            without_pandas(),
            tqdm(unit=" rows", unit_scale=True, disable=quiet, file=sys.stderr, desc="scoring") as bar,
        ):

            def progress(rows: int) -> None:
                bar.update(rows - bar.n)

            summary = score_path(model, source, args.output, options=options, progress=progress, unusable=unusable)
    print(render_summary(summary, args.output, model.features))
    return 0


def render_summary(summary: ScoreSummary, output: Path, features: Sequence[str] = DEFAULT_FEATURES) -> str:
    """The summary as a short text report."""
    data = summary.to_dict()
    lines = [
        f"scored {data['scored']:,} of {data['rows']:,} rows with model {data['model_version']} -> {output}",
        f"bad rows: {data['bad_rows']:,} ({data['flagged']:,} flagged, {data['skipped']:,} skipped)",
    ]
    lines += [f"  {count:>10,}  {reason}" for reason, count in data["errors"].items()]
    # The mean of each feature per segment; the default's two keep their short names.
    names = list(features)
    titles = "".join(f"{SHORT.get(name, name)[:14]:>15}" for name in names)
    # Descriptive names of three or more features run long: the column fits the longest.
    width = max([28, *(len(segment["segment_name"]) + 2 for segment in data["segments"])])
    lines.append(f"{'segment':<{width}}{'customers':>12}{'share':>8}{titles}")
    for segment in data["segments"]:
        means = [segment["profile"].get(name, {}).get("mean") for name in names]
        lines.append(
            f"{segment['segment_name']:<{width}}{segment['count']:>12,}{segment['share']:>8.1%}"
            + "".join(f"{'' if mean is None else f'{mean:.1f}':>15}" for mean in means)
        )
    return "\n".join(lines)
