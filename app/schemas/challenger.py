"""Challenger requests for /api/v1/challenger."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config

VersionField = Annotated[
    str, Field(min_length=1, max_length=64, description="A model version of this segmentation (not the active one).")
]


class SplitIn(BaseModel):
    """Split: a share of customers, chosen by a hash of `customer_id`, is answered by the challenger."""

    model_config = example_config(
        {"version": "20261206.101500.123456-abcdef1234", "mode": "split", "share": 0.3}, extra="forbid"
    )

    version: VersionField
    mode: Literal["split"] = Field(description="`split`: the challenger answers a share of customers.")
    share: Annotated[
        float,
        Field(
            strict=True,  # a number, as every other number of the API: "0.5" and true are refused
            gt=0,
            lt=1,
            allow_inf_nan=False,
            description="The part of customers the challenger answers, strictly between 0 and 1.",
        ),
    ]


class ShadowIn(BaseModel):
    """Shadow: the champion answers every request and the challenger scores it too, for the report."""

    model_config = example_config({"version": "20261206.101500.123456-abcdef1234", "mode": "shadow"}, extra="forbid")

    version: VersionField
    mode: Literal["shadow"] = Field(description="`shadow`: the challenger scores beside the champion, never answers.")


ChallengerIn = Annotated[SplitIn | ShadowIn, Field(discriminator="mode")]
# What /docs offers to send: the body is one of two schemas, whose own examples Swagger UI does not show.
CHALLENGER_EXAMPLES = {
    mode.__name__.removesuffix("In").lower(): {"value": mode.model_config["json_schema_extra"]["examples"][0]}
    for mode in (SplitIn, ShadowIn)
}


class ChallengerSetting(BaseModel):
    """The running challenger."""

    version: str = Field(description="The challenger's version.")
    mode: Literal["split", "shadow"] = Field(description="`split`: it answers a share; `shadow`: it only scores.")
    share: float = Field(description="Split mode: the part of customers the challenger answers (1 in shadow mode).")
    set_at: str | None = Field(None, description="When it was set (ISO 8601, UTC).")


class ChallengerState(BaseModel):
    """A segmentation's champion and challenger, with the challenger's history."""

    model_config = example_config(
        {
            "segmentation": "default",
            "champion": "20261205.090000.000000-abcdef1234",
            "challenger": {
                "version": "20261206.101500.123456-abcdef1234",
                "mode": "split",
                "share": 0.3,
                "set_at": "2026-12-06T10:20:00.000+00:00",
            },
            "served": True,
            "history": [
                {"at": "2026-12-06T10:20:00.000+00:00", "event": "set", "version": "20261206.101500.123456-abcdef1234"}
            ],
        }
    )

    segmentation: str = Field(description="The segmentation it runs in.")
    champion: str | None = Field(description="The active version, which answers every request outside the split.")
    challenger: ChallengerSetting | None = Field(description="The running challenger, or null.")
    served: bool = Field(description="Whether this worker serves the challenger (false while it cannot load it).")
    history: list[dict[str, Any]] = Field(description="The last 20 changes: set, stopped, promoted, cleared.")
    activation: dict[str, Any] | None = Field(None, description="Promote only: the activation's history entry.")


class SegmentAgreement(BaseModel):
    """How often the challenger puts a champion segment's customers in the same segment."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    name: str = Field(description="The segment's name in the champion.")
    n: int = Field(description="Requests the champion put in this segment.")
    agreed: int = Field(description="Of those, how many the challenger put in the segment with the same id.")
    agreement: float | None = Field(description="agreed / n; null when n is 0.")


class ChallengerReport(BaseModel):
    """How the challenger agrees with the champion on live traffic, and the arms' sizes."""

    model_config = example_config(
        {
            "segmentation": "default",
            "champion": "20261205.090000.000000-abcdef1234",
            "challenger": "20261206.101500.123456-abcdef1234",
            "mode": "shadow",
            "share": 1.0,
            "set_at": "2026-12-06T10:20:00.000+00:00",
            "window": 10000,
            "requests_by_arm": {"champion": 2, "challenger": 0},
            "assignments_by_arm": {"champion": 2, "challenger": 0},
            "old_segments": [{"segment_id": 0, "name": "Average Customer"}],
            "new_segments": [{"segment_id": 0, "name": "Average Customer"}],
            "migration_matrix": [[2]],
            "n_paired": 2,
            "agreement": 1.0,
            "agreement_by_segment": [
                {"segment_id": 0, "name": "Average Customer", "n": 2, "agreed": 2, "agreement": 1.0}
            ],
            "cohen_kappa": None,
            "adjusted_rand_index": 1.0,
        }
    )

    segmentation: str = Field(description="The segmentation it runs in.")
    champion: str = Field(description="The active version.")
    challenger: str = Field(description="The challenger's version.")
    mode: Literal["split", "shadow"] = Field(description="`split`: it answers a share; `shadow`: it only scores.")
    share: float = Field(description="Split mode: the part of customers it answers (1 in shadow mode).")
    set_at: str | None = Field(description="When it was set (ISO 8601, UTC).")
    window: int = Field(description="How many of the latest paired requests the comparison covers, at most.")
    requests_by_arm: dict[str, int] = Field(description="Logged requests per arm since the challenger was set.")
    assignments_by_arm: dict[str, int] = Field(
        description="Customers the challenger's version assigned (in this run or an earlier one), each in the arm it "
        "last gave them: the arm their outcomes count in."
    )
    old_segments: list[dict[str, Any]] = Field(description="The champion's segments: the matrix's rows.")
    new_segments: list[dict[str, Any]] = Field(description="The challenger's segments: the matrix's columns.")
    migration_matrix: list[list[int]] = Field(description="Requests per champion segment (row) and challenger one.")
    n_paired: int = Field(description="Requests both versions scored (shadow mode) in the window.")
    agreement: float | None = Field(
        description="Share of the paired requests both versions put in the same segment id; null when none."
    )
    agreement_by_segment: list[SegmentAgreement] = Field(description="The agreement within each champion segment.")
    cohen_kappa: float | None = Field(description="Cohen's kappa of the paired segment ids (null when undefined).")
    adjusted_rand_index: float | None = Field(
        description="Adjusted Rand index of the paired segment ids: 1 the same grouping; null when undefined."
    )
