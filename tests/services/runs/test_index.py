"""A run's index answers every page a cold worker is asked exactly as reading and sorting the run would, and goes
with its run; a missing, half-written or foreign index means the run is read as before."""

import os
import random
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.services.runs import browse, index, store, writers
from app.services.runs.browse import CustomerQuery, browse_customers, matching_tables

ROWS = 130
QUERIES = [
    {},
    {"sort": "distance"},
    {"sort": "-distance"},
    {"sort": "confidence", "segment": "A"},
    {"sort": "-confidence", "atypical": False},
    {"segment": "1", "out_of_range": True},
    {"sort": "Age"},
    {"sort": "-Age", "segment": "B", "atypical": True},
    {"sort": "Income"},
    {"sort": "-Income", "out_of_range": False},
    {"sort": "CustomerID"},
    {"sort": "-Gender", "segment": "A"},
    {"sort": "segment_id"},
    {"segment": "Nobody"},
    {"segment": "99", "sort": "-distance"},
]


@pytest.fixture(autouse=True)
def _no_child_left():
    """No index child outlives its test."""
    yield
    writers.stop_index_writers()


def _run_file(folder: Path, run_id: str) -> Path:
    """A run with ties, blanks and missing scores, text numbers ("1,5" in a decimal-comma file) and several row
    groups: ages of one and two digits sort differently as text and as numbers."""
    rng = random.Random(11)
    table = pa.table(
        {
            "CustomerID": [f"C{n}" for n in range(ROWS)],
            "Gender": [rng.choice(["Male", "Female", None]) for _ in range(ROWS)],
            "Age": [" " if n % 17 == 0 else str(rng.randint(5, 70)) for n in range(ROWS)],
            "Income": [f"{rng.randint(1, 99)},{rng.randint(0, 9)}" for _ in range(ROWS)],
            "segment_id": [n % 3 for n in range(ROWS)],
            "segment_name": [["A", "B", "C"][n % 3] for n in range(ROWS)],
            "confidence": pa.array([None if n % 11 == 0 else rng.choice([0.2, 0.5]) for n in range(ROWS)]),
            "distance": pa.array([None if n % 13 == 0 else float(rng.randint(0, 9)) for n in range(ROWS)]),
            "is_atypical": [n % 5 == 0 for n in range(ROWS)],
            "out_of_range": [n % 7 == 0 for n in range(ROWS)],
            "error": [""] * ROWS,
        }
    )
    path = store.run_path(folder, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, row_group_size=20)
    return path


@pytest.fixture(autouse=True)
def _cold(monkeypatch):
    """Small record batches, so a page spans many; and every test starts on a worker that read nothing."""
    monkeypatch.setattr(index, "BATCH_ROWS", 9)
    for held in (browse._tables, browse._indexes, index._open):
        held.clear()
    yield
    for held in (browse._tables, browse._indexes, index._open):
        held.clear()


def _pages(path: Path, query: dict, limit: int, *, cold: bool) -> list[dict]:
    pages, cursor = [], None
    while True:
        if cold:  # a fresh worker for every page: nothing held but the open index
            browse._tables.clear()
            browse._indexes.clear()
        page = browse_customers(path=path, run_id="r", query=CustomerQuery(**query, cursor=cursor, limit=limit))
        pages.append(page)
        cursor = page["next_cursor"]
        if cursor is None:
            return pages


@pytest.mark.parametrize("comma", [False, True])
@pytest.mark.parametrize("query", QUERIES)
def test_every_page_from_the_index_is_the_page_of_the_full_read(tmp_path, query, comma):
    path = _run_file(tmp_path, "a" * 32)
    expected = {limit: _pages(path, {**query, "decimal_comma": comma}, limit, cold=False) for limit in (1, 7, 50)}
    browse._tables.clear()
    browse._indexes.clear()
    index.write_index(path, decimal_comma=comma)
    assert index.open_index(path).equal("segment_name", "A") is not None  # filtered by the index's codes

    for limit, pages in expected.items():
        assert _pages(path, {**query, "decimal_comma": comma}, limit, cold=True) == pages
    assert not browse._tables  # answered from the index: the run was never read whole
    items = [item for page in expected[7] for item in page["items"]]
    assert len({item["CustomerID"] for item in items}) == len(items) == expected[7][0]["total"]


