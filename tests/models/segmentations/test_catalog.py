"""Segmentation specs and the catalog: names, checks, whole creation and deletion."""

import json
import math
import re
from pathlib import Path

import pytest

from app.core.errors import InvalidRequest, SegmentationConflict, UnknownSegmentation
from app.models.segmentations.catalog import LOCK_FILE, SPEC_FILE, SegmentationCatalog
from app.models.segmentations.spec import RFM_FEATURES, InvalidFeature, SegmentationSpec, check_name, default_spec

LOYALTY = {
    "name": "loyalty",
    "kind": "columns",
    "features": [
        {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
        {"name": "visits", "column": "Visits", "min": 0, "max": 100},
    ],
}


@pytest.mark.parametrize("name", ["ab", "loyalty-2027", "rfm", "a" + "b" * 39])
def test_good_names(name: str) -> None:
    assert check_name(name) == name


@pytest.mark.parametrize("name", ["a", "Default", "9lives", "-x", "has_underscore", "a" * 41, "", None, 5, "ab/c"])
def test_bad_names_say_what_a_name_may_be(name: object) -> None:
    with pytest.raises(InvalidRequest, match="lowercase letter"):
        check_name(name)


def test_a_spec_round_trips_through_its_dictionary() -> None:
    spec = SegmentationSpec.from_dict(LOYALTY)
    again = SegmentationSpec.from_dict(spec.to_dict())
    assert again == spec
    income, visits = spec.features
    assert (income.minimum, income.maximum, income.transform) == (0.0, math.inf, "log1p")  # log1p: never below 0
    assert (visits.minimum, visits.maximum, visits.label) == (0.0, 100.0, "Visits")
    assert spec.to_dict()["features"][1] == {
        "name": "visits", "column": "Visits", "label": "Visits", "unit": "", "transform": "none", "min": 0, "max": 100
    }  # fmt: skip


def test_an_rfm_spec_has_recency_frequency_and_monetary() -> None:
    spec = SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm", "columns": {"customer_id": "Client"}})
    assert spec.feature_names == [feature.name for feature in RFM_FEATURES]
    assert spec.rfm is not None and spec.rfm.columns == {"customer_id": "Client"}
    average = SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm", "monetary": "average"})
    assert average.feature("monetary").label == "Average order value"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"features": LOYALTY["features"][:1]}, "2 to 8 features"),
        ({"features": LOYALTY["features"] * 5}, "2 to 8 features"),
        ({"features": [LOYALTY["features"][0], {**LOYALTY["features"][1], "name": "income"}]}, "repeated: income"),
        ({"features": [LOYALTY["features"][0], {**LOYALTY["features"][1], "column": "Income"}]}, "repeated: Income"),
        ({"features": [LOYALTY["features"][0], {"name": "v", "column": "V", "min": 3, "max": 1}]}, "min must be below"),
        ({"features": [LOYALTY["features"][0], {"name": "v", "column": "V", "min": float("nan")}]}, "finite number"),
        ({"features": [LOYALTY["features"][0], {"name": "v", "column": "V", "transform": "sqrt"}]}, "transform"),
        ({"features": [LOYALTY["features"][0], {"name": "v", "column": "V", "colour": "red"}]}, "unknown field"),
        ({"features": [LOYALTY["features"][0], {"name": "V", "column": "V"}]}, "lowercase letter"),
        ({"features": [LOYALTY["features"][0], {"name": "v"}]}, "must name the file's column"),
        ({"kind": "graph"}, "kind must be one of"),
        ({"features": [LOYALTY["features"][0], {"name": "v", "column": " income "}]}, "repeated: Income, income"),
        ({"features": [LOYALTY["features"][0], {"name": "segment_id", "column": "S"}]}, "every scored file gets"),
        ({"columns": {"date": "D"}}, "columns is for rfm segmentations"),
        ({"kind": "rfm", "features": LOYALTY["features"]}, "leave `features` out"),
        ({"kind": "rfm", "date_format": "%Q"}, "not a strptime format"),
        ({"kind": "rfm", "date_format": "%H:%M"}, "not a strptime format"),
        ({"kind": "rfm", "columns": {"date": "D", "amount": "d"}}, "needs its own column"),
    ],
)
def test_a_bad_spec_names_its_problem(change: dict, message: str) -> None:
    base = {key: value for key, value in LOYALTY.items() if not (key == "features" and change.get("kind") == "rfm")}
    with pytest.raises(InvalidRequest, match=message):
        SegmentationSpec.from_dict({**base, **change})


