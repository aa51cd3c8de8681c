"""The AUTO_PROMOTE silhouette rule compares like with like: both silhouettes of the same customers, measured in
the active version's model space."""

import dataclasses

import numpy as np

from app.services.proposals import compare as compare_module
from app.services.proposals.compare import compare_candidate
from tests.api.test_monitoring import customers


def test_the_same_segments_score_the_same_silhouette_whatever_the_candidates_scaling(model, monkeypatch):
    X = np.array([[row[f] for f in model.features] for row in customers(400, seed=91)])
    # A candidate with the same segments of these customers but its own, very different scaling: the first feature
    # weighs ten times less in its space, so silhouettes measured there would disagree with the active version's.
    stretch = np.ones(len(model.features))
    stretch[0] = 10.0
    candidate = dataclasses.replace(model, scale=model.scale * stretch)
    candidate.labels = model.labels
    own_space = (candidate.to_model_space(X) - candidate.mean) / candidate.scale
    base_space = (model.to_model_space(X) - model.mean) / model.scale
    assert not np.allclose(own_space, base_space)
    monkeypatch.setattr(compare_module, "compare", lambda **_kwargs: {})

    result = compare_candidate(registry=None, base=model, candidate=candidate, X=X, seed=42, min_agreement=0.8)

    summary = result["summary"]
    assert summary["agreement"] == 1.0
    assert summary["silhouette_active"] is not None
    assert summary["silhouette_candidate"] == summary["silhouette_active"]
    assert summary["promotable"], summary["not_promotable_because"]
