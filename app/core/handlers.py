"""Every error becomes one small JSON shape here: domain errors, validation errors, HTTP errors and crashes."""

import errno
import logging
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import JSONResponse, Response
from starlette.types import Scope

from app.core.errors import NoActiveVersion, NotTrainedYet, SegmentationError
from app.core.templating import signed_in, templates
from app.utils.multipart import multipart_problem
from app.utils.text import clip

logger = logging.getLogger("app.errors")

MAX_ERROR_DETAILS = 20
# Input is never echoed: a name or path an error quotes (an unknown key, a 404 path) is cut to this many
# characters, messages to a few lines, and the whole body to a few kilobytes whatever the request held.
MAX_QUOTED_CHARS = 64
MAX_MESSAGE_CHARS = 1_000
MAX_DETAIL_MESSAGE_CHARS = 200
MAX_ERROR_BYTES = 4_096
_HTTP_ERROR_TYPES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "body_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}
_MACHINE_PREFIXES = ("/api/", "/openapi.json", "/static")
_PAGE_TITLES = {
    403: "Not allowed",
    404: "Page not found",
    429: "Too many requests",
    500: "Something went wrong",
    503: "Segmentation is unavailable",
}
_TYPE_TITLES = {
    "storage_full": "No space left",
    "results_full": "Too large to keep",
    "database_unavailable": "Monitoring is unavailable",
    "storage_unavailable": "Storage is unavailable",
    "trainer_unavailable": "Training is unavailable",
}
# People get a plain sentence for server-side failures, by what failed; the details (paths, commands) stay in the
# logs and in /api/v1/health, where operators look.
_NO_MODEL_PAGE_MESSAGE = (
    "No segmentation model is loaded right now, so this page cannot be shown. Please try again later."
)
_PAGE_MESSAGES = {
    "model_not_ready": _NO_MODEL_PAGE_MESSAGE,
    "model_unavailable": _NO_MODEL_PAGE_MESSAGE,
    "database_unavailable": "The prediction log cannot be read right now. Please try again later.",
    "storage_full": "The server has no space left to keep this file, so nothing was kept. Please try again later.",
    "storage_unavailable": "The server cannot write its files right now, so this was not done. Please try again later.",
    "trainer_unavailable": "The server cannot start a training process right now, so no training was started. "
    "Please try again later.",
    "results_full": "The labelled file is larger than this server keeps for download, so nothing was kept. Split "
    "the file into smaller ones, or score it with the API (POST /api/v1/predict/csv), which sends the labelled file "
    "straight back.",
}
_GENERIC_PAGE_MESSAGE = "Something went wrong on our side. Please try again later."


def _request_id(scope: Scope) -> str | None:
    return scope.get("state", {}).get("request_id")


# Set in a request's state by the page routes: their errors are the HTML page whatever the Accept header says.
HTML_ERRORS = "html_errors"


def _wants_html(scope: Scope) -> bool:
    """Pages get an HTML error page; the API, schema and assets always get JSON; anything else by Accept."""
    if scope.get("path", "").startswith(_MACHINE_PREFIXES):
        return False
    if scope.get("state", {}).get(HTML_ERRORS):
        return True
    accept = next((value for key, value in scope.get("headers", []) if key == b"accept"), b"")
    return b"text/html" in accept


# What the error page's way back calls a page, by the first part of its path: the main nav's names (base.html), so
# a run or a comparison goes back to "Runs" as the nav shows it. A path not here is no page to name: no link then.
_PAGE_NAMES = {
    "": "Segment a customer",
    "score": "Score a file",
    "about": "About the model",
    "monitoring": "Monitoring",
    "runs": "Runs",
    "experiments": "Experiments",
    "models": "Models",
    "docs": "API docs",
    "redoc": "API docs",
    "webhooks": "Notifications",
    "users": "Users",
    "audit": "Audit trail",
    "account": "Your account",
    "login": "Sign in",
}


def page_name(path: str) -> str | None:
    """The name a page is known by, from its path (query and all); None for a path that is no named page."""
    return _PAGE_NAMES.get(urlsplit(path).path.split("/")[1])


