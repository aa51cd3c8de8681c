"""Model versions: train, list, inspect, compare, activate, roll back, delete (changes need the admin key).

Every /models route is here. The router is built by `build_router`, not at import, because one route (training)
takes an upload with its own body limit from settings; the next segmentations mount the same router again under
their own prefix.
"""

import shutil
import tempfile
from itertools import permutations
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, Response, UploadFile
from fastapi import Path as PathParam

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import (
    AdminKeyDep,
    OneValuePerField,
    RegistryDep,
    SettingsDep,
    from_models_page,
    reason_query,
    segmentation_of,
)
from app.models.clustering import K_RANGE, MAX_SEED
from app.models.features import FEATURES
from app.models.segmentations.spec import DEFAULT_NAME
from app.schemas.common import error_responses
from app.schemas.jobs import JobAccepted, TrainingEngine
from app.schemas.versions import Activation, ActivationHistory, Comparison, LabelIn, VersionDetail, VersionList
from app.services import lifecycle
from app.services.training.launch import parse_features, start_training_job
from app.services.training.store import job_files

VersionPath = Annotated[str, PathParam(max_length=64, description="A model version id.")]
ReasonQuery = reason_query("activation")
_ADMIN_ERRORS = error_responses(401, 403, 429)
# The training form's text as the training service reads it, declared in the schema only: the service refuses the
# rest with messages that say more than a pattern. k: 'auto' (any case) or a whole number in K_RANGE; features:
# distinct known names, separated by commas or spaces.
_BLANK = "[ \\t\\n\\r]*"
K_PATTERN = f"^(?:{_BLANK}(?:[aA][uU][tT][oO]|0*(?:{'|'.join(str(k) for k in K_RANGE)})){_BLANK})?$"
FEATURES_PATTERN = (
    "^[ \\t\\n\\r,]*(?:(?:"
    + "|".join(
        "[ \\t\\n\\r,]+".join(names) for count in range(1, len(FEATURES) + 1) for names in permutations(FEATURES, count)
    )
    + "))?[ \\t\\n\\r,]*$"
)


def start_training(
    request: Request,
    response: Response,
    settings: SettingsDep,
    key: AdminKeyDep,
    # Typed without `| None` so the schema says "a file, or leave the field out", not "a file or null"; an empty
    # file is refused, so the schema says so too (minLength).
    file: Annotated[
        UploadFile,
        File(description="Customer CSV (public header or snake_case).", json_schema_extra={"minLength": 1}),
    ] = None,  # type: ignore[assignment]
    k: Annotated[
        str,
        Form(
            max_length=8, description="Number of segments (2-10) or 'auto'.", json_schema_extra={"pattern": K_PATTERN}
        ),
    ] = "5",
    features: Annotated[
        str,
        Form(
            max_length=200,
            description="Comma-separated feature names, each once: the default segmentation's (left out: "
            "annual_income, spending_score). Any other segmentation trains on the features it was created with.",
            json_schema_extra={"pattern": FEATURES_PATTERN},
        ),
    ] = "",
    seed: Annotated[
        int, Form(ge=0, le=MAX_SEED, description="Random seed of KMeans: the same file and seed train the same model.")
    ] = 42,
    activate: Annotated[
        bool, Form(description="Serve the new version once trained; otherwise it is kept for a later activate.")
    ] = False,
    sweep: Annotated[
        bool, Form(description="Also fit k = 2..10 for the k chart (slower). Always done for k = 'auto'.")
    ] = False,
    engine: Annotated[
        TrainingEngine,
        Form(description="`local`: the file in memory; `dask`: on a Dask cluster, for files of any size."),
    ] = "local",
) -> dict:
    """Queue a training job (plain def: copying the upload is blocking I/O)."""
    upload: Path | None = None
    try:
        with job_files(settings.job_root):
            if file is not None and (file.filename or file.size):
                settings.job_root.mkdir(parents=True, exist_ok=True)
                with tempfile.NamedTemporaryFile(dir=settings.job_root, prefix=".upload-", delete=False) as handle:
                    upload = Path(handle.name)
                    shutil.copyfileobj(file.file, handle)
            job_id = start_training_job(
                settings=settings,
                upload=upload,
                k=k,
                features=features,
                seed=seed,
                activate=activate,
                sweep=sweep,
                key=key,
                request_id=getattr(request.state, "request_id", None),
                upload_name=file.filename if upload is not None else None,
                segmentation=segmentation_of(request),
                engine=engine,
                origin="page" if from_models_page(request) else "api",
            )
    finally:
        if upload is not None:
            upload.unlink(missing_ok=True)
    response.headers["Location"] = f"/api/v1/jobs/{job_id}"
    audit(
        request,
        who=key,
        action="version.train",
        target=job_id,
        detail={
            "segmentation": segmentation_of(request),
            "k": k,
            # What the job trains on: the default's features as named (its two when left out); another
            # segmentation's are its spec's (null here).
            "features": ",".join(parse_features(features)) if segmentation_of(request) == DEFAULT_NAME else None,
            "activate": activate,
            "engine": engine,
        },
    )
    return {"job_id": job_id}


def list_versions(registry: RegistryDep) -> dict:
    """Every version, newest first, with metrics, the k sweep and which one is active."""
    return lifecycle.list_versions(registry=registry)


