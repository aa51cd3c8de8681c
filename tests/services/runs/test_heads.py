"""A run's first pages answered without reading it whole (heads file, file-order row groups) are the same pages."""

import random
import shutil
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.services.runs import browse, heads
from app.services.runs.browse import CustomerQuery, browse_customers, read_run
from app.services.runs.store import heads_path, remove_run_files, run_path, tidy

ROWS = 95


def _run_file(folder: Path, run_id: str) -> Path:
    """A run with ties and missing scores (nulls sort last, ties in file order) in row groups of 8 rows."""
    rng = random.Random(7)
    distance = [None if n % 13 == 0 else float(rng.randint(0, 9)) for n in range(ROWS)]
    confidence = [None if n % 11 == 0 else rng.choice([0.25, 0.5, 0.75]) for n in range(ROWS)]
    table = pa.table(
        {
            "CustomerID": [f"C{n}" for n in range(ROWS)],
            "segment_name": ["A" if n % 2 else "B" for n in range(ROWS)],
            "segment_id": [n % 2 for n in range(ROWS)],
            "distance": pa.array(distance, pa.float64()),
            "confidence": pa.array(confidence, pa.float64()),
            "is_atypical": [n % 5 == 0 for n in range(ROWS)],
            "out_of_range": [False] * ROWS,
        }
    )
    path = run_path(folder, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=8)
    return path


def _pages(path: Path, run_id: str, sort: str | None, limit: int, *, cold: bool) -> list[dict]:
    pages, cursor = [], None
    while True:
        if cold:
            browse._tables.clear()
        page = browse_customers(path=path, run_id=run_id, query=CustomerQuery(sort=sort, cursor=cursor, limit=limit))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("sort", [None, "distance", "-distance", "confidence", "-confidence", "CustomerID"])
@pytest.mark.parametrize("limit", [1, 7, 40, 200])
def test_pages_answered_without_the_whole_run_are_the_pages_of_the_full_read(tmp_path, monkeypatch, sort, limit):
    monkeypatch.setattr(heads, "HEAD_ROWS", 30)
    full = _run_file(tmp_path / "full", "a" * 32)
    quick = tmp_path / "quick" / "runs" / full.name
    quick.parent.mkdir(parents=True)
    shutil.copy(full, quick)
    heads.write_heads(quick, rows=30)
    read_run(full)  # held: the full path answers
    expected = _pages(full, "r", sort, limit, cold=False)
    got = _pages(quick, "r", sort, limit, cold=True)
    assert got == expected
    ids = [item["CustomerID"] for page in got for item in page["items"]]
    assert sorted(ids) == sorted(f"C{n}" for n in range(ROWS))  # each customer once, none skipped


def test_a_quick_page_reads_no_whole_run_and_without_heads_the_full_read_answers(tmp_path):
    path = _run_file(tmp_path, "b" * 32)
    browse._tables.clear()
    browse_customers(path=path, run_id="r", query=CustomerQuery(limit=5))
    assert not browse._tables  # file order: only the first row group was read
    page = browse_customers(path=path, run_id="r", query=CustomerQuery(sort="-distance", limit=5))
    assert browse._tables  # no heads file yet: read whole
    browse._tables.clear()
    heads.write_heads(path)
    assert browse_customers(path=path, run_id="r", query=CustomerQuery(sort="-distance", limit=5)) == page
    assert not browse._tables


def test_heads_files_go_with_their_runs(tmp_path):
    kept, orphan = _run_file(tmp_path, "c" * 32), _run_file(tmp_path, "d" * 32)
    for path in (kept, orphan):
        heads.write_heads(path)
    remove_run_files(tmp_path, "c" * 32)
    assert not kept.exists() and not heads_path(kept).exists()
    orphan.unlink()
    tidy(tmp_path, known=set())
    assert not heads_path(orphan).exists()
