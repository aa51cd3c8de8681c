"""Training on Dask: the local trainer's cleaning, partition by partition, and a normal signed version."""

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from app.core.errors import InvalidDataset
from app.models.dask_kmeans import summarise
from app.models.dask_source import open_dataset
from app.models.dask_training import train_dask
from app.models.dataset import clean_customers, load_customers
from app.models.features import FEATURES
from app.models.training import train
from app.models.versions.store import VersionStore
from tests.models.three_features import SPECS as THREE
from tests.models.three_features import write_customers

SPECS = [FEATURES["annual_income"], FEATURES["spending_score"]]
KEY = b"k" * 32


BAD_ROWS = [
    "CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)",
    *(f"{i},Female,{20 + i % 40},{15 + i % 100},{1 + (i * 7) % 99}" for i in range(1, 61)),
    "61,Male,30,,50",
    "62,male ,31,abc,50",
    "63,Male,32,nan,50",
    "64,Male,33,inf,50",
    "65,Male,34,-5,50",
    "66,Male,35,40,101",
    "67,Male,36,NA,50",
    ",Male,37,40,50",
    "68,Male,38, 41 ,null",
    "69,  female,x,42,-inf",
    *(f"{i},Male,{30 + i % 30},{40 + i % 50},{1 + (i * 3) % 99}" for i in range(70, 130)),
]


def _local(path):
    return clean_customers(load_customers(path), features=[spec.name for spec in SPECS], min_rows=0)


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_csv_partitions_drop_the_rows_the_local_trainer_drops(dask_client, tmp_path, small_blocks, delimiter):
    lines = BAD_ROWS if delimiter == "," else [line.replace(",", ";") for line in BAD_ROWS]
    if delimiter == ";":
        lines.append("200;Female;40;55,5;12,25")  # decimal commas, as the local trainer reads them in ';' files
    path = tmp_path / "customers.csv"
    path.write_text("\ufeff" + "\r\n".join(lines) + "\r\n", encoding="utf-8")
    reader, parts = open_dataset(path, SPECS)
    assert len(parts) > 3

    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)

    local = _local(path)
    assert summary.dropped == local.dropped and len(local.dropped) >= 7
    assert summary.n_input == local.n_input_rows and summary.n_kept == len(local.frame)
    expected = local.frame[[spec.name for spec in SPECS]].to_numpy()
    assert sorted(map(tuple, summary.X)) == sorted(map(tuple, expected))
    ages = np.sort(summary.demographics["age"][np.isfinite(summary.demographics["age"])])
    assert ages.tolist() == sorted(float(age) for age in local.frame["age"] if age.strip().isdigit())
    assert set(summary.demographics["gender"]) == {"Female", "Male"}


def test_parquet_nulls_nans_text_and_ranges_are_dropped_by_reason(dask_client, tmp_path):
    path = tmp_path / "customers.parquet"
    table = pa.table(
        {
            "customer_id": pa.array([1, 2, 3, 4, None, 6, 7, 8]),
            "Annual Income (k$)": pa.array([10.0, None, float("nan"), float("inf"), 20.0, -1.0, 30.0, 40.0]),
            "spending_score": pa.array(["5", "6", "7", "8", "9", "10", "x", " 12 "]),
        }
    )
    pq.write_table(table, path)
    reader, parts = open_dataset(path, SPECS)

    summary = summarise(dask_client, reader, parts, sample_size=100, seed=0)

    assert summary.dropped == {
        "missing annual_income": 1,
        "NaN or infinite annual_income": 2,
        "annual_income out of range (between 0 and 10,000)": 1,
        "non-numeric spending_score": 1,
        "missing customer_id": 1,
    }
    assert sorted(map(tuple, summary.X)) == [(10.0, 5.0), (40.0, 12.0)]


def test_missing_columns_are_refused_as_the_local_trainer_refuses_them(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("name,Annual Income (k$)\nann,10\n")
    with pytest.raises(InvalidDataset) as local:
        _local(path)
    with pytest.raises(InvalidDataset) as dask:
        open_dataset(path, SPECS)
    assert dask.value.message == local.value.message and "Spending Score" in dask.value.message


def test_too_few_usable_rows_are_refused_with_the_reasons(dask_client, tmp_path):
    path = tmp_path / "few.csv"
    path.write_text("annual_income,spending_score\n10,5\n20,abc\n30,7\n")
    with pytest.raises(InvalidDataset, match=r"only 2 usable row\(s\) of 3, at least 6 .*1 non-numeric spending_score"):
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=5, sweep=False)
    assert not (tmp_path / "m").exists() or VersionStore(tmp_path / "m").versions() == []


