"""Segmentations: list, create, describe, delete, and predict by a segmentation's features.

Every other per-model route (CSV scoring, clusters, model info, versions, jobs, drift) is the top-level router joined
again under /segmentations/{segmentation} (see build_api_router): the dependencies find the segmentation's registry
from the path, so one implementation serves `default` at the top level and every segmentation under its name.
"""

from typing import Annotated

from fastapi import APIRouter, Body, Depends, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.api.predictions import ExplainQuery, rendered_response
from app.controllers.audit import audit
from app.controllers.deps import (
    AdminKeyDep,
    ServedModelDep,
    SessionDep,
    SettingsDep,
    answer_response,
    assignment_writer,
    valid_segmentation,
)
from app.core.errors import InvalidRequest
from app.core.json_route import JSONBodyRoute
from app.models.segmentations.spec import NAME_PATTERN
from app.schemas.common import UPLOAD_BODY, error_responses
from app.schemas.prediction import BatchPrediction, Prediction
from app.schemas.segmentations import (
    FeaturesBatchIn,
    FeaturesCustomerIn,
    FileProfile,
    SegmentationIn,
    SegmentationList,
    SegmentationOut,
)
from app.services import segmentations as service
from app.services.challenger import serving
from app.services.segmentation_predictions import predict_by_features, predict_many_by_features
from app.utils.responses import FastJSONResponse
from app.web import uploads

router = APIRouter(prefix="/segmentations", tags=["segmentations"], route_class=AdminKeyFirstRoute)
NamePath = Annotated[str, Depends(valid_segmentation)]


def _segmentations(request: Request):
    return request.app.state.segmentations


@router.get("", response_model=SegmentationList, summary="Every segmentation")
def list_segmentations(request: Request) -> dict:
    """Every segmentation with its features and served version, `default` first."""
    return service.list_segmentations(segmentations=_segmentations(request))


@router.post(
    "",
    status_code=201,
    response_model=SegmentationOut,
    summary="Create a segmentation",
    description="A `columns` segmentation names 2 to 8 numeric columns of your customer files; an `rfm` one builds "
    "recency, frequency and monetary from a transactions file (its columns detected from the header unless given). "
    "Train its first version with POST /api/v1/segmentations/{name}/models: the first version becomes active.",
    responses=error_responses(400, 401, 403, 409, 413, 415, 422, 429),
)
def create_segmentation(body: SegmentationIn, request: Request, response: Response, key: AdminKeyDep) -> dict:
    """Create a segmentation (no version yet)."""
    created = service.create_segmentation(
        segmentations=_segmentations(request), body=body.model_dump(exclude_none=True)
    )
    response.headers["Location"] = created["links"]["self"]
    audit(request, who=key, action="segmentation.create", target=body.name, detail={"kind": body.kind})
    return created


@router.get(
    "/{segmentation}",
    response_model=SegmentationOut,
    summary="One segmentation",
    responses=error_responses(404, 422),
)
def get_segmentation(segmentation: NamePath, request: Request) -> dict:
    """One segmentation with its features, served version, segments and an example request."""
    return service.get_segmentation(segmentations=_segmentations(request), name=segmentation)


@router.delete(
    "/{segmentation}",
    status_code=204,
    summary="Delete a segmentation",
    description="Deletes the segmentation, every version of it and its history (logged predictions, drift checks, "
    "runs, outcomes, proposals, challenger assignments), so a new segmentation of the same name starts afresh. "
    "Refused (409) while it has an active version, unless `force=true`; `default` can never be deleted. A 503 when "
    "the database cannot take the deletion: then nothing is deleted.",
    responses=error_responses(401, 403, 404, 409, 422, 429, 503),
)
def delete_segmentation(
    segmentation: NamePath,
    request: Request,
    settings: SettingsDep,
    key: AdminKeyDep,
    session: SessionDep,
    force: Annotated[bool, Query(description="Delete even while a version is active.")] = False,
) -> Response:
    """Delete a segmentation."""
    service.delete_segmentation(
        segmentations=_segmentations(request),
        name=segmentation,
        force=force,
        job_root=settings.job_root,
        session=session,
        log_writer=getattr(request.app.state, "prediction_log", None),
        results_dir=settings.score_results_dir,
    )
    audit(request, who=key, action="segmentation.delete", target=segmentation, detail={"force": force})
    return Response(status_code=204)


