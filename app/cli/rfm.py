"""`python -m app.cli rfm build TRANSACTIONS OUT`: one row per customer (recency, frequency, monetary) from a
transactions CSV, written atomically, with a summary of what was read and dropped."""

import argparse
import json
import sys
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from app.cli.shared import without_pandas
from app.core.errors import InvalidRequest
from app.models.rfm.build import RfmResult, build_rfm
from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.models.segmentations.spec import RFM_ROLES, RfmOptions
from app.services.scoring.csv_render import CsvStyle
from app.services.scoring.formulas import guard_formulas
from app.services.scoring.rfm import write_customer_table, written_as
from app.utils.files import atomic_replace


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `rfm` command and its `build` sub-command."""
    parser = subparsers.add_parser(
        "rfm",
        help="build RFM customer tables from transactions",
        description="RFM (recency, frequency, monetary) from transactions. Exit 0 on success, 2 for bad input.",
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    build = actions.add_parser(
        "build",
        help="one row per customer from a transactions CSV",
        description="Read a transactions CSV (customer id, date, amount or quantity x unit price, optional order id; "
        "columns found from the header) and write one row per customer: customer_id, recency_days, frequency, "
        "monetary, first_purchase, last_purchase, returns, non_positive; written as the transactions file is (its "
        "delimiter, line ends and BOM, decimal commas in a ';' file).",
    )
    build.add_argument("transactions", type=Path, help="transactions CSV")
    build.add_argument("output", type=Path, help="customer table CSV to write")
    build.add_argument("--reference-date", type=_day, help="YYYY-MM-DD (default: the day after the last transaction)")
    build.add_argument(
        "--date-format", help="strptime format of the dates, such as '%%d/%%m/%%Y %%H:%%M' (default: inferred)"
    )
    build.add_argument(
        "--monetary", choices=("total", "average"), default="total", help="net total or average order value"
    )
    build.add_argument("--drop-non-positive", action="store_true", help="drop customers whose net spend is <= 0")
    build.add_argument(
        "--column",
        action="append",
        default=[],
        metavar="ROLE=HEADER",
        help=f"the header of a role, when detection misses it ({', '.join(RFM_ROLES)}); repeat for several",
    )
    build.add_argument("--engine", choices=("local", "dask"), default="local", help="build here, or on Dask")
    build.add_argument("--scheduler", help="Dask scheduler address (default: start a local cluster)")
    build.add_argument("--json", action="store_true", help="print the summary as JSON")
    build.add_argument("--quiet", action="store_true", help="no progress bar")
    build.set_defaults(handler=run)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a YYYY-MM-DD date: {text!r}") from None


def _options(args: argparse.Namespace) -> RfmOptions:
    columns = {}
    for item in args.column:
        role, sep, header = item.partition("=")
        if not sep or not header:
            raise InvalidRequest(f"--column takes ROLE=HEADER, got {item!r}")
        columns[role.strip()] = header.strip()
    return RfmOptions.from_dict(
        {
            "columns": columns,
            "monetary": args.monetary,
            "non_positive": "drop" if args.drop_non_positive else "flag",
            "date_format": args.date_format,
        }
    )


def run(args: argparse.Namespace) -> int:
    """Build the customer table, write it, print the summary."""
    if args.scheduler and args.engine != "dask":
        raise InvalidRequest("--scheduler needs --engine dask")
    options = _options(args)
    if args.engine == "dask":
        from app.services.rfm_dask import build_rfm_dask

        result = build_rfm_dask(
            args.transactions, options=options, reference_date=args.reference_date, scheduler=args.scheduler
        )
    else:
        from tqdm import tqdm

        with (
            without_pandas(),
            tqdm(unit="B", unit_scale=True, disable=args.quiet, file=sys.stderr, desc="reading transactions") as bar,
        ):

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            result = build_rfm(
                args.transactions, options=options, reference_date=args.reference_date, progress=progress
            )
    write_table(result.table, args.output, transactions=args.transactions, delimiter=result.summary["delimiter"])
    print(json.dumps(result.summary, indent=2) if args.json else render_summary(result, args.output))
    return 0


def write_table(table: pa.Table, output: Path, *, transactions: Path, delimiter: str) -> None:
    """The customer table as CSV, atomically, written as the transactions file is (`delimiter`: the one it was
    read with): its delimiter, line ends and BOM, decimal commas in a `;` file, as the labelled file of its
    scoring is; text a spreadsheet would run as a formula is made inert."""
    style = written_as(transactions, delimiter, formula_guard=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with atomic_replace(output) as sink:
        if style != CsvStyle(formula_guard=True):
            write_customer_table(table, style, sink)
            return
        # A plain comma file's table is written by Arrow's writer, as it always was (ids and header quoted):
        # scripts reading it keep working byte for byte.
        ids = table.column("customer_id").combine_chunks()
        table = table.set_column(0, "customer_id", guard_formulas(ids))
        pacsv.write_csv(table, sink, pacsv.WriteOptions(quoting_style="needed"))


def render_summary(result: RfmResult, output: Path) -> str:
    """The summary as a short text report."""
    s = result.summary
    lines = [
        f"{s['customers']:,} customers from {s['rows_read']:,} rows -> {output}",
        f"reference date {s['reference_date']}; dates read as {' or '.join(s['date_formats']) or '-'}; "
        f"frequency counts {s['frequency']}; monetary is the {s['monetary']}",
        f"  {s['rows_without_customer_id']:>10,}  rows without a customer id (dropped)",
        f"  {s['cancellation_rows']:>10,}  cancellation and return rows (netted, never orders)",
        f"  {s['unparseable_dates']:>10,}  rows with an unreadable date (dropped)",
        f"  {s['rows_without_amount']:>10,}  rows without an amount (dropped)",
    ]
    bad = (
        ("future_dates", "rows dated after tomorrow (dropped)"),
        ("amounts_not_numbers", f"rows with an amount that is not a number (dropped; {PLAIN_AMOUNTS})"),
        ("amounts_too_large", "rows with an amount beyond ±1e15 (dropped)"),
        ("malformed_rows", "rows with the wrong number of fields (dropped)"),
    )
    lines += [f"  {s[key]:>10,}  {text}" for key, text in bad if s.get(key)]
    if s["rows_after_reference_date"]:
        lines.append(f"  {s['rows_after_reference_date']:>10,}  rows after the reference date (left out)")
    lines.append(
        f"  {s['customers_non_positive']:>10,}  customers with net spend <= 0 "
        f"({'dropped' if s['non_positive'] == 'drop' else 'kept, flagged in non_positive'})"
    )
    if s["customers_without_purchases"]:
        lines.append(f"  {s['customers_without_purchases']:>10,}  customers with returns only (dropped)")
    if s["customers_without_usable_transactions"]:
        lines.append(f"  {s['customers_without_usable_transactions']:>10,}  customers without a usable row (left out)")
    columns = ", ".join(f"{role}={header}" for role, header in s["columns"].items())
    lines.append(f"columns: {columns}")
    return "\n".join(lines)
