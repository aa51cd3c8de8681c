"""Customer files whose header or rows end with the delimiter, as Excel saves them: read by training, locally and on
Dask, as if the lines did not end with it."""

import pytest

from app.core.errors import InvalidDataset
from app.models.columns_profile import profile_file
from app.models.dask_kmeans import summarise
from app.models.dask_source import open_dataset
from app.models.dask_training import train_dask
from app.models.dataset import clean_customers, load_customers
from app.models.features import FEATURES
from app.models.training import train
from app.utils.csv_head import row_names

SPECS = [FEATURES["annual_income"], FEATURES["spending_score"]]
HEADER = "id;Annual Income (k$);Spending Score (1-100)"
ROWS = [f"{i};{15 + i % 100};{1 + (i * 7) % 99}" for i in range(1, 121)]


def _write(tmp_path, header: str, rows: list[str]):
    path = tmp_path / "export.csv"
    path.write_bytes(("\ufeff" + "\r\n".join([header, *rows]) + "\r\n").encode())
    return path


def _local(path):
    return clean_customers(load_customers(path), features=[spec.name for spec in SPECS], min_rows=0)


# The header ends with the delimiter and the rows do not; the rows do and the header does not; both do.
LAYOUTS = {
    "header": (HEADER + ";", ROWS),
    "rows": (HEADER, [row + ";" for row in ROWS]),
    "both": (HEADER + ";", [row + ";" for row in ROWS]),
}


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_a_header_or_rows_ending_with_the_delimiter_train_as_the_same_file_without_it(
    dask_client, tmp_path, small_blocks, layout
):
    header, rows = LAYOUTS[layout]
    path = _write(tmp_path, header, rows)
    table = load_customers(path)
    assert list(table.frame.columns) == ["id", "annual_income", "spending_score"]
    local = _local(path)
    assert local.n_input_rows == len(local.frame) == 120 and local.dropped == {}

    reader, parts = open_dataset(path, SPECS)
    assert len(parts) > 3
    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)
    assert summary.dropped == {} and summary.n_input == summary.n_kept == 120
    expected = local.frame[[spec.name for spec in SPECS]].to_numpy()
    assert sorted(map(tuple, summary.X)) == sorted(map(tuple, expected))


def test_a_value_after_the_last_column_is_a_row_with_a_field_too_many_locally_and_on_dask(
    dask_client, tmp_path, small_blocks
):
    rows = [row + ";" for row in ROWS]
    rows[40] += "note"  # a value where every other row has an empty field
    rows[80] = rows[80].removesuffix(";")  # one row without the last delimiter: a field short
    path = _write(tmp_path, HEADER, rows)
    local = _local(path)
    assert local.dropped == {"wrong number of fields": 2} and len(local.frame) == 118
    assert load_customers(path).malformed.line == 42 and load_customers(path).malformed.fields == 4

    reader, parts = open_dataset(path, SPECS)
    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)
    assert summary.dropped == local.dropped and summary.n_kept == 118


def test_a_filled_last_column_is_refused_at_the_same_line_by_both_trainers(dask_client, tmp_path, small_blocks):
    # The first row leaves the last field empty; the others fill it: most rows then have a field too many.
    rows = [ROWS[0] + ";", *(row + ";x" for row in ROWS[1:])]
    path = _write(tmp_path, HEADER, rows)
    with pytest.raises(InvalidDataset) as local:
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)
    with pytest.raises(InvalidDataset) as dask:
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=2, sweep=False)
    assert dask.value.message == local.value.message
    assert "119 of the 120 rows" in local.value.message
    assert "line 3 has 4 fields where the header has 3" in local.value.message


def test_any_other_width_stays_a_row_without_the_headers_number_of_fields(tmp_path):
    # Two delimiters at the end of each row: not an empty last field, refused as before.
    path = _write(tmp_path, HEADER, [row + ";;" for row in ROWS])
    with pytest.raises(InvalidDataset, match="120 of the 120 rows do not have the header's number of fields"):
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)


@pytest.mark.parametrize(
    ("header", "first", "names"),
    [
        (["id", "a", ""], ["1", "2"], ["id", "a"]),
        (["id", "a", ""], None, ["id", "a"]),
        (["id", "a"], ["1", "2", " "], ["id", "a", "\x00unnamed last field"]),
        (["id", "a", ""], ["1", "2", ""], ["id", "a", "\x00unnamed last field"]),
        # A header that names the last field, or a row that fills it: the header as it is.
        (["id", "a", ""], ["1", "2", "x"], ["id", "a", ""]),
        (["id", "a"], ["1", "2", "x"], ["id", "a"]),
        (["id", "a"], ["1", "2", "", ""], ["id", "a"]),
        ([""], ["1"], [""]),
    ],
)
def test_row_names_drop_only_an_empty_last_field(header, first, names):
    assert row_names(header, first) == names


@pytest.mark.parametrize("layout", list(LAYOUTS))
def test_the_column_profile_of_a_new_segmentation_reads_them_as_training_does(tmp_path, layout):
    profile = profile_file(_write(tmp_path, *LAYOUTS[layout]))
    assert profile["header"] == ["id", "Annual Income (k$)", "Spending Score (1-100)"]
    assert profile["rows_read"] == 120 and profile["skipped_rows"] == {}
