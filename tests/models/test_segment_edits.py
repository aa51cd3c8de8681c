"""The team's segment text file: validation, storage beside the versions, and the registry serving it."""

import json

import pytest

from app.core.errors import InvalidRequest
from app.models.model import Segment
from app.models.versions.registry import ModelRegistry
from app.models.versions.segment_edits import (
    EDITS_FILE,
    apply_edits,
    clean_name,
    clean_strategy,
    current_text,
    name_key,
    read_edits,
    record_changes,
)
from app.models.versions.store import VersionStore


def test_a_name_is_trimmed_and_held_to_one_short_line():
    assert clean_name("  Top spenders\t") == "Top spenders"
    assert clean_name("é" * 60) == "é" * 60
    for bad, words in [
        ("x" * 61, "at most 60 characters, got 61"),
        ("", "cannot be empty"),
        (" \n ", "cannot be empty"),
        ("Top\nspenders", "U+000A"),
        ("Top\x00", "U+0000"),
        ("abc\u202edcba", "U+202E"),
    ]:
        with pytest.raises(InvalidRequest, match=words.replace("+", r"\+")):
            clean_name(bad)
    assert clean_strategy([" a ", "b"]) == ["a", "b"]
    with pytest.raises(InvalidRequest, match="at most 10 actions"):
        clean_strategy(["a"] * 11)


def test_a_name_with_an_invisible_character_or_an_odd_space_is_refused_and_other_scripts_are_kept():
    for bad, code in [
        ("Average\u00a0Customer", "U+00A0"),
        ("Average Customer\u200b", "U+200B"),
        ("Average\u2003Customer", "U+2003"),
        ("Ave\u00adrage", "U+00AD"),
        ("\ufeffAverage", "U+FEFF"),
        ("Average\u2028Customer", "U+2028"),
        ("Average Customer\u200d", "U+200D"),  # a joiner at the edge joins nothing
        ("Average \u200cCustomer", "U+200C"),
    ]:
        with pytest.raises(InvalidRequest, match=f"invisible characters.*{code.replace('+', '[+]')}"):
            clean_name(bad)
    # A zero-width non-joiner spells Persian words; a joiner builds emoji sequences.
    for good in [
        "Clientes Fiéis",
        "Постоянные клиенты",
        "常連客",
        "Ｖｉｐ",
        "Café",
        "می\u200cخواهم",
        "👨\u200d👩\u200d👧 Families",
    ]:
        assert clean_name(good) == good


def test_names_that_read_the_same_have_one_key():
    assert name_key("Ａverage  CUSTOMER") == name_key("average customer") == "average customer"
    assert name_key("Straße") == name_key("STRASSE")
    assert name_key("Cafe\u0301") == name_key("Café")
    assert name_key("ǰ") == name_key("J\u030c")
    assert name_key("Average") != name_key("Avérage")
    assert name_key("Aver\u200dage") == name_key("Average")  # a joiner between letters does not make a new name


def _vip(model) -> Segment:
    return next(segment for segment in model.segments if segment.name == "VIP / Whale")


