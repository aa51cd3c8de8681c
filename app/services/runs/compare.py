"""Two runs compared by customer id: who moved segments, who is new and who was lost ("since last month")."""

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from app.db.tables import Run
from app.services.runs.errors import RunConflict
from app.services.runs.values import customer_ids

# Customers listed in a JSON answer; the CSV download has them all.
LISTED = 100
LISTS = ("moved", "new", "lost")


@dataclass(frozen=True)
class Side:
    """One run of a comparison: its row and its file."""

    run: Run
    path: Path


def _segment_order(run: Run) -> list[str]:
    return [segment["segment_name"] for segment in run.summary.get("segments", [])]


def _customers(side: Side) -> dict[str, str]:
    """Customer id to segment name, for the scored rows that have an id (a repeated id: its last row counts)."""
    column = side.run.customer_id_column
    table = pq.read_table(side.path, columns=[column, "segment_name"])
    ids = customer_ids(table[column])
    keep = pc.and_(pc.is_valid(table["segment_name"]), pc.not_equal(pc.fill_null(ids, ""), ""))
    ids, names = ids.filter(keep).to_pylist(), table["segment_name"].filter(keep).to_pylist()
    return dict(zip(ids, names, strict=True))


def check_comparable(a: Run, b: Run) -> None:
    """409 with the reason when two runs cannot be compared by customer id."""
    if a.segmentation != b.segmentation:
        raise RunConflict(
            f"runs {a.id} and {b.id} score different segmentations ({a.segmentation!r} and {b.segmentation!r}): "
            "compare two runs of one segmentation"
        )
    for run in (a, b):
        if not run.customer_id_column:
            raise RunConflict(
                f"run {run.id} ({run.file_name}) has no customer id column, so its customers cannot be matched: "
                "score a file with a customer id column (or name it with id_column=)"
            )


def in_time_order(first: Run, second: Run) -> tuple[Run, Run]:
    """The two runs, the earlier first: a page compares from the earlier file to the later, whichever was picked."""
    return (second, first) if second.created_at < first.created_at else (first, second)


def compare_runs(*, a: Side, b: Side, listed: int = LISTED) -> dict[str, Any]:
    """The migration from run `a` to run `b`: counts, the matrix in segment names, and who moved, came and went."""
    check_comparable(a.run, b.run)
    before, after = _customers(a), _customers(b)
    rows = _segment_order(a.run) + [name for name in set(before.values()) if name not in _segment_order(a.run)]
    columns = _segment_order(b.run) + [name for name in set(after.values()) if name not in _segment_order(b.run)]
    counts = {(row, column): 0 for row in rows for column in columns}
    moved, new, lost = [], [], []
    for customer, segment in before.items():
        now = after.get(customer)
        if now is None:
            lost.append({"customer_id": customer, "segment": segment})
            continue
        counts[segment, now] += 1
        if now != segment:
            moved.append({"customer_id": customer, "from": segment, "to": now})
    new = [{"customer_id": key, "segment": segment} for key, segment in after.items() if key not in before]
    return {
        "a": a.run.id,
        "b": b.run.id,
        "segmentation": a.run.segmentation,
        "matched": sum(counts.values()),
        "moved": len(moved),
        "new": len(new),
        "lost": len(lost),
        "matrix": {"from": rows, "to": columns, "counts": [[counts[row, col] for col in columns] for row in rows]},
        "moved_customers": moved[:listed],
        "new_customers": new[:listed],
        "lost_customers": lost[:listed],
        "all_lists": {"moved": moved, "new": new, "lost": lost},
    }


def list_table(comparison: dict[str, Any], which: str) -> tuple[list[str], pa.Table]:
    """One of the comparison's lists, whole, as a table for the CSV download."""
    items = comparison["all_lists"][which]
    names = ["customer_id", "from_segment", "to_segment"] if which == "moved" else ["customer_id", "segment"]
    keys = ["customer_id", "from", "to"] if which == "moved" else ["customer_id", "segment"]
    pairs = zip(names, keys, strict=True)
    columns = {name: pa.array([item[key] for item in items], pa.string()) for name, key in pairs}
    return names, pa.table(columns)


def comparison_out(comparison: dict[str, Any]) -> dict[str, Any]:
    """The comparison as JSON-ready data: the first customers of each list, not all of them."""
    return {key: value for key, value in comparison.items() if key != "all_lists"}
