"""Challenger requests for /api/v1/challenger."""

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from app.schemas.common import example_config


class ChallengerIn(BaseModel):
    """A version to challenge the champion with, and how much traffic it sees."""

    model_config = example_config(
        {"version": "20261206.101500.123456-abcdef1234", "mode": "split", "share": 0.3}, extra="forbid"
    )

    version: Annotated[str, Field(min_length=1, max_length=64, description="A model version of this segmentation.")]
    mode: Literal["split", "shadow"] = Field(
        description="`split`: a share of customers (by a hash of `customer_id`) is answered by the challenger; "
        "`shadow`: the champion answers every request and the challenger scores it too, for the report."
    )
    share: Annotated[
        float | None,
        Field(
            gt=0,
            lt=1,
            allow_inf_nan=False,
            description="Split mode: the part of customers the challenger answers, strictly between 0 and 1.",
        ),
    ] = None