def test_train_dask_makes_a_normal_signed_version_like_the_local_one(dask_client, default_data, tmp_path):
    root = tmp_path / "models"
    local = train(default_data, output_dir=root, k=5, sweep=False, signing_key=KEY).model
    result = train_dask(default_data, client=dask_client, output_dir=root, k=5, sweep=False, signing_key=KEY)

    store = VersionStore(root, signing_key=KEY)
    assert store.versions() == sorted([local.version, result.model.version])
    model = store.load(result.model.version)  # verified against its signature
    info = model.info
    assert info["engine"] == "dask" and info["n_samples"] == local.info["n_samples"]
    assert info["data_sha256"] == local.info["data_sha256"] and info["features"] == local.info["features"]
    # Same data, well-separated groups: the same segments, kept under the same ids as the version before.
    by_id = {segment.segment_id: segment for segment in local.segments}
    for segment in model.segments:
        twin = by_id[segment.segment_id]
        assert segment.name == twin.name and segment.size == twin.size
        for name in info["features"]:
            assert segment.centroid[name] == pytest.approx(twin.centroid[name], rel=1e-9)
            assert segment.stats[name].min == twin.stats[name].min and segment.stats[name].max == twin.stats[name].max
    for name, stats in local.info["data_stats"].items():
        assert info["data_stats"][name] == pytest.approx(stats, rel=1e-12)
    assert info["metrics"]["inertia"] == pytest.approx(local.info["metrics"]["inertia"], rel=1e-9)
    X = local.info["map_sample"]
    assert model.score(np.array(X)).positions.tolist() == local.score(np.array(X)).positions.tolist()


def test_train_dask_with_auto_k_chooses_from_the_sample_sweep(dask_client, default_data, tmp_path):
    result = train_dask(default_data, client=dask_client, output_dir=tmp_path / "m", k="auto", sample_size=150)
    info = result.model.info
    assert info["sweep"] is True and info["k_selection_sample_size"] == 150 and info["sample_size"] == 150
    assert info["n_clusters"] == max(info["k_selection"], key=lambda s: s["silhouette"])["k"]
    assert sum(segment.size for segment in result.model.segments) == info["n_samples"] == 200


@pytest.mark.slow  # another Python process
def test_starting_the_server_imports_no_dask():
    import subprocess
    import sys

    from app.core.config import PROJECT_ROOT

    code = (
        "import sys\n"
        "from app.core.config import Settings\n"
        "from app.main import create_app\n"
        "create_app(Settings(_env_file=None, auto_train=False))\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'dask', 'distributed', 'pyarrow', 'sklearn'}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"annual_income,spending_score\n", "the file has a header but no data rows"),
        (b"annual_income,spending_score", "the file has a header but no data rows"),
        (
            b'annual_income,spending_score\n10,5\n20,"6\n',
            "line 3: a quote in column 'spending_score' opens a value that runs over",
        ),
        (b"annual_income,spending_score\n10,5\n20,\xff\xfe\n", "is not UTF-8 text"),
    ],
)
def test_unreadable_files_are_refused_in_one_line(dask_client, tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidDataset, match=message) as refused:
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=2, sweep=False)
    assert "\n" not in refused.value.message
    with pytest.raises(InvalidDataset, match=message):  # the local trainer says the same
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)


def test_a_broken_row_far_into_the_file_is_refused_in_one_line(dask_client, tmp_path, small_blocks):
    rows = "".join(f"{10 + i % 80},{1 + i % 99}\n" for i in range(12_000))  # past the 64 KB head
    path = tmp_path / "late.csv"
    path.write_bytes(f"annual_income,spending_score\n{rows}20,\xff\n{rows}".encode("latin-1"))
    with pytest.raises(InvalidDataset, match="is not UTF-8 text") as refused:
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=2, sweep=False)
    assert "\n" not in refused.value.message
    assert "(line 12002: the byte 0xFF, 'ÿ' in Windows-1252" in refused.value.message  # placed in the whole file
    with pytest.raises(InvalidDataset) as local:
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)
    assert local.value.message == refused.value.message


