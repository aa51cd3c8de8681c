"""What would move a customer into a chosen segment: the default's flat body, and each segmentation's own."""

from fastapi import APIRouter

from app.controllers.api.segmentations import SegmentationPath
from app.controllers.deps import PredictRateLimit, RequestedModelDep
from app.core.json_route import JSONBodyRoute
from app.schemas.common import error_responses
from app.schemas.counterfactual import Counterfactual, CounterfactualIn, FeaturesCounterfactualIn
from app.services import counterfactual as service

DESCRIPTION = (
    "The nearest values the model puts in `target_segment` (an id or a name): the smallest change in standardized "
    "units, weighted per feature by `weights` (default 1), keeping `immutable` features as they are and every "
    "feature within its valid range. The answer gives the `target_point` and the signed `changes` in the features' "
    "own units, and `reachable: false` with a `reason` when no such values exist. A customer already in the target "
    "gets a zero change. An unknown segment is a 404; an unknown feature or a weight that is not positive a 422."
)

router = APIRouter(
    tags=["predictions"],
    route_class=JSONBodyRoute,
    # 401 and 403 for a key or token sent that fails (checked even where anyone may call), or with PUBLIC_READS off.
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    dependencies=[PredictRateLimit],
)


@router.post(
    "/predict/counterfactual",
    response_model=Counterfactual,
    summary="What would move a customer into a segment",
    description=DESCRIPTION,
)
def counterfactual(body: CounterfactualIn, model: RequestedModelDep) -> dict:
    """The smallest change that moves a default-segmentation customer into the target segment."""
    return service.counterfactual_of_customer(
        model=model,
        customer=body.customer,
        target=body.target_segment,
        immutable=body.immutable,
        weights=body.weights,
    )


@router.post(
    "/segmentations/{segmentation}/predict/counterfactual",
    response_model=Counterfactual,
    summary="What would move a segmentation's customer into a segment",
    description=DESCRIPTION + ' The customer is the segmentation\'s predict body: `{"features": {...}}` (or an RFM '
    "customer's `transactions`).",
)
def counterfactual_by_features(
    segmentation: SegmentationPath, body: FeaturesCounterfactualIn, model: RequestedModelDep
) -> dict:
    """The smallest change that moves a segmentation's customer into the target segment."""
    return service.counterfactual_by_features(
        model=model,
        customer=body.customer,
        target=body.target_segment,
        immutable=body.immutable,
        weights=body.weights,
    )