@pytest.mark.parametrize(
    ("feature", "problem"),
    [
        ({"min": 3, "max": 1}, "the minimum must be below the maximum"),
        ({"min": -1, "transform": "log1p"}, "with log(1 + x) the minimum cannot be below 0"),
        ({"name": "segment_id"}, "the feature name 'segment_id' is taken by a column every scored file gets: "
                                 "choose another"),
        ({"name": "V!"}, "the feature name must be 1 to 40 characters: a lowercase letter, then lowercase letters, "
                         "digits or '_'; got 'V!'"),
        ({"label": "x" * 61}, "the label must be at most 60 characters"),
        ({"max": float("inf")}, "the maximum must be a finite number, or empty for no bound"),
    ],
)  # fmt: skip
def test_a_bad_feature_says_which_and_what_in_plain_words_too(feature: dict, problem: str) -> None:
    features = [LOYALTY["features"][0], {"name": "v", "column": "V", **feature}, LOYALTY["features"][1]]
    with pytest.raises(InvalidFeature) as raised:
        SegmentationSpec.from_dict({**LOYALTY, "features": features})
    assert (raised.value.index, raised.value.problem) == (1, problem)
    assert raised.value.message.startswith("features[1]")  # the API's wording stays


def test_the_catalog_creates_lists_and_deletes_whole_folders(tmp_path: Path) -> None:
    catalog = SegmentationCatalog(tmp_path)
    assert catalog.names() == ["default"]
    assert catalog.get("default") == default_spec()
    created = catalog.create(SegmentationSpec.from_dict(LOYALTY))
    assert created.created_at
    folder = tmp_path / "segmentations" / "loyalty"
    assert catalog.folder("loyalty") == folder
    assert json.loads((folder / SPEC_FILE).read_text())["name"] == "loyalty"
    assert catalog.names() == ["default", "loyalty"]
    assert catalog.get("loyalty").feature_names == ["income", "visits"]
    with pytest.raises(SegmentationConflict):
        catalog.create(SegmentationSpec.from_dict(LOYALTY))
    # Nothing but whole segmentations (and the catalog's lock) in the folder: no staging left behind.
    assert sorted(path.name for path in (tmp_path / "segmentations").iterdir()) == [LOCK_FILE, "loyalty"]
    catalog.delete("loyalty")
    assert catalog.names() == ["default"] and not folder.exists()
    with pytest.raises(UnknownSegmentation):
        catalog.get("loyalty")
    with pytest.raises(SegmentationConflict):
        catalog.delete("default")


def test_leftovers_of_a_killed_create_or_delete_are_tidied_and_never_listed(tmp_path: Path) -> None:
    catalog = SegmentationCatalog(tmp_path)
    half = tmp_path / "segmentations" / ".creating-abc"
    half.mkdir(parents=True)
    (half / SPEC_FILE).write_text(json.dumps(SegmentationSpec.from_dict(LOYALTY).to_dict()))
    (tmp_path / "segmentations" / ".deleted-xyz" / "old").mkdir(parents=True)
    (tmp_path / "segmentations" / "no-spec").mkdir()
    assert catalog.names() == ["default"]
    catalog.tidy()
    assert sorted(path.name for path in (tmp_path / "segmentations").iterdir()) == ["no-spec"]


def test_a_create_that_cannot_write_leaves_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = SegmentationCatalog(tmp_path)

    def refuse(self: Path, target: Path) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Path, "rename", refuse)
    with pytest.raises(Exception, match="could not be created"):
        catalog.create(SegmentationSpec.from_dict(LOYALTY))
    monkeypatch.undo()
    assert catalog.names() == ["default"]
    assert [path.name for path in (tmp_path / "segmentations").iterdir()] == [LOCK_FILE]


