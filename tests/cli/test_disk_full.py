"""A full disk under what a command writes: one line naming the file or folder and saying the disk is full, exit 2,
and nothing half written left behind (a real tmpfs, filled up: Linux, as root)."""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.small_disk import NoSmallDisk, fill, small_disk
from tests.tools import unavailable

FREE_SOME_SPACE = "; free some space there or write elsewhere"


@pytest.fixture
def full_disk(tmp_path: Path) -> Iterator[Path]:
    """A 1 MB tmpfs with about a page left on it."""
    try:
        with small_disk(tmp_path / "disk", 1024 * 1024) as folder:
            fill(folder, leave=4096)
            yield folder
    except NoSmallDisk as exc:
        unavailable(f"cannot simulate a full disk: {exc}")


def test_score_names_the_labelled_file_it_could_not_write(run_cli, full_disk, default_data):
    output = full_disk / "labelled.csv"
    code, _, stderr = run_cli("score", default_data, output, "--quiet")
    assert code == 2
    assert stderr.strip() == f"error: the disk is full: could not write the labelled file '{output}'{FREE_SOME_SPACE}"
    assert sorted(path.name for path in full_disk.iterdir()) == ["filler"]


def test_train_names_the_cleaned_csv_it_could_not_write(run_cli, full_disk, default_data, tmp_path):
    processed = full_disk / "processed"
    models = tmp_path / "models"
    code, _, stderr = run_cli(
        "train", "--data", default_data, "--processed-dir", processed, "--model-dir", models, "--quiet", "--no-sweep"
    )
    assert code == 2
    written = processed / f"{default_data.stem}_processed.csv"
    assert stderr.strip() == (
        f"error: the disk is full: could not write '{written}' in the cleaned CSV's folder '{processed}'"
        + FREE_SOME_SPACE
    )
    assert list(processed.iterdir()) == []
