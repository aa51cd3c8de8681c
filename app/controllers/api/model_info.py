"""The active model's metadata."""

from fastapi import APIRouter

from app.controllers.deps import SegmenterDep
from app.schemas.common import error_responses
from app.schemas.model_info import ModelInfo
from app.services import segments

router = APIRouter(prefix="/model", tags=["model"], responses=error_responses(503))


@router.get(
    "/info",
    response_model=ModelInfo,
    summary="Model metadata",
    description="Algorithm, k, features, version, training time, number of customers, quality metrics, the k "
    "selection evidence (inertia and silhouette for k = 2..10) and the scikit-learn version.",
)
async def model_info(model: SegmenterDep) -> dict:
    """Metadata of the active model."""
    return segments.model_facts(model)