# Predictions by features: the segmentation's own body shape, also for `default` under its name.
predictions = APIRouter(
    prefix="/segmentations/{segmentation}/predict",
    tags=["segmentations"],
    route_class=JSONBodyRoute,
    # 401 and 403 for a key or token sent that fails (checked even where anyone may call), or with PUBLIC_READS off.
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    # The prediction limit is counted by ServedModelDep, which every route here takes.
)
# Declared on each route rather than checked by a router dependency: one dependency level less on the hot path,
# and the model's dependency already answers 404 for an unknown segmentation and 422 for a malformed name.
SegmentationPath = Annotated[
    str, Path(pattern=NAME_PATTERN.pattern, description="The segmentation's name.", examples=["default", "rfm"])
]


@predictions.post(
    "",
    response_model=Prediction,
    summary="Segment one customer of a segmentation",
    description='The body names the served version\'s features: `{"features": {"recency_days": 12, ...}}`; an '
    "unknown, missing or out-of-range feature is a 422 naming it. An `rfm` segmentation also takes the customer's "
    "`transactions` (and a `reference_date`). GET /api/v1/segmentations/{name} shows each one's features and an "
    "example.",
)
async def predict(
    segmentation: SegmentationPath,
    customer: Annotated[FeaturesCustomerIn, Body()],
    served: ServedModelDep,
    request: Request,
    explain: ExplainQuery = False,
) -> FastJSONResponse:
    """Segment one customer by features (or transactions)."""
    model, challenger = served
    answer = serving.answer_one(
        model,
        challenger,
        customer_id=customer.get("customer_id"),
        segmentation=segmentation,
        predict=lambda chosen: predict_by_features(chosen, customer, segmentation=segmentation, explained=explain),
        assignments=assignment_writer(request),
    )
    return answer_response(request, answer)


@predictions.post(
    "/batch",
    response_model=BatchPrediction,
    summary="Segment many customers of a segmentation",
    description='`{"customers": [{"features": {...}, "customer_id": ...}, ...]}`, in input order.',
)
def predict_batch(
    segmentation: SegmentationPath,
    batch: FeaturesBatchIn,
    served: ServedModelDep,
    request: Request,
    settings: SettingsDep,
    explain: ExplainQuery = False,
) -> Response:
    """Segment a batch of customers by features."""
    if len(batch.customers) > settings.max_batch_size:
        raise InvalidRequest(
            f"too many customers: at most {settings.max_batch_size} per request, got {len(batch.customers)}; "
            "split the batch"
        )
    model, challenger = served
    if challenger is None:
        answer = predict_many_by_features(
            model, batch.customers, segmentation=segmentation, explained=explain, rendered=True
        )
        return rendered_response(request, answer)
    answer = serving.predict_many(
        champion=model,
        challenger=challenger,
        customers=batch.customers,
        segmentation=segmentation,
        predict=lambda chosen, customers: predict_many_by_features(
            chosen, customers, segmentation=segmentation, explained=explain
        ),
        assignments=assignment_writer(request),
    )
    return answer_response(request, answer)


# A file's profile: its own router, joined with the upload limit rather than the JSON body limit.
# Not under /segmentations: /segmentations/profile would also be the segmentation named "profile".
profiles = APIRouter(prefix="/files", tags=["segmentations"], route_class=AdminKeyFirstRoute)


@profiles.post(
    "/profile",
    response_model=FileProfile,
    summary="Profile a customer file before creating a segmentation",
    description="Send a CSV (a `text/csv` body, or the `file` field of a form): the answer is its delimiter, header "
    "and first rows, and for each column whether it is numeric, its minimum, maximum, mean and missing values, "
    "whether it looks like an id, and a suggested feature name, label, unit and range, ready to edit into the "
    "`features` of POST /api/v1/segmentations. Reads the first 8 MiB at most.",
    responses=error_responses(400, 401, 403, 413, 415, 422, 429),
    openapi_extra=UPLOAD_BODY,
)
async def profile(request: Request, settings: SettingsDep, key: AdminKeyDep) -> dict:
    """A file's header, first rows and suggested features (async to stream the upload; reading runs in a thread)."""
    from app.models.columns_profile import profile_file  # pandas: imported on first use

    upload = await uploads.receive_upload(request.headers, request.stream(), limit=settings.max_upload_bytes)
    try:
        return await run_in_threadpool(profile_file, upload.path, name=f"'{upload.name}'")
    finally:
        upload.discard()
