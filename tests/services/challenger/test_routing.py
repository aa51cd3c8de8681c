"""Challenger routing and the registry's challenger: stable arms by customer id, the setting polled from disk."""

import numpy as np
import pytest

from app.core.errors import InvalidRequest, VersionConflict
from app.models.versions import challenger as challengers
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore
from app.services.challenger import control, serving
from app.services.prediction import predict_customer, predict_customers


def test_split_share_sends_about_that_share_of_distinct_ids_to_the_challenger():
    arms = [challengers.arm_of("default", f"C-{i}", 0.3) for i in range(10_000)]
    share = arms.count("challenger") / len(arms)
    assert 0.29 <= share <= 0.31
    # Same id, same arm, every time (and for integer ids given as numbers).
    assert all(challengers.arm_of("default", f"C-{i}", 0.3) == arms[i] for i in range(10_000))
    assert [challengers.arm_of("default", i, 0.3) for i in range(500)] == [
        challengers.arm_of("default", i, 0.3) for i in range(500)
    ]


def test_split_is_independent_between_segmentations():
    ids = range(5_000)
    default = [challengers.arm_of("default", i, 0.5) for i in ids]
    other = [challengers.arm_of("loyalty", i, 0.5) for i in ids]
    assert default != other


def _registry(root) -> ModelRegistry:
    return ModelRegistry(VersionStore(root)).load()


def test_registry_loads_a_set_challenger_and_drops_one_equal_to_the_champion(two_versions):
    root, _first, second = two_versions
    registry = _registry(root)
    assert registry.challenger is None
    control.set_challenger(registry=registry, segmentation="default", version=second, mode="split", share=0.3, key=None)
    assert registry.challenger is not None and registry.challenger.model.version == second
    # Another worker sees it at its next poll, loaded before any request.
    other = _registry(root)
    assert other.challenger is not None and other.challenger.version == second
    # A pointer moved to the challenger by hand (not through the API): the registry serves no challenger equal to it.
    VersionStore(root).activate(second, reason="by hand")
    assert other.refresh()
    assert other.active.version == second and other.challenger is None


@pytest.mark.parametrize(
    ("version", "mode", "share", "error"),
    [
        ("first", "split", 0.3, VersionConflict),
        ("second", "split", 0.0, InvalidRequest),
        ("second", "split", 1.0, InvalidRequest),
        ("second", "split", None, InvalidRequest),
    ],
)
def test_bad_settings_are_refused(two_versions, version, mode, share, error):
    root, first, second = two_versions
    registry = _registry(root)
    with pytest.raises(error):
        control.set_challenger(
            registry=registry,
            segmentation="default",
            version={"first": first, "second": second}[version],
            mode=mode,
            share=share,
            key=None,
        )
    assert challengers.read_setting(root) is None


def test_shadow_batch_answers_with_the_champion_and_carries_the_challengers_segments(two_versions):
    root, first, second = two_versions
    registry = _registry(root)
    control.set_challenger(
        registry=registry, segmentation="default", version=second, mode="shadow", share=None, key=None
    )
    customers = [{"customer_id": i, "annual_income": 10.0 + i, "spending_score": 90.0 - i / 2} for i in range(120)]
    answer = serving.predict_many(
        champion=registry.get(),
        challenger=registry.challenger,
        customers=customers,
        segmentation="default",
        predict=lambda model, rows: predict_customers(model, rows),
        assignments=None,
    )
    assert {p["arm"] for p in answer.body["predictions"]} == {"champion"}
    assert {p["model_version"] for p in answer.body["predictions"]} == {first}
    (part,) = answer.parts
    version, ids = part.shadow
    challenger = registry.get(second)
    positions = challenger.score(np.array([[c["annual_income"], c["spending_score"]] for c in customers])).positions
    assert version == second
    assert ids == [challenger.segments[p].segment_id for p in positions]


def test_split_batch_keeps_input_order_and_each_item_names_its_version(two_versions):
    root, first, second = two_versions
    registry = _registry(root)
    control.set_challenger(registry=registry, segmentation="default", version=second, mode="split", share=0.5, key=None)
    customers = [{"customer_id": f"C-{i}", "annual_income": float(i % 140), "spending_score": 50.0} for i in range(400)]
    answer = serving.predict_many(
        champion=registry.get(),
        challenger=registry.challenger,
        customers=customers,
        segmentation="default",
        predict=lambda model, rows: predict_customers(model, rows),
        assignments=None,
    )
    predictions = answer.body["predictions"]
    assert [p["customer_id"] for p in predictions] == [c["customer_id"] for c in customers]
    for customer, rendered in zip(customers, predictions, strict=True):
        arm = challengers.arm_of("default", customer["customer_id"], 0.5)
        assert rendered["arm"] == arm
        assert rendered["model_version"] == (second if arm == "challenger" else first)
        model = registry.get(rendered["model_version"])
        alone = predict_customer(model, customer).body
        assert rendered["segment_id"] == alone["segment_id"]
    assert answer.body["count"] == 400 == sum(entry["count"] for entry in answer.body["segment_counts"])
    assert {arm for _, arm, _ in answer.assigned} == {"champion", "challenger"}
