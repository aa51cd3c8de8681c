"""Model versions: list, inspect, activate, roll back, delete (changes need the admin key)."""

from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.deps import AdminKeyDep, RegistryDep
from app.schemas.common import error_responses
from app.schemas.lifecycle import Activation, ActivationHistory, Comparison, VersionDetail, VersionList
from app.services import lifecycle

# AdminKeyFirstRoute: the admin key is checked before anything of the request is read.
router = APIRouter(prefix="/models", tags=["models"], route_class=AdminKeyFirstRoute)

VersionPath = Annotated[str, Path(max_length=64, description="A model version id.")]
ReasonQuery = Annotated[str, Query(max_length=200, description="Why, for the activation history.")]
_ADMIN_ERRORS = error_responses(401, 403, 429)


@router.get("", response_model=VersionList, summary="List model versions")
def list_versions(registry: RegistryDep) -> dict:
    """Every version, newest first, with metrics, the k sweep and which one is active."""
    return lifecycle.list_versions(registry=registry)


@router.get("/history", response_model=ActivationHistory, summary="Activation history")
def activation_history(registry: RegistryDep) -> dict:
    """Every activation: when, from which version, to which, why and by which key id."""
    return lifecycle.history(registry=registry)


@router.post(
    "/rollback",
    response_model=Activation,
    summary="Roll back",
    description="Activate the version that was active before the current one, from the history.",
    responses={**_ADMIN_ERRORS, **error_responses(409, 422)},
)
def rollback(registry: RegistryDep, key: AdminKeyDep, reason: ReasonQuery = "") -> dict:
    """Go back to the previously active version."""
    return lifecycle.rollback(registry=registry, reason=reason, key=key)


@router.get(
    "/{version}", response_model=VersionDetail, summary="One model version", responses=error_responses(404, 422)
)
def version_detail(version: VersionPath, registry: RegistryDep) -> dict:
    """One version with its segments."""
    return lifecycle.version_detail(registry=registry, version=version)


@router.get(
    "/{version}/compare",
    response_model=Comparison,
    summary="Compare two versions",
    description="Segments the candidate's training customers (its stored sample) with both versions: a migration "
    "matrix from each old segment to each new one, each shared segment's centroid shift in original units, size "
    "and share changes, and metric deltas. `with` is a version id or `active`.",
    responses=error_responses(404, 409, 422, 503),
)
def compare_versions(
    version: VersionPath,
    registry: RegistryDep,
    with_version: Annotated[
        str, Query(alias="with", max_length=64, description="A version id or 'active'.")
    ] = "active",
) -> dict:
    """Compare a version with another one or the active one."""
    return lifecycle.compare(registry=registry, version=version, with_version=with_version)


@router.post(
    "/{version}/activate",
    response_model=Activation,
    summary="Activate a version",
    description="Every worker (and every host sharing the model folder) serves it within about a second. "
    "Refused with 409 for the version already active (nothing is recorded, so a rollback still goes back to the "
    "one before it).",
    responses={**_ADMIN_ERRORS, **error_responses(404, 409, 422)},
)
def activate(version: VersionPath, registry: RegistryDep, key: AdminKeyDep, reason: ReasonQuery = "") -> dict:
    """Make a version the active one."""
    return lifecycle.activate(registry=registry, version=version, reason=reason or "activated", key=key)


@router.delete(
    "/{version}",
    status_code=204,
    summary="Delete a version",
    description="Refused with 409 for the active version.",
    responses={**_ADMIN_ERRORS, **error_responses(404, 409, 422)},
)
def delete_version(version: VersionPath, registry: RegistryDep, key: AdminKeyDep) -> Response:
    """Delete a version that is not active."""
    lifecycle.delete(registry=registry, version=version)
    return Response(status_code=204)
