"""Swagger UI and ReDoc served from locally installed assets, so the docs work offline and load nothing else."""

import copy
import json
from collections.abc import Callable, Iterator
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastapi_offline
from fastapi import APIRouter, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import HTMLResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.controllers.admin_route import declares
from app.controllers.deps import get_served_model, limit_by_client_ip, require_analyst, require_user, require_viewer
from app.core.errors import SegmentationError
from app.core.templating import templates
from app.models.segmentations.spec import DEFAULT_NAME
from app.services.counterfactual import example_request
from app.services.segmentations import describe
from app.utils.static import CachedStaticFiles

DOCS_ASSETS_URL = "/static-docs"
DOCS_ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS = CachedStaticFiles(directory=DOCS_ASSETS_DIR)
REDOC_BUNDLE_URL = "/docs-assets/redoc.standalone.js"
# ReDoc's sidebar footer always shows this logo from Redocly's CDN; the served bundle points at a local copy.
_REDOC_CDN_LOGO = b"https://cdn.redoc.ly/redoc/logo-mini.svg"

router = APIRouter(include_in_schema=False)


@lru_cache(maxsize=4)
def _redoc_bundle(logo_url: str) -> bytes:
    """ReDoc's standalone bundle with its one off-server request (the footer logo) pointed at this server."""
    return (DOCS_ASSETS_DIR / "redoc.standalone.js").read_bytes().replace(_REDOC_CDN_LOGO, logo_url.encode())


@router.get("/docs")
async def swagger_ui(request: Request) -> HTMLResponse:
    """Interactive API docs (Swagger UI)."""
    context = {"title": f"{request.app.title} - API docs", "openapi_url": request.app.openapi_url}
    return templates.TemplateResponse(request, "docs_swagger.html", context)


@router.get("/redoc")
async def redoc(request: Request) -> HTMLResponse:
    """Reference API docs (ReDoc), without web fonts."""
    context = {
        "title": f"{request.app.title} - API reference",
        "openapi_url": request.app.openapi_url,
        "redoc_js_url": REDOC_BUNDLE_URL,
    }
    return templates.TemplateResponse(request, "docs_redoc.html", context)


@router.get(REDOC_BUNDLE_URL)
async def redoc_bundle(request: Request) -> Response:
    """The ReDoc bundle, with its footer logo served from here rather than from a CDN."""
    logo_url = request.url_for("static", path="docs/logo-mini.svg").path
    return Response(
        _redoc_bundle(logo_url), media_type="text/javascript", headers={"Cache-Control": "public, max-age=3600"}
    )


SEGMENTATION_PREDICT = "/api/v1/segmentations/{segmentation}/predict"
SEGMENTATION_COUNTERFACTUAL = f"{SEGMENTATION_PREDICT}/counterfactual"
DEFAULT_COUNTERFACTUAL = "/api/v1/predict/counterfactual"


def _set_examples(schema: dict[str, Any], path: str, examples: dict[str, Any]) -> None:
    body = schema["paths"].get(path, {}).get("post", {}).get("requestBody", {}).get("content", {})
    if "application/json" in body and examples:
        body["application/json"]["examples"] = examples


def _models(base: type[BaseModel] = BaseModel) -> Iterator[type[BaseModel]]:
    for model in base.__subclasses__():
        yield model
        yield from _models(model)


