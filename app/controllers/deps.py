"""Dependencies that hand routes the model registry, the model to use and validated request bodies."""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from fastapi import Depends, Path, Query, Request, Security
from fastapi.routing import APIRoute
from fastapi.security import APIKeyHeader
from sqlalchemy.orm import Session

from app.controllers.credential_limits import client_ip, limit_failed_credentials
from app.controllers.principal import current_principal, oauth2_scheme, page_principal
from app.controllers.route_needs import guard, route_need
from app.core.config import Settings
from app.core.errors import AccessDenied, AdminKeyMissing, AdminKeyRefused, InvalidRequest
from app.core.handlers import HTML_ERRORS
from app.core.rate_limit import RateLimiter, key_digest
from app.core.roles import HOW_TO_SIGN_IN, Principal, Role, is_open, require, sign_in_required
from app.core.security import is_cross_site
from app.models.model import SegmentationModel
from app.models.segmentations.registries import Segmentations
from app.models.segmentations.spec import DEFAULT_NAME, NAME_PATTERN
from app.models.versions.challenger import Challenger
from app.models.versions.registry import ModelRegistry
from app.schemas.common import ONE_LINE
from app.schemas.prediction import BatchIn
from app.services.challenger.assignments import AssignmentWriter
from app.services.challenger.serving import ChallengerAnswer
from app.services.monitoring.prediction_log import PredictionLogWriter
from app.services.prediction import Answer
from app.utils.responses import FastJSONResponse
from app.web.form_fields import refuse_repeated_fields

# The `?segmentation=` of routes that serve one segmentation at the top level (challenger, outcomes, experiments,
# proposals): `default` when absent.
SegmentationQuery = Annotated[
    str,
    Query(pattern=NAME_PATTERN.pattern, description="The segmentation; `default` when absent.", examples=["default"]),
]

T = TypeVar("T")


async def get_app_settings(request: Request) -> Settings:
    """The settings the running app was created with (tests build apps with their own)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]


def segmentation_of(request: Request) -> str:
    """The segmentation a request is about: the `{segmentation}` of /api/v1/segmentations/{segmentation}/..., a
    page's `?segmentation=`, else `default`."""
    name = request.path_params.get("segmentation")
    if name is None and getattr(request.state, HTML_ERRORS, False):
        name = request.query_params.get("segmentation")
    return name or DEFAULT_NAME


def registry_of(request: Request, name: str | None = None) -> ModelRegistry:
    """The registry of the segmentation `name`, by default the request's (404 for an unknown one)."""
    name = name or segmentation_of(request)
    if name == DEFAULT_NAME:
        return request.app.state.registry
    if not NAME_PATTERN.fullmatch(name):
        # Before any lookup: the path's own validation (a 422) is only reported after the dependencies ran.
        raise InvalidRequest(f"{name[:40]!r} cannot be a segmentation name: see GET /api/v1/segmentations")
    segmentations: Segmentations = request.app.state.segmentations
    segmentations.require(name)
    registry = segmentations.registry(name)
    if registry.active is None:
        registry.refresh()  # a first version trained a moment ago serves at once, not at the next poll
    return registry


async def get_registry(request: Request) -> ModelRegistry:
    """The registry of the request's segmentation (async: a dictionary lookup needs no thread)."""
    return registry_of(request)


RegistryDep = Annotated[ModelRegistry, Depends(get_registry)]


async def get_segmenter(request: Request) -> SegmentationModel:
    """The active model, or a 503 ModelNotReady with the reason."""
    # Reads the registry itself rather than through get_registry: each dependency level costs
    # measurable time on the hot predict path.
    return registry_of(request).get()


SegmenterDep = Annotated[SegmentationModel, Depends(get_segmenter)]


async def get_requested_model(
    request: Request,
    model_version: Annotated[
        str | None, Query(max_length=64, description="Score with this model version instead of the active one.")
    ] = None,
) -> SegmentationModel:
    """The active model, or the version the request names (404 when unknown)."""
    return registry_of(request).get(model_version)


RequestedModelDep = Annotated[SegmentationModel, Depends(get_requested_model)]


async def get_served_model(
    request: Request,
    model_version: Annotated[
        str | None, Query(max_length=64, description="Score with this model version instead of the active one.")
    ] = None,
) -> tuple[SegmentationModel, Challenger | None]:
    """The model as `get_requested_model` gives it, and the challenger when one runs and no version was named.

    The request is counted against the client's prediction limit first (`limit_by_client_ip`): one dependency for
    both is one level of FastAPI's dependency solving less on the hot path (~5% of a single prediction).
    """
    await limit_by_client_ip(request)
    registry = registry_of(request)
    # The hot path's one check when no challenger runs.
    challenger = registry.challenger
    if challenger is not None and model_version is not None:
        challenger = None  # a client that names a version gets that version, whatever the experiment
    return registry.get(model_version), challenger


