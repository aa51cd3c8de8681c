"""The active model's metadata."""

from fastapi import APIRouter

from app.controllers.deps import OptionalAdminKeyDep, SegmenterDep
from app.schemas.common import error_responses
from app.schemas.model_info import ModelInfo
from app.services import segments

router = APIRouter(prefix="/model", tags=["model"], responses=error_responses(403, 429, 503))


@router.get(
    "/info",
    response_model=ModelInfo,
    summary="Model metadata",
    description="Algorithm, k, features, version, training time, number of customers, quality metrics, the k "
    "selection evidence (inertia and silhouette for k = 2..10). The scikit-learn version is only given to a "
    "caller with an admin key in X-API-Key (null otherwise); a wrong key is refused and counted like any admin key.",
    # The key is optional here: FastAPI lists the AdminKey requirement, and this adds `{}` (no requirement) as the
    # alternative, which is how OpenAPI spells optional authentication.
    openapi_extra={"security": [{}]},
)
async def model_info(model: SegmenterDep, admin_key: OptionalAdminKeyDep) -> dict:
    """Metadata of the active model (the scikit-learn version for admins only)."""
    return segments.model_facts(model, include_sklearn_version=admin_key is not None)