@pytest.mark.parametrize("query", [{"segment": "A"}, {"atypical": True, "sort": "-Age"}, {"segment": "Nobody"}])
def test_a_filtered_list_found_block_by_block_is_the_whole_list(tmp_path, monkeypatch, query):
    path = _run_file(tmp_path, "8" * 32)
    expected = _pages(path, query, 4, cold=False)
    browse._tables.clear()
    browse._indexes.clear()
    index.write_index(path, decimal_comma=False)
    monkeypatch.setattr(browse.FilteredOrder, "FIRST_BLOCK", 3)  # many blocks, each page asking for more
    assert _pages(path, query, 4, cold=False) == expected
    # A page far in, asked first (a cursor kept from an earlier visit): scanned up to it at once.
    browse._indexes.clear()
    _, order = browse.customer_index(path, "r", CustomerQuery(**query))
    assert isinstance(order, browse.FilteredOrder)
    items = [item for page in expected for item in page["items"]]
    far = [row["CustomerID"] for row in browse.take_rows(index.open_index(path).table, order[8:12]).to_pylist()]
    assert far == [item["CustomerID"] for item in items[8:12]]


def test_an_index_without_filter_codes_filters_the_mapped_rows_the_same(tmp_path, monkeypatch):
    path = _run_file(tmp_path, "9" * 32)
    query = {"segment": "B", "atypical": False, "sort": "-Age"}
    expected = _pages(path, query, 9, cold=False)
    browse._tables.clear()
    browse._indexes.clear()
    monkeypatch.setattr(index, "FILTER_COLUMNS", {})
    index.write_index(path, decimal_comma=False)
    assert index.open_index(path).equal("segment_name", "B") is None  # no codes: filtered from the mapped columns
    assert _pages(path, query, 9, cold=True) == expected
    assert not browse._tables


def test_an_index_written_for_the_other_number_reading_still_answers_right(tmp_path):
    path = _run_file(tmp_path, "b" * 32)
    expected = _pages(path, {"sort": "-Income", "decimal_comma": True}, 40, cold=False)
    browse._tables.clear()
    browse._indexes.clear()
    index.write_index(path, decimal_comma=False)  # its Income order is text order: not used for a comma reading
    assert _pages(path, {"sort": "-Income", "decimal_comma": True}, 40, cold=True) == expected
    assert not browse._tables


def test_the_export_from_the_index_is_the_export_of_the_full_read(tmp_path):
    path = _run_file(tmp_path, "c" * 32)
    query = CustomerQuery(segment="B", sort="-Age")
    names, chunks = matching_tables(path=path, run_id="r", query=query, chunk_rows=6)
    expected = pa.concat_tables(list(chunks)).to_pylist()
    browse._tables.clear()
    browse._indexes.clear()
    index.write_index(path, decimal_comma=False)
    got_names, chunks = matching_tables(path=path, run_id="r", query=query, chunk_rows=6)
    assert (got_names, pa.concat_tables(list(chunks)).to_pylist()) == (names, expected)
    assert not browse._tables


def test_unknown_sort_is_refused_from_the_index_too(tmp_path):
    path = _run_file(tmp_path, "d" * 32)
    index.write_index(path, decimal_comma=False)
    with pytest.raises(browse.InvalidRequest, match="Shoe size"):
        browse_customers(path=path, run_id="r", query=CustomerQuery(sort="Shoe size"))