# The predict routes': the model, and the challenger that may answer instead (app/services/challenger/serving.py).
ServedModelDep = Annotated[tuple[SegmentationModel, Challenger | None], Depends(get_served_model)]


async def valid_segmentation(
    request: Request,
    segmentation: Annotated[
        str,
        Path(pattern=NAME_PATTERN.pattern, description="The segmentation's name.", examples=["default", "rfm"]),
    ],
) -> str:
    """The path's segmentation, 404 when there is none by that name."""
    if segmentation != DEFAULT_NAME:
        request.app.state.segmentations.require(segmentation)
    return segmentation


SegmentationDep = Annotated[str, Depends(valid_segmentation)]


async def valid_batch(batch: BatchIn, settings: SettingsDep) -> BatchIn:
    """The batch body, refused with 422 when it has more customers than the configured limit."""
    if len(batch.customers) > settings.max_batch_size:
        raise InvalidRequest(
            f"too many customers: at most {settings.max_batch_size} per request, got {len(batch.customers)}; "
            "split the batch"
        )
    return batch


BatchDep = Annotated[BatchIn, Depends(valid_batch)]


admin_key_header = APIKeyHeader(
    name="X-API-Key",
    auto_error=False,
    scheme_name="AdminKey",
    description="A key in X-API-Key: an ADMIN_API_KEYS key (an admin), a user's personal key from POST "
    "/api/v1/auth/keys (its own role: viewer, analyst or admin), or, on POST /api/v1/outcomes only, an "
    "OUTCOME_API_KEYS key.",
)


def _need(request: Request, role: Role, opens: bool = False) -> dict[str, Any]:
    """What the route needs (this guard's `role`, or more), for the message a key that is none of ours gets."""
    needed, open_to_all = route_need(request, request.app.state.settings, (role, opens))
    return {"needed": needed, "open_to_all": open_to_all}


async def _admin_principal(request: Request, key: str | None) -> Principal:
    settings: Settings = request.app.state.settings
    principal = await limit_failed_credentials(request, lambda: current_principal(request, key))
    if principal is None:
        if not settings.admin_api_keys and settings.public_reads:
            # As before accounts: with no admin keys configured, an anonymous call is refused outright.
            raise AdminKeyRefused(
                "this endpoint needs an admin: sign in as one at /login (or with a token from /api/v1/auth/token), "
                "or set ADMIN_API_KEYS (comma-separated) and send one in the X-API-Key header"
            )
        raise AdminKeyMissing(
            "this endpoint needs an admin: an admin key in the X-API-Key header, a bearer token, or a signed-in page"
        )
    require(principal, Role.admin, settings)
    return principal


async def admin_guard(request: Request, key: str | None) -> str:
    """Who the admin is (a user's email, a personal key's name, an admin key's id) once checked and counted.

    Accepts a signed-in admin session, an admin's bearer token, an admin's personal key or an ADMIN_API_KEYS key;
    failed credentials count per client, good ones per key or user (a valid one whose role is too low, neither). Runs
    once per request: AdminKeyFirstRoute calls it before the body is read, and the dependency then finds the result
    on request.state.
    """
    checked: str | None = getattr(request.state, "admin_key_id", None)
    if checked is not None:
        return checked
    principal = await _admin_principal(request, key)
    limiter: RateLimiter = request.app.state.rate_limiter
    # Keyed on a digest: the key itself never sits in the limiter's storage.
    await limiter.hit(limiter.admin, f"key:{key_digest(key or 'user:' + principal.name)}")
    request.state.admin_key_id = principal.name
    return principal.name


@guard(Role.admin, opens=False)
async def require_admin_key(
    request: Request,
    key: Annotated[str | None, Security(admin_key_header)] = None,
    token: Annotated[str | None, Security(oauth2_scheme)] = None,
) -> str:
    """Who the admin is: an admin session, bearer token or key (401 missing, 403 not an admin, 429 over the limit)."""
    return await admin_guard(request, key)


async def optional_admin_key(
    request: Request, key: Annotated[str | None, Security(admin_key_header)] = None
) -> str | None:
    """None without an X-API-Key; with one, the key id once checked and counted as on admin routes (403, 429)."""
    # Counted like any admin key, or a public route would answer key guesses without limit.
    if key is None:
        principal = await page_principal(request)
        return principal.name if principal is not None and principal.role >= Role.admin else None
    return await admin_guard(request, key)


def presents_credential(request: Request) -> bool:
    """Whether the request carries an API key or an Authorization header (a page's session cookie is not counted)."""
    headers = request.headers
    return "x-api-key" in headers or "authorization" in headers


