"""What each segment is and how big it is (the public paths say `clusters`)."""

from typing import Annotated

from annotated_types import Ge
from fastapi import APIRouter, Path

from app.controllers.deps import SegmenterDep
from app.schemas.common import DIGITS_ONLY, error_responses
from app.schemas.rules import SegmentRules
from app.schemas.segments import ClustersInfoResponse, ClustersResponse, SegmentDetail
from app.services import rules, segments

router = APIRouter(prefix="/clusters", tags=["segments"], responses=error_responses(503))


@router.get(
    "",
    response_model=ClustersResponse,
    response_model_exclude_none=True,
    summary="Segment statistics",
    description="For every segment: size and share of the training customers, centroid in original units, and the "
    "mean, standard deviation, minimum and maximum of each feature; and, when the training data has Age or Gender, "
    "the segment's age quartiles and gender shares (`profile`, absent otherwise).",
)
async def segment_statistics(model: SegmenterDep) -> dict:
    """Statistics of every segment."""
    return segments.segment_statistics(model)


@router.get(
    "/info",
    response_model=ClustersInfoResponse,
    summary="Segment descriptions and strategies",
    description="For every segment: name, description, marketing strategy and characteristics.",
)
async def segment_descriptions(model: SegmenterDep) -> dict:
    """Meaning and advice for every segment."""
    return segments.segment_descriptions(model)


@router.get(
    "/{segment_id}",
    response_model=SegmentDetail,
    response_model_exclude_none=True,
    summary="One segment",
    description="Statistics and meaning of one segment, by its stable segment_id (0-4 for the five named segments).",
    responses=error_responses(404, 422),
)
async def segment_detail(
    segment_id: Annotated[int, Ge(0), DIGITS_ONLY, Path(description="Stable segment id.", examples=[1])],
    model: SegmenterDep,
) -> dict:
    """One segment by stable id."""
    return segments.segment_detail(model, segment_id=segment_id)


@router.get(
    "/{segment_id}/rules",
    response_model=SegmentRules,
    summary="One segment as CRM rules",
    description="The segment as rules read from a shallow decision tree (depth 3) fitted on the training customers "
    "when the version was trained: sentences in the features' labels and units, `conditions` (alternatives ORed, "
    "each a list of ANDed `{feature, column, op, value}`), an ANSI SQL WHERE clause on the source columns, and how "
    "faithfully the rules reproduce the model on the training data (`precision`, `recall`, `fidelity` = the lower "
    "of the two). A version trained before rules were recorded answers 409: retrain it.",
    responses=error_responses(404, 409, 422),
)
async def segment_rules(
    segment_id: Annotated[int, Ge(0), DIGITS_ONLY, Path(description="Stable segment id.", examples=[1])],
    model: SegmenterDep,
) -> dict:
    """One segment's rules, SQL and fidelity, as recorded at training."""
    return rules.segment_rules(model, segment_id=segment_id)