def test_a_half_written_or_foreign_index_is_never_used(tmp_path):
    path = _run_file(tmp_path, "e" * 32)
    folder = index.write_index(path, decimal_comma=False)
    assert index.open_index(path) is not None

    # A server killed while writing leaves a temporary folder only: no index.
    half = folder.with_name(f".{folder.name}.999999999.1{store.PARTIAL_SUFFIX}")
    folder.rename(half)
    assert index.open_index(path) is None
    half.rename(folder)
    # An index that does not match its run file (the run written again under its name): not used.
    index._open.clear()
    os.utime(path, ns=(1, 1))
    assert index.open_index(path) is None
    browse_customers(path=path, run_id="r", query=CustomerQuery(sort="-distance", segment="A"))
    assert browse._tables  # read whole instead
    # A folder without its manifest: no index either.
    index.write_index(path, decimal_comma=False)
    assert index.open_index(path) is not None
    (folder / index.MANIFEST).unlink()
    assert index.open_index(path) is None


def test_an_index_goes_with_its_run_and_tidying_removes_what_was_left(tmp_path):
    kept, orphan = _run_file(tmp_path, "f" * 32), _run_file(tmp_path, "0" * 32)
    for path in (kept, orphan):
        index.write_index(path, decimal_comma=False)
    assert index.open_index(kept) is not None
    store.remove_run_files(tmp_path, "f" * 32)
    assert not store.index_path(kept).exists()
    assert index.open_index(kept) is None
    assert not [key for key in index._open if key[0] == str(store.index_path(kept))]  # its maps let go

    orphan.unlink()
    dead = store.index_path(orphan).with_name(f".{'1' * 32}.999999999.1{store.PARTIAL_SUFFIX}")
    dead.mkdir()
    live = store.index_path(orphan).with_name(f".{'2' * 32}.{os.getpid()}.1{store.PARTIAL_SUFFIX}")
    live.mkdir()
    store.tidy(tmp_path, known=set())
    assert not store.index_path(orphan).exists() and not dead.exists()
    assert live.exists()  # another thread of a live process is writing it


def test_an_index_written_after_its_run_was_deleted_is_removed(tmp_path, monkeypatch):
    path = _run_file(tmp_path, "3" * 32)
    batches = pq.ParquetFile.iter_batches

    def delete_meanwhile(self, *args, **kwargs):
        path.unlink()
        yield from batches(self, *args, **kwargs)

    monkeypatch.setattr(pq.ParquetFile, "iter_batches", delete_meanwhile)
    index.write_index(path, decimal_comma=False)
    assert not store.index_path(path).exists()


def test_indexes_count_in_the_results_store_and_never_cost_a_run(tmp_path):
    old, new = _run_file(tmp_path, "4" * 32), _run_file(tmp_path, "5" * 32)
    for path in (old, new):
        index.write_index(path, decimal_comma=False)
    runs = sum(size for _, size, _ in store.results_usage(tmp_path))
    sizes = {folder.name: size for _, size, folder in store.index_usage(tmp_path)}
    assert sizes.keys() == {old.stem, new.stem}
    assert sizes[old.stem] > old.stat().st_size  # counted, and larger than the run itself
    new_size = sizes[new.stem]

    # Room for the runs and one index: the other run's index goes, neither run does.
    index.fit_indexes(new, max_bytes=runs + new_size)
    assert [folder.name for _, _, folder in store.index_usage(tmp_path)] == [new.stem]
    assert old.exists() and new.exists()
    # No room for any index: its own goes too.
    index.fit_indexes(new, max_bytes=runs)
    assert store.index_usage(tmp_path) == [] and new.exists()


def test_small_runs_get_no_index_and_large_ones_get_heads_and_index(tmp_path, monkeypatch):
    small = _run_file(tmp_path, "6" * 32)
    index.write_indexes_later(small, decimal_comma=False, max_bytes=10**9).join(timeout=30)
    assert not store.index_path(small).exists()

    monkeypatch.setattr(index, "INDEX_FROM_ROWS", ROWS)
    index.write_indexes_later(small, decimal_comma=False, max_bytes=10**9).join(timeout=30)
    assert index.open_index(small) is not None and store.heads_path(small).exists()
