"""Shared schema pieces: the one error shape every API error uses, and examples for /docs."""

import re
from typing import Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field

from app.utils.text import one_line_problem

_DIGITS = re.compile(r"[0-9]+")


def _digits_only(value: object) -> object:
    """Refuse text pydantic would read as a number but people would not write: " 1", "\\r1", "1_0", "١"."""
    if isinstance(value, str) and not _DIGITS.fullmatch(value):
        raise ValueError("expected a whole number written with the digits 0-9")
    return value


# For a whole number in a path or query: only the digits 0-9, as the schema's "integer" promises. Bounds go before
# it as annotated_types (Annotated[int, Ge(1), DIGITS_ONLY, Query(...)]): after it, or in Query(ge=...), pydantic
# writes them into the OpenAPI schema as "ge" instead of "minimum".
DIGITS_ONLY = BeforeValidator(_digits_only)


def one_line(value: str) -> str:
    """`value` when it is one line of visible text; ValueError saying which character breaks it otherwise."""
    problem = one_line_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


# For free text people write that histories, emails, webhooks, the audit trail and pages show on one line (a reason, a
# key's name): a CR or LF there would start a line that looks like a header or another entry.
ONE_LINE = AfterValidator(one_line)


def no_nul(value: str | None) -> str | None:
    """`value` unless it holds U+0000; ValueError saying so otherwise."""
    if value is not None and "\x00" in value:
        raise ValueError("must not hold the NUL character (U+0000)")
    return value


# For text a request stores or looks up in the database: PostgreSQL refuses a NUL in any text, stored or compared, so
# no stored value holds one and a request that sends one is told so (a 422) rather than failing there (a 500).
NO_NUL = AfterValidator(no_nul)


def example_config(example: dict[str, Any], **config: Any) -> ConfigDict:
    """A model config whose JSON schema carries one example, the one /docs shows; `config` adds other settings."""
    return ConfigDict(json_schema_extra={"examples": [example]}, **config)


class ErrorDetail(BaseModel):
    """One problem with a request."""

    loc: list[str | int] = Field(description="Where the problem is, e.g. ['body', 'customers', 3, 'annual_income'].")
    message: str = Field(description="What is wrong, in words a person can act on.")
    type: str = Field(description="Machine-readable kind of problem.")


class ErrorResponse(BaseModel):
    """The body of every API error (4xx and 5xx)."""

    type: str = Field(description="Machine-readable error kind.", examples=["validation_error"])
    message: str = Field(description="A one-line explanation.", examples=["annual_income: Input should be a number"])
    details: list[ErrorDetail] = Field(
        default_factory=list, description="Individual problems, at most 20; the input is never echoed."
    )
    request_id: str | None = Field(None, description="The X-Request-ID of the failed request, for support.")


def error_responses(*statuses: int) -> dict[int | str, dict]:
    """OpenAPI `responses` entries for the given error statuses, all with ErrorResponse."""
    descriptions = {
        400: "Malformed request: the body is not valid JSON, not UTF-8, nested too deeply, has a number of more "
        "than 4300 digits, gives a key twice, or is not valid multipart form data.",
        401: "No credential where one is needed, or a key, bearer token or session that is unknown, revoked, expired "
        "or a disabled user's: sign in, or send a valid key in X-API-Key.",
        403: "The caller's role is too low, the X-API-Key is no key of this server, or admin endpoints are disabled "
        "(no ADMIN_API_KEYS set).",
        409: "Conflicts with the current state: the active version, an unusable version, or a busy trainer.",
        404: "No such segment, model version, training job or other resource the path or query names.",
        413: "The request body is larger than the configured limit.",
        415: "The body is not of a media type this endpoint accepts (JSON endpoints take application/json).",
        422: "The request is well-formed but its values are invalid or out of range.",
        429: "Too many requests from this client (or too many failed credentials); retry after the seconds in the "
        "Retry-After header.",
        503: "Not possible now: no usable model is loaded, or something it needs is unavailable or off (the database, "
        "room for results, token sign-in); the message says why.",
    }
    return {status: {"model": ErrorResponse, "description": descriptions[status]} for status in statuses}


# The request body of a route that takes a customer file: a `text/csv` body, or the `file` field of a form.
UPLOAD_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "minLength": 1}},
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "minLength": 1,
                            "description": "The customer CSV, not empty.",
                        }
                    },
                    "required": ["file"],
                }
            },
        },
    }
}