def _without_nulls(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [_without_nulls(item) for item in value]
    return value


def _key(examples: list[Any]) -> str:
    return json.dumps(_without_nulls(examples), sort_keys=True)


def _examples_with_nulls() -> dict[str, list[Any]]:
    """Every model's and field's examples as written, by the form FastAPI's schema leaves of them (nulls dropped)."""
    found: dict[str, list[Any]] = {}
    for model in _models():
        extra = model.model_config.get("json_schema_extra")
        written = [extra.get("examples")] if isinstance(extra, dict) else []
        written += [field.examples for field in model.model_fields.values()]
        for examples in written:
            if isinstance(examples, list):
                encoded = jsonable_encoder(examples)
                found.setdefault(_key(encoded), encoded)
    return found


def _restore_nulls(node: Any, written: dict[str, list[Any]]) -> None:
    if isinstance(node, dict):
        examples = node.get("examples")
        if isinstance(examples, list):
            node["examples"] = written.get(_key(examples), examples)
        for item in node.values():
            _restore_nulls(item, written)
    elif isinstance(node, list):
        for item in node:
            _restore_nulls(item, written)


# Routes anyone may call while PUBLIC_READS is on, and a viewer (reads, predictions) or an analyst (files) once it is
# off; a key or token sent is checked either way. FastAPI shows no scheme for them: these guards read no Security.
_OPEN_GUARDS = (
    (require_analyst, "score"),
    (require_viewer, "read"),
    (limit_by_client_ip, "read"),
    (get_served_model, "read"),  # limit_by_client_ip called inside, one dependency less on the hot path
)


def _leaf_routes(routes: list[Any]) -> Iterator[Any]:
    for route in routes:
        children = getattr(route, "effective_candidates", None)
        yield from _leaf_routes(children()) if callable(children) else [route]


def _security(route: APIRoute) -> list[dict[str, list[str]]] | None:
    """The credentials a route takes that FastAPI leaves out of its schema, or None when it shows them all."""
    if declares(route.dependant, require_user):
        # A personal key in X-API-Key is a user too (app/controllers/principal.py).
        return [{"OAuth2": []}, {"AdminKey": []}]
    scope = next((scope for guard, scope in _OPEN_GUARDS if declares(route.dependant, guard)), None)
    return None if scope is None else [{}, {"AdminKey": []}, {"OAuth2": [scope]}]


def _document_credentials(app: FastAPI, schema: dict[str, Any]) -> None:
    for route in _leaf_routes(app.router.routes):
        original = getattr(route, "original_route", route)
        if not isinstance(original, APIRoute) or not original.include_in_schema:
            continue
        security = _security(route) or []
        for method in route.methods if security else ():
            operation = schema["paths"].get(route.path_format, {}).get(method.lower())
            shown = operation.get("security", []) if operation is not None else None
            # A route that needs a credential whatever PUBLIC_READS says (an admin's) is never shown as open.
            if shown is None or (shown and {} not in shown and {} in security):
                continue
            operation["security"] = shown + [requirement for requirement in security if requirement not in shown]


def openapi_with_segmentations(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """app.openapi with one request example per segmentation on its predict routes, as they are when asked.

    Segmentations are created (and their versions trained, their segments renamed) while the app runs, so the
    examples cannot be part of the schema FastAPI caches: they are added to a copy of it on each /openapi.json
    request.
    """
    build = app.openapi
    repaired: list[dict[str, Any]] = []

    def examples_as_written() -> dict[str, Any]:
        # FastAPI writes the schema without nulls (exclude_none), the examples' too: `"reason": null` went missing from
        # examples whose schema requires it. Put back once, into the schema FastAPI caches, with the credentials
        # the routes' guards take.
        schema = build()
        if not repaired or repaired[0] is not schema:
            _restore_nulls(schema, _examples_with_nulls())
            _document_credentials(app, schema)
            repaired[:] = [schema]
        return schema

    def openapi() -> dict[str, Any]:
        schema = copy.deepcopy(examples_as_written())
        segmentations = getattr(app.state, "segmentations", None)
        if segmentations is None:
            return schema
        examples, counterfactuals = {}, {}
        for name in segmentations.names():
            try:
                registry = segmentations.registry(name)
                described = describe(segmentations.spec(name), registry)
            except SegmentationError:
                continue
            features = ", ".join(item["name"] for item in described["served_features"])
            examples[name] = {"summary": f"{name}: {features}", "value": described["example"]}
            counterfactual = example_request(registry)
            if counterfactual is not None:
                target = counterfactual["target_segment"]
                named = next((s["name"] for s in described["segments"] if s["segment_id"] == target), "")
                summary = f"{name}: into segment {target} ({named})"
                counterfactuals[name] = {"summary": summary, "value": counterfactual}
        _set_examples(schema, SEGMENTATION_PREDICT, examples)
        batches = {name: {**ex, "value": {"customers": [ex["value"]]}} for name, ex in examples.items()}
        _set_examples(schema, f"{SEGMENTATION_PREDICT}/batch", batches)
        _set_examples(schema, SEGMENTATION_COUNTERFACTUAL, counterfactuals)
        # The flat route serves the default segmentation, its customer without the `features` wrapper.
        if DEFAULT_NAME in counterfactuals:
            example = counterfactuals[DEFAULT_NAME]
            flat = {**example["value"], "customer": example["value"]["customer"]["features"]}
            _set_examples(schema, DEFAULT_COUNTERFACTUAL, {DEFAULT_NAME: {**example, "value": flat}})
        return schema

    return openapi