def test_edits_are_stored_with_history_and_applied_without_touching_the_model(model, tmp_path):
    vip = _vip(model)
    entries = record_changes(
        tmp_path,
        segment_id=vip.segment_id,
        shown=current_text(vip),
        changes={"name": ("Top spenders", True), "marketing_strategy": (["Call them"], True)},
        reason="ours",
        key="key-abc",
        version=model.version,
    )
    assert [e["id"] for e in entries] == [1, 2] and entries[0]["old"] == "VIP / Whale"
    edits = read_edits(tmp_path)
    assert edits.segments == {vip.segment_id: {"name": "Top spenders", "marketing_strategy": ["Call them"]}}
    edited = apply_edits(model, edits)
    renamed = edited.segment(vip.segment_id)
    assert (renamed.name, renamed.generated_name, renamed.metric_name) == ("Top spenders", "VIP / Whale", "VIP / Whale")
    assert renamed.strategy == ["Call them"] and renamed.description == vip.description
    # The model it was given is unchanged, and what a version saves never holds the team's text.
    assert model.segment(vip.segment_id).name == "VIP / Whale" and "generated_name" not in renamed.to_dict()
    assert edited.version == model.version and (edited.predict_one([120, 90])[0] == model.predict_one([120, 90])[0])

    back = record_changes(
        tmp_path,
        segment_id=vip.segment_id,
        shown=current_text(renamed),
        changes={"name": ("VIP / Whale", False)},
        reason="",
        key=None,
        version=model.version,
    )
    assert back[0]["id"] == 3 and back[0]["old_edited"] is True and back[0]["new_edited"] is False
    assert read_edits(tmp_path).segments == {vip.segment_id: {"marketing_strategy": ["Call them"]}}
    assert len(read_edits(tmp_path).history) == 3


def test_no_edits_serve_the_model_itself_and_a_damaged_file_is_ignored(model, tmp_path):
    assert apply_edits(model, read_edits(tmp_path)) is model
    (tmp_path / EDITS_FILE).write_text("{not json")
    assert read_edits(tmp_path).segments == {}
    (tmp_path / EDITS_FILE).write_text(json.dumps({"segments": {"1": {"name": 5, "colour": "red"}, "x": {}}}))
    assert read_edits(tmp_path).segments == {}


def test_the_registry_serves_edits_and_picks_up_another_process_change_at_its_poll(fresh_dir):
    registry = ModelRegistry(VersionStore(fresh_dir)).load()
    generated = registry.active
    vip = _vip(generated)
    assert registry.refresh() is False
    record_changes(
        fresh_dir,
        segment_id=vip.segment_id,
        shown=current_text(vip),
        changes={"name": ("Top spenders", True)},
        reason="",
        key=None,
        version=generated.version,
    )
    assert registry.refresh() is True
    assert registry.active.segment(vip.segment_id).name == "Top spenders"
    assert registry.generated is generated  # nothing was read again but the edits
    assert registry.get(generated.version).segment(vip.segment_id).name == "Top spenders"
    # A fresh start reads them too.
    assert ModelRegistry(VersionStore(fresh_dir)).load().active.segment(vip.segment_id).name == "Top spenders"


def test_a_version_loaded_on_request_is_served_with_the_edits_of_the_moment(two_versions):
    root, _, second = two_versions
    registry = ModelRegistry(VersionStore(root)).load()
    vip = _vip(registry.active)
    assert registry.get(second).segment(vip.segment_id).name == "VIP / Whale"  # cached now
    record_changes(
        root,
        segment_id=vip.segment_id,
        shown=current_text(vip),
        changes={"name": ("Top spenders", True)},
        reason="",
        key=None,
        version=registry.active.version,
    )
    registry.refresh()
    assert registry.get(second).segment(vip.segment_id).name == "Top spenders"


def test_a_rename_reaches_the_challengers_answers_too(two_versions):
    from app.models.versions import challenger as challengers

    root, _, second = two_versions
    setting = {"version": second, "mode": "split", "share": 0.5}
    challengers.write_setting(root, setting, event="set", reason="", key=None)
    registry = ModelRegistry(VersionStore(root)).load()
    assert registry.challenger is not None and registry.challenger.version == second
    vip = next(segment for segment in registry.active.segments if segment.name == "VIP / Whale")
    rename = {"name": ("Top spenders", True)}
    version = registry.active.version
    record_changes(root, segment_id=vip.segment_id, shown=current_text(vip), changes=rename, reason="", key=None,
                   version=version)  # fmt: skip
    assert registry.refresh() is True
    assert registry.active.segment(vip.segment_id).name == "Top spenders"
    assert registry.challenger.model.segment(vip.segment_id).name == "Top spenders"
