"""A segment of very few customers is named in training's notes: an outlier, not a group, may drive it."""

from dataclasses import dataclass
from pathlib import Path

import pytest

from app.cli.train import summary
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.small_segments import small_segment_notes
from app.models.synthetic_transactions import write_transactions
from app.services.segments import model_notes

# One customer who spent about 1e15 on one line: below the bound of a usable amount, far above everyone else.
OUTLIER = "999999,X,Z,9999999,12/9/11 12:00,99999999,99999,United Kingdom"


@dataclass
class _Segment:
    name: str
    size: int
    share: float


def _segments(*sizes: int) -> list[_Segment]:
    return [_Segment(f"s{i}", size, size / sum(sizes)) for i, size in enumerate(sizes)]


@pytest.mark.parametrize(
    ("sizes", "named"),
    [
        ((1, 300, 200, 99), ["s0"]),
        ((4, 10, 10), ["s0"]),  # fewer than 5 customers
        ((9, 500, 491), ["s0"]),  # fewer than 1% of 1,000
        ((10, 500, 490), []),
        ((5, 6, 7), []),
    ],
)
def test_small_segment_notes_name_each_segment_below_five_customers_or_one_percent(sizes, named):
    notes = small_segment_notes(_segments(*sizes))
    assert [note.split("'")[1] for note in notes] == named


def test_a_note_says_how_small_and_why_it_matters():
    (note,) = small_segment_notes(_segments(1, 1_999))
    assert note == (
        "segment 's0' holds only 1 customer of 2,000 (0.1%): an outlier may be what drives it; check the training "
        "file for extreme values before acting on this segment"
    )


@pytest.fixture(scope="module")
def outlier_rfm(tmp_path_factory: pytest.TempPathFactory):
    """An RFM version (k=4) trained on transactions with one absurd customer."""
    folder = tmp_path_factory.mktemp("small-segments")
    root = folder / "models"
    catalog = SegmentationCatalog(root)
    catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    path, _ = write_transactions(folder / "t.csv", customers=300, seed=3)
    with Path(path).open("a") as file:
        file.write(OUTLIER + "\n")
    return train_segmentation(catalog.get("rfm"), path, models_root=root, k=4, activate=True)


def test_training_with_one_absurd_customer_names_the_segment_it_takes(outlier_rfm):
    alone = [segment for segment in outlier_rfm.model.segments if segment.size == 1]
    assert len(alone) == 1  # the clustering itself is left as it is
    expected = small_segment_notes(outlier_rfm.model.segments)
    assert len(expected) == 1 and f"segment {alone[0].name!r} holds only 1 customer of 301" in expected[0]
    assert expected[0] in model_notes(outlier_rfm.model)  # the version's notes: /model/info, /models
    assert f"Warning: {expected[0]}" in summary(outlier_rfm).splitlines()  # the CLI's