async def _role_guard(request: Request, needed: Role) -> Principal | None:
    settings: Settings = request.app.state.settings
    if is_open(needed, settings) and not presents_credential(request):
        return None  # nothing to look up: the hot paths stay as fast as before accounts
    # A key or token sent is checked even where anyone may call: a revoked or disabled one is a 401, never anonymous.
    principal = await limit_failed_credentials(
        request, lambda: current_principal(request, **_need(request, needed, opens=True))
    )
    require(principal, needed, settings)
    return principal


@guard(Role.viewer, opens=True)
async def require_viewer(request: Request) -> Principal | None:
    """Reads: open while PUBLIC_READS is on, else a viewer or above (401 anonymous)."""
    return await _role_guard(request, Role.viewer)


@guard(Role.analyst, opens=True)
async def require_analyst(request: Request) -> Principal | None:
    """Scoring files, runs, reports, segment edits: open while PUBLIC_READS is on, else an analyst (401, 403)."""
    return await _role_guard(request, Role.analyst)


@guard(Role.viewer, opens=False)
async def require_user(request: Request, token: Annotated[str | None, Security(oauth2_scheme)] = None) -> Principal:
    """Any signed-in user or key, whatever PUBLIC_READS says (401 anonymous)."""
    principal = await limit_failed_credentials(
        request, lambda: current_principal(request, **_need(request, Role.viewer))
    )
    if principal is None:
        raise sign_in_required("a signed-in user or an API key, whatever its role")
    return principal


async def _editor_principal(request: Request, key: str | None) -> Principal:
    principal = await limit_failed_credentials(
        request, lambda: current_principal(request, key, **_need(request, Role.analyst))
    )
    if principal is not None:
        return principal
    settings: Settings = request.app.state.settings
    needs = "editing segments needs an analyst or admin"
    if not settings.admin_api_keys and settings.public_reads:
        # As admin routes: with no admin keys configured, an anonymous call is refused outright.
        raise AdminKeyRefused(
            f"{needs}: sign in as one at /login (or with a token from /api/v1/auth/token), or set ADMIN_API_KEYS "
            "(comma-separated) and send one in the X-API-Key header"
        )
    raise AdminKeyMissing(f"{needs}: {HOW_TO_SIGN_IN}")


@guard(Role.analyst, opens=False)
async def require_editor(
    request: Request,
    key: Annotated[str | None, Security(admin_key_header)] = None,
    token: Annotated[str | None, Security(oauth2_scheme)] = None,
) -> str:
    """Who edits segment text: an analyst or an admin (any admin key too), whatever PUBLIC_READS says (401, 403).

    Editing changes what every surface shows, so it is never open to anonymous callers, unlike scoring.
    """
    principal = await _editor_principal(request, key)
    if principal.role < Role.analyst:
        raise AccessDenied(f"editing segments needs the analyst role, and {principal.name} is {principal.role.name}")
    return principal.name


UserDep = Annotated[Principal, Depends(require_user)]
ReadersOnly = Depends(require_viewer)
AnalystsOnly = Depends(require_analyst)


# The admin-only parts of a public answer: present for a caller with an admin key, left out for everyone else.
OptionalAdminKeyDep = Annotated[str | None, Depends(optional_admin_key)]


# A route with a body that declares AdminKeyDep also needs route_class=AdminKeyFirstRoute
# (app/controllers/admin_route.py), so the key is checked before the body is read.
AdminKeyDep = Annotated[str, Depends(require_admin_key)]
# Segment text edits (names, descriptions, strategies): analysts and admins.
EditorDep = Annotated[str, Depends(require_editor)]


async def limit_by_client_ip(request: Request) -> None:
    """Count this request against the client's prediction limit (429 with Retry-After once spent).

    With PUBLIC_READS off, a viewer is checked first: predictions are reads, and one dependency level less on the
    hot path than a separate ReadersOnly. A key or token sent is checked whatever PUBLIC_READS says.
    """
    if not request.app.state.settings.public_reads or presents_credential(request):
        await _role_guard(request, Role.viewer)
    limiter: RateLimiter = request.app.state.rate_limiter
    await limiter.hit(limiter.predict, client_ip(request))


PredictRateLimit = Depends(limit_by_client_ip)


def from_another_site(request: Request) -> bool:
    """Whether a browser sent this request from another site's page (CORS_ORIGINS are trusted)."""
    settings: Settings = request.app.state.settings
    return is_cross_site(
        origin=request.headers.get("origin"),
        fetch_site=request.headers.get("sec-fetch-site"),
        own_origin=f"{request.url.scheme}://{request.url.netloc}",
        allowed=settings.cors_origins,
    )


def same_site_only(refusal: str) -> Any:
    """A dependency: 403 with `refusal` for a form or file a browser posts from another site, before its body is read;
    curl and scripts pass.

    A form or a `text/plain` post needs no CORS preflight, so without this any page a user visits could score files
    through their browser (filling the prediction log and the drift report with its rows), or post its forms.
    """

    async def refuse_cross_site(request: Request) -> None:
        if from_another_site(request):
            raise AccessDenied(f"{refusal}; a trusted site can be listed in CORS_ORIGINS")

    return Depends(refuse_cross_site)