def activation_history(registry: RegistryDep) -> dict:
    """Every activation: when, from which version, to which, why and by which key id."""
    return lifecycle.history(registry=registry)


def rollback(request: Request, registry: RegistryDep, key: AdminKeyDep, reason: ReasonQuery = "") -> dict:
    """Go back to the previously active version."""
    entry = lifecycle.rollback(registry=registry, reason=reason, key=key)
    audit(request, who=key, action="version.rollback", target=str(entry.get("to")), detail=_about(request, entry))
    return entry


def version_detail(version: VersionPath, registry: RegistryDep) -> dict:
    """One version with its segments."""
    return lifecycle.version_detail(registry=registry, version=version)


def compare_versions(
    version: VersionPath,
    registry: RegistryDep,
    with_version: Annotated[
        str, Query(alias="with", max_length=64, description="A version id or 'active'.")
    ] = "active",
) -> dict:
    """Compare a version with another one or the active one."""
    return lifecycle.compare(registry=registry, version=version, with_version=with_version)


def activate(
    request: Request, version: VersionPath, registry: RegistryDep, key: AdminKeyDep, reason: ReasonQuery = ""
) -> dict:
    """Make a version the active one."""
    entry = lifecycle.activate(registry=registry, version=version, reason=reason or "activated", key=key)
    audit(request, who=key, action="version.activate", target=version, detail=_about(request, entry))
    return entry


def _about(request: Request, entry: dict) -> dict:
    return {"segmentation": segmentation_of(request), "from": entry.get("from"), "reason": entry.get("reason")}


def label_version(
    request: Request, version: VersionPath, body: LabelIn, registry: RegistryDep, key: AdminKeyDep
) -> dict:
    """Give a version a label, or remove it."""
    detail = lifecycle.set_label(registry=registry, version=version, label=body.label, key=key)
    about = {"segmentation": segmentation_of(request), "label": detail.get("label")}
    audit(request, who=key, action="version.label", target=version, detail=about)
    return detail


def delete_version(request: Request, version: VersionPath, registry: RegistryDep, key: AdminKeyDep) -> Response:
    """Delete a version that is not active."""
    lifecycle.delete(registry=registry, version=version)
    audit(request, who=key, action="version.delete", target=version, detail={"segmentation": segmentation_of(request)})
    return Response(status_code=204)


def build_router(*, upload_limit: int) -> APIRouter:
    """The /models routes; training takes uploads of up to `upload_limit` bytes, the others the JSON body limit."""
    # AdminKeyFirstRoute: a missing or wrong admin key is refused before anything of the request is read.
    router = APIRouter(prefix="/models", tags=["models"], route_class=AdminKeyFirstRoute)
    router.post(
        "",
        status_code=202,
        response_model=JobAccepted,
        summary="Train a new version",
        description="Starts a training job in a separate process on the uploaded CSV (field `file`), or on the "
        "bundled data when no file is sent. Answers 202 with the job id and its URL in `Location`; follow it at "
        "`/api/v1/jobs/{job_id}`. The new version is activated only with `activate=true` (or when none is active).",
        responses=error_responses(400, 401, 403, 409, 413, 415, 422, 429, 503),
        max_body_size=upload_limit,
        dependencies=[OneValuePerField],
    )(start_training)
    router.get("", response_model=VersionList, summary="List model versions")(list_versions)
    router.get("/history", response_model=ActivationHistory, summary="Activation history")(activation_history)
    router.post(
        "/rollback",
        response_model=Activation,
        summary="Roll back",
        description="Activate the version that was active before the current one, from the history.",
        responses={**_ADMIN_ERRORS, **error_responses(409, 422)},
    )(rollback)
    router.get(
        "/{version}", response_model=VersionDetail, summary="One model version", responses=error_responses(404, 422)
    )(version_detail)
    router.get(
        "/{version}/compare",
        response_model=Comparison,
        summary="Compare two versions",
        description="Segments the candidate's training customers (its stored sample) with both versions: a "
        "migration matrix from each old segment to each new one, each shared segment's centroid shift in original "
        "units, size and share changes, and metric deltas. `with` is a version id or `active`.",
        responses=error_responses(404, 409, 422, 503),
    )(compare_versions)
    router.post(
        "/{version}/activate",
        response_model=Activation,
        summary="Activate a version",
        description="Every worker (and every host sharing the model folder) serves it within about a second. "
        "Refused with 409 for the version already active (nothing is recorded, so a rollback still goes back to "
        "the one before it).",
        responses={**_ADMIN_ERRORS, **error_responses(404, 409, 422)},
    )(activate)
    router.patch(
        "/{version}",
        response_model=VersionDetail,
        summary="Label a version",
        description='Sets the label people know a version by (`""` removes it). The label is kept beside the '
        "version, so its signed files and checksums are unchanged.",
        responses={**_ADMIN_ERRORS, **error_responses(400, 404, 413, 415, 422)},
    )(label_version)
    router.delete(
        "/{version}",
        status_code=204,
        summary="Delete a version",
        description="Refused with 409 for the active version.",
        responses={**_ADMIN_ERRORS, **error_responses(404, 409, 422)},
    )(delete_version)
    return router