def test_a_version_trained_for_a_segmentation_deleted_meanwhile_is_not_saved(tmp_path: Path) -> None:
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_crm import write_crm
    from app.models.versions.store import VersionStore

    catalog = SegmentationCatalog(tmp_path)
    spec = {**LOYALTY, "features": [{"name": "income", "column": "Income"}, {"name": "visits", "column": "Visits"}]}
    old = catalog.create(SegmentationSpec.from_dict(spec))
    catalog.delete("loyalty")
    catalog.create(SegmentationSpec.from_dict(spec))  # the same name again: another segmentation
    with pytest.raises(SegmentationConflict, match="replaced while this version trained"):
        train_segmentation(old, write_crm(tmp_path / "crm.csv"), models_root=tmp_path, k=3, sweep=False)
    assert VersionStore(catalog.folder("loyalty")).versions() == []
    catalog.delete("loyalty")
    with pytest.raises(UnknownSegmentation):
        train_segmentation(old, tmp_path / "crm.csv", models_root=tmp_path, k=3, sweep=False)
    # What a job left behind without a spec is not a segmentation, and does not block creating one.
    (tmp_path / "segmentations" / "loyalty" / "20260101.000000-abc").mkdir(parents=True)
    assert catalog.names() == ["default"]
    catalog.create(SegmentationSpec.from_dict(spec))
    assert list(catalog.folder("loyalty").iterdir()) == [catalog.folder("loyalty") / SPEC_FILE]


def test_a_create_racing_another_for_the_same_name_never_replaces_the_winner(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    catalog = SegmentationCatalog(tmp_path)
    winner = {**LOYALTY, "description": "the first"}
    checked = SegmentationCatalog.exists

    def another_creates_it_right_after_the_check(self: SegmentationCatalog, name: str) -> bool:
        found = checked(self, name)
        monkeypatch.setattr(SegmentationCatalog, "exists", checked)
        folder = tmp_path / "segmentations" / "loyalty"
        folder.mkdir(parents=True)
        (folder / SPEC_FILE).write_text(json.dumps(SegmentationSpec.from_dict(winner).to_dict()))
        return found

    monkeypatch.setattr(SegmentationCatalog, "exists", another_creates_it_right_after_the_check)
    with pytest.raises(SegmentationConflict, match="already exists"):
        catalog.create(SegmentationSpec.from_dict({**LOYALTY, "description": "the second"}))
    assert catalog.get("loyalty").description == "the first"
    assert sorted(path.name for path in (tmp_path / "segmentations").iterdir()) == [LOCK_FILE, "loyalty"]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"description": "Loyal\u0000ty"}, "description cannot hold a control or invisible character (found U+0000)"),
        ({"description": "Loyal\u202ety"}, "(found U+202E)"),
        ({"features": [{**LOYALTY["features"][0], "label": "In\ncome"}, LOYALTY["features"][1]]}, "label must be one"),
        ({"features": [LOYALTY["features"][0], {**LOYALTY["features"][1], "unit": "vi\tsits"}]}, "unit must be one"),
        ({"kind": "rfm", "features": None, "columns": {"customer_id": "Customer\u0000ID"}}, "for customer_id cannot"),
    ],
)
def test_a_create_request_with_hidden_characters_in_shown_texts_is_refused(change: dict, message: str) -> None:
    with pytest.raises(InvalidRequest, match=re.escape(message)):
        SegmentationSpec.from_request({**LOYALTY, **change})
    # A spec saved before the check still loads as it is.
    if "description" in change:
        assert SegmentationSpec.from_dict({**LOYALTY, **change}).description == change["description"]


def test_a_descriptions_line_breaks_and_an_rfm_columns_spaces_are_kept_or_trimmed() -> None:
    spec = SegmentationSpec.from_request({**LOYALTY, "description": "Loyal customers.\r\nSecond paragraph."})
    assert spec.description == "Loyal customers.\r\nSecond paragraph."
    rfm = SegmentationSpec.from_request({"name": "rfm", "kind": "rfm", "columns": {"customer_id": " CustomerID "}})
    assert rfm.rfm is not None and rfm.rfm.columns == {"customer_id": "CustomerID"}


def test_deleting_an_unknown_name_touches_nothing(tmp_path: Path) -> None:
    # Refused before the catalog's lock: a models folder this user cannot write gives the 404, never an OSError.
    catalog = SegmentationCatalog(tmp_path)
    with pytest.raises(UnknownSegmentation):
        catalog.delete("nothing-here")
    assert list(tmp_path.iterdir()) == []