SameSiteOnly = same_site_only(
    "files are not scored for pages of other sites: send them from this site, or from a tool or script"
)
# The forms of pages (sign-in, accounts, users, the audit trail, new segmentations): each says what it refused.
SignInSameSite = same_site_only("sign-in is refused from pages of other sites: sign in on this site's own page")
FormSameSite = same_site_only(
    "this form is refused from pages of other sites: send it from this site's own page, or from a tool or script"
)


async def one_value_per_field(request: Request) -> None:
    """422 naming a field the route reads sent more than once, for a route whose body is a form (and only such a
    route); a field the route does not read is ignored however often it comes, as FastAPI ignores it once.

    The form is the one FastAPI read for the route, within its body limit, before any dependency runs; the request
    keeps it, so nothing is read again (and no upload past the limit ever is).
    """
    route = request.scope.get("route")
    read = _form_fields(route) if isinstance(route, APIRoute) else None
    names = (name for name, _ in (await request.form()).multi_items())
    refuse_repeated_fields(name for name in names if read is None or name in read)


OneValuePerField = Depends(one_value_per_field)


def _form_fields(route: APIRoute) -> frozenset[str]:
    """The form fields a route reads, its dependencies' (an OAuth2 form's) included: a walk of a few dependencies, on
    form routes only (a cache keyed by route would keep apps alive)."""
    fields: set[str] = set()
    pending = [route.dependant]
    while pending:
        dependant = pending.pop()
        fields.update(field.alias for field in dependant.body_params)
        pending.extend(dependant.dependencies)
    return frozenset(fields)


def from_models_page(request: Request) -> bool:
    """Whether the /models page's script sent the request: with its session, or with this site's /models as the
    Referer (a key typed into the page). A label for the activation history, never a check of anything."""
    principal = getattr(request.state, "principal", None)
    if principal is not None and principal.via == "session":
        return True
    referer = urlsplit(request.headers.get("referer", ""))
    return referer.netloc == request.url.netloc and referer.path == "/models"


async def home_form_counts(request: Request) -> bool:
    """Whether a home page request is a sent form to record as a prediction, counted against the client's limit.

    Only the no-JavaScript form sends `*_was` fields, so a shared or bookmarked result link shows its segment and
    records nothing; neither does a request another site's page makes (an `<img src="/?...">` would otherwise
    fill the prediction log and the drift report). A form over the client's prediction limit gets the 429 page.
    """
    sent = any(name.endswith("_was") for name in request.query_params)  # `<feature>_was`, for any model's form
    if request.method != "GET" or not sent or from_another_site(request):
        return False
    await limit_by_client_ip(request)
    return True


HomeFormDep = Annotated[bool, Depends(home_form_counts)]


async def answer_in_html(request: Request) -> None:
    """Mark a page request: its errors come back as the HTML error page, whatever its Accept header says."""
    setattr(request.state, HTML_ERRORS, True)


@dataclass(frozen=True, slots=True)
class PredictionLogTarget:
    """Where a route's predictions are logged: the app's writer (None when logging is off) and the request id."""

    writer: PredictionLogWriter | None
    request_id: str | None


def prediction_log_target(request: Request) -> PredictionLogTarget:
    """The prediction log writer the lifespan started, with this request's id.

    A plain call from the route rather than a dependency: every dependency level costs measurable time on the
    hot predict path, and taking `request` costs nothing.
    """
    return PredictionLogTarget(
        getattr(request.app.state, "prediction_log", None), getattr(request.state, "request_id", None)
    )


def answer_response(request: Request, answer: Answer | ChallengerAnswer) -> FastJSONResponse:
    """The answer as a response; its predictions are counted and logged once the response exists."""
    # The service output is built to match the response model; returning a response skips re-validating it.
    response = FastJSONResponse(answer.body)
    log = prediction_log_target(request)
    answer.record(log=log.writer, request_id=log.request_id)
    return response


def assignment_writer(request: Request) -> AssignmentWriter | None:
    """The challenger assignment writer the lifespan started (None without a database)."""
    return getattr(request.app.state, "challenger_assignments", None)


def get_session(request: Request) -> Iterator[Session]:
    """A database session for one request, closed after it."""
    with request.app.state.db_sessions() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


def reason_query(history: str) -> Any:
    """A `?reason=` for one history: at most 200 characters (said so when longer) of one line of visible text."""
    # The length inside Query, before ONE_LINE: after a validator pydantic counted "items", not characters.
    description = f"Why, for the {history} history: one line of visible text."
    return Annotated[str, Query(max_length=200, description=description), ONE_LINE]
