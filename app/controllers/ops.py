"""Operational endpoints: liveness, readiness and Prometheus metrics (outside /api/v1, not rate limited).

Only a wrong admin key offered to /metrics counts, against the client's allowance of failed keys.
"""

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from app.controllers.credential_limits import client_ip, limit_failed_keys
from app.controllers.deps import RegistryDep
from app.controllers.principal import refuse_repeated_credentials
from app.core.metrics import METRICS_CONTENT_TYPE, exposition
from app.core.security import require_metrics_access
from app.schemas.common import error_responses
from app.schemas.health import LivenessResponse, ReadinessResponse
from app.services.health import readiness_report
from app.services.monitoring.prediction_log import publish_log_queue

router = APIRouter(tags=["service"])
# Probes and monitors often ask with HEAD: each route answers it like GET (the server sends no body), outside the
# schema so each operation is documented once.


@router.get(
    "/livez",
    response_model=LivenessResponse,
    summary="Liveness",
    description="200 while the process is up and its event loop answers. It never touches the model, so a "
    "failing model does not get the process restarted.",
)
@router.head("/livez", include_in_schema=False)
async def livez() -> dict:
    """The process is up and answering; never looks at the model."""
    return {"status": "alive"}


@router.get(
    "/readyz",
    response_model=ReadinessResponse,
    summary="Readiness",
    description="200 when a model is loaded and its artifacts verified, so traffic can be sent; 503 with the "
    "reason otherwise. A worker that loaded a verified model keeps serving it when the ACTIVE pointer later names "
    "a version that cannot be loaded: it stays 200, with `details.degraded` saying what is wrong. From SIGTERM on "
    "it is 503 with a reason starting `draining`, while requests are still served for DRAIN_SECONDS.",
    responses={
        503: {
            "model": ReadinessResponse,
            "description": "No verified model is loaded, or the server is stopping; `reason` says which.",
        }
    },
)
@router.head("/readyz", include_in_schema=False)
async def readyz(registry: RegistryDep, request: Request) -> JSONResponse:
    """Whether to send traffic: a verified model is loaded and the server is not stopping (503 with the reason)."""
    draining = request.app.state.drain.started
    ready = registry.ready and not draining
    return JSONResponse(readiness_report(registry, draining=draining), status_code=200 if ready else 503)


async def metrics_access(request: Request) -> None:
    """Only allowed networks, or a caller with an admin key, may read the metrics (keys offered count as tries)."""
    refuse_repeated_credentials(request)
    client, api_key = client_ip(request), request.headers.get("x-api-key")

    def check() -> None:
        require_metrics_access(client=client, api_key=api_key, settings=request.app.state.settings)

    if api_key is None:
        # Scrapes from the allowed networks send no key and are never limited.
        check()
    else:
        # A key offered here is a key tried: it shares the client's allowance of failed admin keys.
        await limit_failed_keys(request, check)


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    description="Requests by route template, predictions by segment and source, atypical and out-of-range "
    "counts, batch and CSV sizes, model load time and version, and rate-limited requests, summed over every "
    "worker. Served to METRICS_ALLOWED_NETWORKS (loopback by default) or with an ADMIN_API_KEYS key in X-API-Key "
    "(a personal key is not one); anyone else gets 403.",
    response_class=Response,
    responses={200: {"content": {METRICS_CONTENT_TYPE: {}}}, **error_responses(403, 429)},
    dependencies=[Depends(metrics_access)],
    # No key from the allowed networks; an admin key from anywhere else.
    openapi_extra={"security": [{}, {"AdminKey": []}]},
)
@router.head("/metrics", include_in_schema=False, response_class=Response, dependencies=[Depends(metrics_access)])
def metrics() -> Response:
    """Request, prediction, model and rate-limit metrics in the Prometheus text format (sum over workers)."""
    # As of this scrape, not as a writer thread last set it.
    publish_log_queue()
    return Response(exposition(), media_type=METRICS_CONTENT_TYPE)