def _way_back(request: Request, status_code: int) -> dict[str, str] | None:
    """Where the error page's "go back" link leads, and that page's name: the same-site page the user came from (its
    Referer), else, for a query a page could not read, the same page without it; None when neither is a named page."""
    referer = request.headers.get("referer", "")
    parts = urlsplit(referer)
    if referer and parts.netloc == request.url.netloc and parts.scheme in ("http", "https"):
        back = parts.path or "/"
        back += f"?{parts.query}" if parts.query else ""
    elif status_code == 422 and request.method == "GET" and request.url.query:
        back = request.url.path
    else:
        return None
    # The segmentation page has its own button; a link back to the failing address would fail again.
    current = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if back in ("/", current) or not back.startswith("/") or back.startswith("//"):
        return None
    name = page_name(back)
    return {"url": clip(back, MAX_MESSAGE_CHARS), "name": name} if name else None


def _html_error(
    scope: Scope,
    status_code: int,
    error_type: str,
    message: str,
    headers: dict[str, str] | None,
    page: dict[str, Any] | None = None,
) -> Response:
    request = Request(scope)
    context = {
        "status_code": status_code,
        "title": _TYPE_TITLES.get(error_type) or _PAGE_TITLES.get(status_code, "Request failed"),
        "message": message if status_code < 500 else _PAGE_MESSAGES.get(error_type, _GENERIC_PAGE_MESSAGE),
        "request_id": _request_id(scope),
        "back": _way_back(request, status_code),
    }
    # The header as every page shows it: the principal the page resolved before it failed.
    context |= signed_in(request) | (page or {})
    return templates.TemplateResponse(request, "error.html", context, status_code=status_code, headers=headers)


def _page_message(message: str, link: tuple[str, str] | None) -> dict[str, Any]:
    """A page message, with the words that name a page split out for the template to link (when it has them)."""
    words, route = link or ("", "")
    before, found, after = message.partition(words) if words else (message, "", "")
    if not found:
        return {"message": message}
    return {"message": message, "message_link": {"before": before, "words": words, "route": route, "after": after}}


def _page_of(exc: SegmentationError) -> dict[str, Any] | None:
    """What an error page says instead of the plain sentence: a segmentation never trained, or with no version
    active, says so, as the home page does, with the link to fix it; an error with a page message says that; None
    for every other error."""
    if isinstance(exc, NotTrainedYet):
        title, unserved = "Not trained yet", "new"
    elif isinstance(exc, NoActiveVersion):
        title, unserved = "No active version", "inactive"
    else:
        return None if exc.page_message is None else _page_message(exc.page_message, exc.page_link)
    name = exc.segmentation
    return {
        "title": title,
        "unserved": unserved,
        "segmentation": name,
        # The default segmentation's pages take no segmentation parameter.
        "segmentation_query": "" if name == "default" else f"?{urlencode({'segmentation': name})}",
    }


