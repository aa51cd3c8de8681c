"""Segment one customer or a batch: parse, call the prediction service, return."""

from typing import Annotated

from fastapi import APIRouter, Body, Query, Request, Response

from app.controllers.deps import (
    BatchDep,
    ServedModelDep,
    answer_response,
    assignment_writer,
    prediction_log_target,
)
from app.core.json_route import JSONBodyRoute
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.common import error_responses
from app.schemas.prediction import BatchPrediction, CustomerIn, Prediction
from app.services import prediction
from app.services.challenger import serving
from app.utils.responses import FastJSONResponse

# JSONBodyRoute: a body that is not JSON gets a 415, and a key given twice a 400 (see app/core/json_route.py).
router = APIRouter(
    prefix="/predict",
    tags=["predictions"],
    route_class=JSONBodyRoute,
    # 401 and 403 for a key or token sent that fails (checked even where anyone may call), or with PUBLIC_READS off.
    responses=error_responses(400, 401, 403, 404, 413, 415, 422, 429, 503),
    # The prediction limit is counted by ServedModelDep, which every route here takes.
)
# Opt-in: without it answers stay as they were, and no explanation is computed.
ExplainQuery = Annotated[
    bool,
    Query(
        description="Also answer why: each prediction gets an `explanation` (every feature against the segment's "
        "typical range, its share of the distance and of the margin over the runner-up, and what confidence says)."
    ),
]


def rendered_response(request: Request, answer: prediction.Answer) -> Response:
    """An answer rendered to JSON bytes (`predict_customers(rendered=True)`) as a response, then recorded."""
    response = Response(answer.json, media_type="application/json")
    log = prediction_log_target(request)
    answer.record(log=log.writer, request_id=log.request_id)
    return response


@router.post(
    "",
    response_model=Prediction,
    summary="Segment one customer",
    description="Returns the customer's segment with its description and marketing strategy, the distance to every "
    "segment, a confidence from the margin to the runner-up segment, whether the customer is atypical, and which "
    "values lie outside the range the model was trained on.",
)
async def predict(
    customer: Annotated[
        CustomerIn, Body(openapi_examples={"vip": {"value": {"annual_income": 120, "spending_score": 90}}})
    ],
    served: ServedModelDep,
    request: Request,
    explain: ExplainQuery = False,
) -> FastJSONResponse:
    """Segment one customer (async: ~50 µs of model work costs less in the event loop than a thread hop)."""
    model, challenger = served
    answer = serving.answer_one(
        model,
        challenger,
        customer_id=customer.get("customer_id"),
        segmentation=DEFAULT_NAME,
        predict=lambda chosen: prediction.predict_customer(chosen, customer, explained=explain),
        assignments=assignment_writer(request),
    )
    return answer_response(request, answer)


@router.post(
    "/batch",
    response_model=BatchPrediction,
    summary="Segment many customers",
    description="Segments up to the configured max batch size (default 10,000) customers in one call. Predictions "
    "come back in input order, with the number of customers in each segment.",
)
def predict_batch(batch: BatchDep, served: ServedModelDep, request: Request, explain: ExplainQuery = False) -> Response:
    """Segment a batch of customers in input order."""
    model, challenger = served
    if challenger is None:
        answer = prediction.predict_customers(model, batch.customers, explained=explain, rendered=True)
        return rendered_response(request, answer)
    answer = serving.predict_many(
        champion=model,
        challenger=challenger,
        customers=batch.customers,
        segmentation=DEFAULT_NAME,
        predict=lambda chosen, customers: prediction.predict_customers(chosen, customers, explained=explain),
        assignments=assignment_writer(request),
    )
    return answer_response(request, answer)
