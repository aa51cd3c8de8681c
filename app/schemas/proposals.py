"""Retraining proposals for /api/v1/proposals."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StrictBool

from app.schemas.common import ONE_LINE, example_config

_EXAMPLE = {
    "id": "3f2a9c0d1e4b5a6978877665544332211",
    "created_at": "2026-12-06T10:20:00+00:00",
    "segmentation": "default",
    "trigger": "drift",
    "reason": "drift in annual_income since 2026-12-06 10:20 UTC",
    "state": "ready",
    "base_version": "20261205.090000.000000-abcdef1234",
    "candidate_version": "20261206.102030.000000-0123456789",
    "job_id": "0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    "mix_training": False,
    "error": None,
    "decided_at": None,
    "decided_by": None,
    "summary": {
        "customers": 600,
        "agreement": 0.91,
        "silhouette_active": 0.52,
        "silhouette_candidate": 0.55,
        "grown": ["Affluent Shoppers"],
        "shrunk": [],
        "lost": [],
        "new": [],
        "promotable": True,
        "not_promotable_because": [],
    },
}


class ProposalIn(BaseModel):
    """Ask for a candidate now: trained on the recent logged customers, warm-started from the active version."""

    model_config = example_config({"reason": "new campaign traffic", "mix_training": False}, extra="forbid")

    reason: Annotated[str, ONE_LINE] = Field(
        "", max_length=400, description="Why, shown on /models: one line of visible text."
    )
    mix_training: StrictBool = Field(False, description="Also train on the active version's stored training sample.")


class ProposalSummary(BaseModel):
    """A proposal as lists show it."""

    model_config = example_config(_EXAMPLE)

    id: str = Field(description="The proposal's id, in its routes.")
    created_at: str = Field(description="When it was proposed (UTC, ISO 8601).")
    segmentation: str = Field(description="The segmentation it would retrain.")
    trigger: Literal["drift", "manual"] = Field(description="Drift turning to `drift`, or POST /api/v1/proposals.")
    reason: str = Field(description="Why, in words.")
    state: Literal["training", "ready", "accepted", "dismissed", "failed"] = Field(
        description="`training` its candidate, `ready` to accept or dismiss, then `accepted`, `dismissed` or `failed`."
    )
    base_version: str = Field(description="The active version when it was proposed: what the candidate is compared to.")
    candidate_version: str | None = Field(description="The candidate version once trained; null before.")
    job_id: str | None = Field(description="The training job of the candidate (GET /api/v1/jobs/{job_id}).")
    mix_training: bool = Field(description="Whether the candidate also trains on the active version's sample.")
    error: str | None = Field(description="Why the candidate could not be trained (state failed).")
    decided_at: str | None = Field(description="When it was accepted or dismissed (UTC, ISO 8601); null before.")
    decided_by: str | None = Field(description="The admin who accepted or dismissed it, or AUTO_PROMOTE.")
    summary: dict[str, Any] | None = Field(
        description="Agreement on the recent customers, both silhouettes, segments grown, shrunk, lost or new, and "
        "whether AUTO_PROMOTE's rules hold."
    )


class ProposalDetail(ProposalSummary):
    """A proposal with its whole comparison."""

    # Its own example: the summary's lacks `comparison`, which this schema requires.
    model_config = example_config(
        _EXAMPLE
        | {
            "comparison": {
                "summary": _EXAMPLE["summary"],
                "recent_customers": {"customers": 600, "agreement": 0.91},
                "segment_changes": [],
                "versions": {"customers": 200},
            },
            "activation": None,
        }
    )

    comparison: dict[str, Any] | None = Field(
        description="summary; recent_customers (migration matrix with names, agreement per segment, kappa, ARI); "
        "segment_changes; versions (as GET /api/v1/models/{version}/compare gives it)."
    )
    activation: dict[str, Any] | None = Field(None, description="Accept only: the activation's history entry.")


class ProposalList(BaseModel):
    """A segmentation's proposals, newest first."""

    model_config = example_config({"segmentation": "default", "proposals": [_EXAMPLE]})

    segmentation: str = Field(description="The segmentation asked about.")
    proposals: list[ProposalSummary] = Field(description="Its proposals, newest first.")