def error_response(
    scope: Scope,
    *,
    status_code: int,
    error_type: str,
    message: str,
    details: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
    page: dict[str, Any] | None = None,
) -> Response:
    """The one error body: type, message, at most 20 details, request id, under 4 KB; never the input. `page`: what
    the HTML error page shows beyond its message."""
    message = clip(message, MAX_MESSAGE_CHARS)
    if _wants_html(scope):
        return _html_error(scope, status_code, error_type, message, headers, page)
    body = {
        "type": error_type,
        "message": message,
        "details": (details or [])[:MAX_ERROR_DETAILS],
        "request_id": _request_id(scope),
    }
    response = JSONResponse(body, status_code=status_code, headers=headers)
    while len(response.body) > MAX_ERROR_BYTES and (body["details"] or len(body["message"]) > MAX_DETAIL_MESSAGE_CHARS):
        # Only reachable with many long details or non-ASCII text: fewer details, then a shorter message, beat a
        # body that grows with the input.
        if body["details"]:
            body["details"] = body["details"][: len(body["details"]) // 2]
        else:
            body["message"] = clip(body["message"], MAX_DETAIL_MESSAGE_CHARS)
        response = JSONResponse(body, status_code=status_code, headers=headers)
    return response


def unexpected_error_response(scope: Scope, request_id: str) -> Response:
    """A 500 that says nothing about the internals."""
    return error_response(
        scope,
        status_code=500,
        error_type="internal_error",
        message=f"an unexpected error occurred; quote request id {request_id} when reporting it",
    )


# A disk the server cannot write (mounted read-only, no permission, full): the operator's to fix, not a crash.
# Not EPERM: an operation refused for other reasons (signalling a process, say) is a defect to see as one.
_STORAGE_ERRNOS = frozenset({errno.EROFS, errno.EACCES, errno.ENOSPC, errno.EDQUOT})


def is_storage_error(exc: BaseException) -> bool:
    """Whether an unhandled error is the server's disk refusing a write rather than a defect."""
    return isinstance(exc, OSError) and exc.errno in _STORAGE_ERRNOS


def storage_error_response(scope: Scope) -> Response:
    """A 503 for a disk the server cannot write: the request was not completed, and may be sent again."""
    return error_response(
        scope,
        status_code=503,
        error_type="storage_unavailable",
        message="the server cannot write its files right now (a read-only or full disk, or no permission), so the "
        "request was not completed; send it again once the operator has fixed the storage",
    )


def _loc(raw: tuple[Any, ...] | list[Any]) -> list[str | int]:
    # A key name is client input: an unknown 1.9 MB key must not come back 1.9 MB long.
    return [part if isinstance(part, int) else clip(str(part), MAX_QUOTED_CHARS) for part in raw]


# FastAPI's words for a text field sent where a file is expected name a Python class ("<class 'str'>").
_NOT_A_FILE = "Value error, Expected UploadFile, received:"
_NOT_A_FILE_MESSAGE = "expected a file: send it as a file part of the multipart form (with a filename), not as text"


def _validation_details(exc: RequestValidationError) -> list[dict[str, Any]]:
    details = []
    for error in exc.errors()[:MAX_ERROR_DETAILS]:
        message = str(error.get("msg", "invalid value"))
        if message.startswith(_NOT_A_FILE):
            message = _NOT_A_FILE_MESSAGE
        context = error.get("ctx") or {}
        if error.get("type") == "json_invalid" and "error" in context and str(context["error"]) not in message:
            message = f"{message}: {context['error']}"
        details.append(
            {
                "loc": _loc(error.get("loc", ())),
                "message": clip(message, MAX_DETAIL_MESSAGE_CHARS),
                "type": str(error.get("type")),
            }
        )
    return details


# Where a value came from, which an API client reads in `loc` and a page reader has no use for.
_LOCATIONS = {"query", "body", "path", "header", "cookie"}
# A field whose name, made readable, is not what its page labels it.
_FIELD_LABELS = {"display_name": "Name", "k": "Number of segments"}


def _field_label(loc: list[str | int]) -> str:
    """The field a validation error is about, as a page labels it: `query.window` -> "Window"."""
    names = [str(part) for part in loc if isinstance(part, str) and part not in _LOCATIONS]
    if not names:
        return "The request"
    name = names[-1]
    return _FIELD_LABELS.get(name) or name.replace("_", " ").capitalize()


def _page_problem(detail: dict[str, Any]) -> str:
    """One validation problem in words for a page: its field's label, then pydantic's message as a sentence."""
    # pydantic puts "Value error, " before whatever a validator's ValueError said: noise to a reader.
    text = re.sub(r"^(Value|Assertion) error, ", "", detail["message"])
    text = text[:1].lower() + text[1:] if not text[1:2].isupper() else text
    return f"{_field_label(detail['loc'])}: {text.rstrip('.')}."


def _validation_summary(details: list[dict[str, Any]], total: int, *, for_page: bool) -> str:
    """The first problem (and how many more), as `loc: message` for the API, in a field's label for a page."""
    first = details[0]
    if for_page:
        summary = " ".join(_page_problem(detail) for detail in details)
        return summary if total <= len(details) else f"{summary} ({total - len(details)} more problems not shown.)"
    where = ".".join(str(part) for part in first["loc"] if part != "body") or "body"
    summary = f"{where}: {first['message']}"
    if total > 1:
        summary += f" (and {total - 1} more problem{'s' if total > 2 else ''})"
    return summary


async def _on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    details = _validation_details(exc)
    total = len(exc.errors())
    if any(detail["type"] == "json_invalid" for detail in details):
        status, error_type = 400, "malformed_json"
        summary = "request body is not valid JSON: " + details[0]["message"]
    else:
        status, error_type = 422, "validation_error"
        summary = _validation_summary(details, total, for_page=False)
    logger.info("rejected request: %s", summary, extra={"request_id": _request_id(request.scope)})
    if status == 422 and _wants_html(request.scope):
        summary = _validation_summary(details, total, for_page=True)
    return error_response(request.scope, status_code=status, error_type=error_type, message=summary, details=details)


async def domain_error_response(request: Request, exc: SegmentationError) -> Response:
    """A domain error as its HTTP answer (the one mapping, also used by the single-predict shortcut)."""
    log = logger.warning if exc.status_code >= 500 else logger.info
    # The server's log gets what this machine's operator may read (a path, a database's reason); the client `message`.
    log("%s: %s", exc.error_type, exc.local_message, extra={"request_id": _request_id(request.scope)})
    return error_response(
        request.scope,
        status_code=exc.status_code,
        error_type=exc.error_type,
        message=exc.message,
        headers=exc.headers,
        page=_page_of(exc),
    )


def _leaf_routes(routes: list[Any]) -> Iterator[Any]:
    """Every route, looking inside included routers (FastAPI keeps those as one entry each)."""
    for route in routes:
        children = getattr(route, "effective_candidates", None)
        if callable(children):
            yield from _leaf_routes(children())
        else:
            yield route


def _allowed_methods(request: Request) -> str | None:
    """Every method served at this path's route template. FastAPI makes one route per handler, so GET and POST
    /api/v1/models are two routes of one template, and Starlette's 405 names only the first one's methods."""
    routes = [route for route in _leaf_routes(request.app.router.routes) if getattr(route, "methods", None)]
    # Templates compared without their converters: `/clusters/{segment_id:digits}` serves `/clusters/{segment_id}` too.
    template = next(
        (
            route.path_format
            for route in routes
            if getattr(route, "path_regex", None) and route.path_regex.match(request.url.path)
        ),
        None,
    )
    # Only routes that take this very path: PATCH `/clusters/{segment_id:digits}` does not take /clusters/abc.
    methods = {
        method
        for route in routes
        if template and route.path_format == template and route.path_regex.match(request.url.path)
        for method in route.methods
    }
    return ", ".join(sorted(methods)) if methods else None


async def _on_http_error(request: Request, exc: StarletteHTTPException) -> Response:
    if isinstance(exc.__cause__, SegmentationError):
        # FastAPI wraps whatever body parsing raised in a plain 400; the domain error underneath says what it was.
        return await domain_error_response(request, exc.__cause__)
    message = exc.detail if isinstance(exc.detail, str) else "request failed"
    headers = getattr(exc, "headers", None)
    if exc.status_code == 405 and (allowed := _allowed_methods(request)):
        headers = {**(headers or {}), "Allow": allowed}
        message = f"{request.method} is not served at this path; it takes {allowed}"
    if exc.status_code == 404 and message == "Not Found":
        message = f"There is no page at {clip(request.url.path, MAX_QUOTED_CHARS)}."
    if exc.status_code == 400 and "parsing the body" in message:
        message = "request body could not be parsed"
    if exc.status_code == 400 and isinstance(exc.__context__, MultiPartException):
        # Starlette says only "Invalid multipart data."; the parser's error underneath says what.
        message = f"the multipart form could not be read: {multipart_problem(exc.__context__)}"
    return error_response(
        request.scope,
        status_code=exc.status_code,
        error_type=_HTTP_ERROR_TYPES.get(exc.status_code, "http_error"),
        message=message,
        headers=headers,
    )


def register_error_handlers(app: FastAPI) -> None:
    """Map every error kind to the one error shape."""
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(SegmentationError, domain_error_response)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