def test_csv_partitions_drop_rows_with_the_wrong_number_of_fields_as_the_local_trainer(
    dask_client, tmp_path, small_blocks
):
    lines = [*BAD_ROWS[:30], "30,Female,40,50,50,extra", "31,Female", *BAD_ROWS[30:], "200,Male,30,40,50,1,2"]
    path = tmp_path / "customers.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    reader, parts = open_dataset(path, SPECS)
    assert len(parts) > 3

    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)

    local = _local(path)
    assert local.dropped["wrong number of fields"] == 3
    assert summary.dropped == local.dropped and summary.n_input == local.n_input_rows
    assert sorted(map(tuple, summary.X)) == sorted(map(tuple, local.frame[[spec.name for spec in SPECS]].to_numpy()))


@pytest.mark.parametrize(("good", "line"), [(0, 2), (50, 52)])
def test_rows_with_a_value_more_are_refused_at_the_local_trainers_line(dask_client, tmp_path, small_blocks, good, line):
    # With 300-byte blocks, the first row with a value more is in the first partition, or in a later one.
    rows = [f"{20 + i % 80},{1 + i % 99}" for i in range(good)] + [f"{20 + i % 80},{1 + i},{i}" for i in range(60)]
    path = tmp_path / "shifted.csv"
    path.write_text("annual_income,spending_score\n" + "\n".join(rows) + "\n")
    with pytest.raises(InvalidDataset) as dask:
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=2, sweep=False)
    with pytest.raises(InvalidDataset) as local:
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)
    assert dask.value.message == local.value.message
    assert f"60 of the {good + 60} rows" in local.value.message
    assert f"line {line} has 3 fields where the header has 2" in local.value.message


def test_a_quote_that_never_closes_in_a_later_block_is_named_by_its_line_in_the_file(
    dask_client, tmp_path, small_blocks
):
    rows = [f"c{i},{20 + i % 80},{1 + i % 99}" for i in range(100)] + ['"c100,60,70', "c101,61,71"]
    path = tmp_path / "late_quote.csv"
    path.write_text("customer_id,annual_income,spending_score\n" + "\n".join(rows) + "\n")
    assert len(open_dataset(path, SPECS)[1]) > 3
    with pytest.raises(InvalidDataset) as dask:
        train_dask(path, client=dask_client, output_dir=tmp_path / "m", k=2, sweep=False)
    with pytest.raises(InvalidDataset) as local:
        train(path, output_dir=tmp_path / "local", k=2, sweep=False)
    assert dask.value.message == local.value.message
    assert local.value.message.startswith("line 102: a quote opens a value that runs over 2 lines")


@pytest.mark.parametrize("line_end", ["\n", "\r\n"])
def test_quoted_line_breaks_across_block_edges_are_read_as_the_local_trainer_reads_them(
    dask_client, tmp_path, small_blocks, line_end
):
    # Blocks used to end at any line feed: a note's line break at a block's edge split its record in two, and the
    # next block began inside quotes.
    rows = [
        f'{i},"note {i}{line_end}second line, with ""quotes""{line_end}",{20 + i % 80},{1 + (i * 7) % 99}'
        for i in range(1, 121)
    ]
    path = tmp_path / "notes.csv"
    path.write_text("customer_id,notes,annual_income,spending_score" + line_end + line_end.join(rows) + line_end)
    reader, parts = open_dataset(path, SPECS, client=dask_client)
    assert len(parts) > 10
    edges = {start for start, _ in parts[1:]}
    text = path.read_bytes()
    assert all(text[edge - 1 : edge] == b"\n" and text[edge : edge + 1].isdigit() for edge in edges)

    summary = summarise(dask_client, reader, parts, sample_size=10_000, seed=0)

    local = _local(path)
    assert summary.n_input == local.n_input_rows == 120
    assert summary.dropped == local.dropped == {}
    expected = local.frame[[spec.name for spec in SPECS]].to_numpy()
    assert sorted(map(tuple, summary.X)) == sorted(map(tuple, expected))


def test_values_too_large_for_the_model_are_dropped_as_the_local_trainer_drops_them(
    dask_client, tmp_path, small_blocks
):
    path = write_customers(tmp_path / "crm.csv", per_group=10)
    path.write_text(path.read_text() + "901,50000,1e39,2\n902,50000,-3e15,2\n903,50000,1e15,2\n")
    reader, parts = open_dataset(path, THREE)

    summary = summarise(dask_client, reader, parts, sample_size=1_000, seed=0)

    local = clean_customers(load_customers(path), features=THREE, min_rows=0)
    assert summary.dropped == local.dropped == {"visits too large (beyond ±1e15)": 2}
    assert summary.n_kept == len(local.frame) == 31
