"""Server-rendered pages: thin routes that ask the page service for a context and render a template."""

from typing import Annotated
from urllib.parse import urlencode

from annotated_types import Ge, Le
from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from app.controllers.audit import audit_async
from app.controllers.deps import (
    AnalystsOnly,
    FormSameSite,
    HomeFormDep,
    PredictRateLimit,
    RegistryDep,
    SameSiteOnly,
    SegmenterDep,
    SessionDep,
    SettingsDep,
    admin_guard,
    answer_in_html,
    prediction_log_target,
    segmentation_of,
)
from app.controllers.page_auth import actions_shown, page_reader
from app.core import cookies
from app.core.errors import (
    AccessDenied,
    AdminKeyRefused,
    InvalidDataset,
    InvalidRequest,
    SegmentationConflict,
    SegmentationError,
    UnknownResult,
    UnsupportedMediaType,
    UploadTooLarge,
    VersionConflict,
)
from app.core.roles import Role, allows
from app.core.security import key_id
from app.core.templating import signed_in, templates
from app.schemas.common import DIGITS_ONLY
from app.schemas.monitoring import FormDateTime
from app.services import segment_edits
from app.services.monitoring import reads as monitoring
from app.services.monitoring.drift import MAX_WINDOW
from app.services.monitoring.windows import ReversedSpan
from app.services.notifications.events import EVENT_TYPES
from app.services.segmentation_setup import create_and_train
from app.utils.downloads import content_disposition
from app.web import csrf, pending_uploads, results, uploads
from app.web.form_fields import refuse_repeated_fields
from app.web.pages import monitoring as dashboard
from app.web.pages import runs as run_pages
from app.web.pages.about import about_page
from app.web.pages.common import model_line, segmentation_picker
from app.web.pages.home import home_page
from app.web.pages.models import models_page, trains_on_transactions
from app.web.pages.new_segmentation import (
    FIELDS_PER_COLUMN,
    MAX_OFFERED,
    create_body,
    form_error,
    new_segmentation_page,
    offered_columns,
    sent_columns,
)
from app.web.pages.score import score_form_fields, score_form_page, score_result_page

# Pages answer errors with the HTML error page, whatever the client's Accept header says.
router = APIRouter(include_in_schema=False, dependencies=[Depends(answer_in_html), Depends(page_reader)])


def render(request: Request, template: str, context: dict, *, status_code: int = 200) -> HTMLResponse:
    """A page, with the header's segmentation picker, the segmentation its links carry and the footer's model line."""
    segmentations = request.app.state.segmentations
    picker = segmentation_picker(segmentations.names(), segmentation_of(request))
    try:
        served = segmentations.registry(picker["segmentation"]).active
    except SegmentationError:  # a spec this app cannot read: the page says so itself; the footer stays generic
        served = None
    shared = picker | {"model_line": model_line(served)} | signed_in(request)
    return templates.TemplateResponse(request, template, shared | context, status_code=status_code)


@router.api_route("/", methods=["GET", "HEAD"], response_class=HTMLResponse)
def home(
    request: Request,
    registry: RegistryDep,
    annual_income: Annotated[str | None, Query(max_length=50)] = None,
    spending_score: Annotated[str | None, Query(max_length=50)] = None,
    annual_income_slider: Annotated[str | None, Query(max_length=50)] = None,
    spending_score_slider: Annotated[str | None, Query(max_length=50)] = None,
    annual_income_was: Annotated[str | None, Query(max_length=50)] = None,
    spending_score_was: Annotated[str | None, Query(max_length=50)] = None,
    annual_income_last: Annotated[str | None, Query(max_length=50)] = None,
    spending_score_last: Annotated[str | None, Query(max_length=50)] = None,
    *,
    sent_form: HomeFormDep,
) -> HTMLResponse:
    """The slider page; with query values (the no-JavaScript form) it renders their segment server-side."""
    values = {
        "annual_income": annual_income,
        "spending_score": spending_score,
        "annual_income_slider": annual_income_slider,
        "spending_score_slider": spending_score_slider,
        "annual_income_was": annual_income_was,
        "spending_score_was": spending_score_was,
        "annual_income_last": annual_income_last,
        "spending_score_last": spending_score_last,
    }
    # Other models' fields (named by feature) and the map picker's come as they are; the default's are checked above.
    segmentation = segmentation_of(request)
    model = registry.active
    trained = model is not None or bool(registry.store.versions())
    context, answer = home_page(model, {**request.query_params, **values}, segmentation=segmentation, trained=trained)
    status = 200 if registry.ready else 503
    if context["errors"]:
        status = 422
    response = render(request, "index.html", context, status_code=status)
    # A sent form is a prediction, recorded once its page is built (see HomeFormDep for what counts as sent).
    if answer is not None and sent_form:
        log = prediction_log_target(request)
        answer.segmentation = segmentation
        answer.record(log=log.writer, request_id=log.request_id)
    return response


@router.get("/about", response_class=HTMLResponse)
def about(request: Request, model: SegmenterDep, registry: RegistryDep, settings: SettingsDep) -> HTMLResponse:
    """The model card, with the segments' latest text changes and, with admin keys on, the form to edit them."""
    # The configured address, never the request's Host header, which any client sets.
    context = about_page(
        model,
        base_url=settings.base_url,
        segmentation=segmentation_of(request),
        changes=segment_edits.recent_changes(registry=registry),
        admin_enabled=actions_shown(request, settings, Role.analyst),
    )
    return render(request, "about.html", context)


# What an upload can get wrong: shown on the form, with the error's own status. AccessDenied is the form's token;
# InvalidDataset a transactions file an RFM segmentation cannot read (no date column, dates that do not parse).
_UPLOAD_ERRORS = (InvalidRequest, InvalidDataset, UploadTooLarge, UnsupportedMediaType, AccessDenied)


def _score_page(request: Request, context: dict, *, status_code: int = 200) -> HTMLResponse:
    """The /score page, setting the cookie that holds its form's token."""
    settings = request.app.state.settings
    can_score = allows(getattr(request.state, "principal", None), Role.analyst, settings)
    response = render(request, "score.html", context | {"can_score": can_score}, status_code=status_code)
    # SameSite=Lax: never sent with another site's post.
    cookies.set_cookie(
        response, request, cookies.SCORE_FORM, context["form_token"], path=request.url_for("score_form").path
    )
    return response


@router.get("/score", response_class=HTMLResponse)
def score_form(request: Request, model: SegmenterDep, settings: SettingsDep) -> HTMLResponse:
    """The file upload page."""
    token = csrf.form_token(cookies.read_cookie(request, cookies.SCORE_FORM))
    return _score_page(request, score_form_page(model, max_upload_bytes=settings.max_upload_bytes, form_token=token))


# Cross-site posts are refused first, before they count against the client's prediction limit.
@router.post("/score", response_class=HTMLResponse, dependencies=[SameSiteOnly, AnalystsOnly, PredictRateLimit])
async def score_upload(request: Request, model: SegmenterDep, settings: SettingsDep) -> HTMLResponse:
    """Score an uploaded file (a plain form post works without JavaScript) and show the summary."""
    cookie = cookies.read_cookie(request, cookies.SCORE_FORM)
    token = csrf.form_token(cookie)
    upload: uploads.Upload | None = None
    try:
        csrf.require_cookie(cookie)  # before the body: a post without the page's cookie uploads nothing
        upload = await uploads.receive_upload(request.headers, request.stream(), limit=settings.max_upload_bytes)
        csrf.check_form_token(cookie, upload.fields.get(csrf.FIELD))
        log = prediction_log_target(request)
        context, scored = await run_in_threadpool(
            score_result_page,
            model,
            upload,
            settings=settings,
            form_token=token,
            log=log.writer,
            request_id=log.request_id,
            segmentation=segmentation_of(request),
            sessions=request.app.state.db_sessions,
        )
        if scored is None:  # no customer could be scored: the page says why, and nothing is counted
            return _score_page(request, context, status_code=422)
        # Counted and logged only now that the whole file is scored and its page built.
        await run_in_threadpool(scored.record)
        return _score_page(request, context)
    except _UPLOAD_ERRORS as exc:
        # The form comes back as it was sent, so fixing one option does not mean choosing the others again.
        form = score_form_fields(upload.fields, model) if upload is not None else None
        context = score_form_page(
            model, max_upload_bytes=settings.max_upload_bytes, form_token=token, error=exc.message, form=form
        )
        return _score_page(request, context, status_code=exc.status_code)
    finally:
        if upload is not None:
            upload.discard()


@router.get("/score/download/{token}", response_class=FileResponse)
def score_download(token: str, settings: SettingsDep) -> FileResponse:
    """A labelled file scored on the page, while it is kept."""
    path = results.find_result(settings.score_results_dir, token)
    if path is None:
        raise UnknownResult("this labelled file is not available any more; score the file again")
    disposition = {"Content-Disposition": content_disposition(results.download_name(path))}
    return FileResponse(path, media_type="text/csv; charset=utf-8", headers=disposition)


@router.get("/runs", response_class=HTMLResponse)
def runs_page(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    segmentation: Annotated[str | None, Query(max_length=40)] = None,
) -> HTMLResponse:
    """Kept runs: every file scored, newest first."""
    known = request.app.state.segmentations
    context = run_pages.runs_page(session=session, settings=settings, segmentation=segmentation or None, known=known)
    return render(request, "runs.html", context)


@router.get("/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    request: Request,
    run_id: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """A run: its summary, its customers filtered and sorted, downloads, and a comparison to pick."""
    params = {key: value[:255] for key, value in request.query_params.items()}
    context = run_pages.run_page(
        session=session,
        settings=settings,
        run_id=run_id,
        params=params,
        segmentations=request.app.state.segmentations,
    )
    return render(request, "run.html", context)


@router.get("/runs/{run_id}/compare", response_class=RedirectResponse)
def run_compare_pick(
    request: Request,
    run_id: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    settings: SettingsDep,
    with_run: Annotated[str, Query(alias="with", max_length=64)] = "",
) -> RedirectResponse:
    """The compare form's answer (a form cannot put its choice in the path): the earlier run first."""
    a, b = run_pages.compare_pick(session=session, settings=settings, a=run_id, b=with_run)
    # Path only: the absolute URL url_for builds names the request's Host, which a client can forge.
    return RedirectResponse(request.url_for("run_compare_page", a=a, b=b).path, status_code=303)


@router.get("/runs/{a}/compare/{b}", response_class=HTMLResponse)
def run_compare_page(
    request: Request,
    a: Annotated[str, Path(max_length=64)],
    b: Annotated[str, Path(max_length=64)],
    session: SessionDep,
    settings: SettingsDep,
) -> HTMLResponse:
    """Two runs compared by customer id: who moved segments, who is new, who was lost."""
    context = run_pages.compare_page(session=session, settings=settings, a=a, b=b)
    return render(request, "run_compare.html", context)


@router.get("/monitoring", response_class=HTMLResponse)
def monitoring_dashboard(
    request: Request,
    model: SegmenterDep,
    session: SessionDep,
    window: Annotated[int | None, Ge(1), Le(MAX_WINDOW), DIGITS_ONLY, Query()] = None,
    period: Annotated[dashboard.Period | None, Query()] = None,
    since: Annotated[FormDateTime, Query()] = None,
    until: Annotated[FormDateTime, Query()] = None,
    bucket: Annotated[dashboard.Bucket | None, Query()] = None,
) -> HTMLResponse:
    """Drift of a time window (a preset or since/until; `window=N`: the last N rows) against the training data, with
    volume, histograms, segment mix and the charts over time per `bucket`."""
    segmentation = segmentation_of(request)
    if window is not None or since is not None or until is not None:
        period = None
        window_query = {k: v for k, v in request.query_params.items() if k in ("window", "since", "until")}
    else:
        period = period or dashboard.DEFAULT_PERIOD
        since, until = dashboard.preset_span(period)
        window_query = {"period": period}
    try:
        report = monitoring.drift(session, model, window=window, since=since, until=until, segmentation=segmentation)
    except ReversedSpan as exc:  # said on the page, next to the From and To it is about; nothing is charted
        context = dashboard.reversed_span_page(exc, segmentation, bucket)
        return render(request, "monitoring.html", context, status_code=422)
    volume = monitoring.prediction_volume(session, model, since=since, until=until, segmentation=segmentation)
    # The database mirrors every segmentation's activations (app/services/monitoring/activation_mirror.py).
    activation = monitoring.last_activation(session, segmentation=segmentation)
    # The same service as GET /api/v1/monitoring/timeseries; window=N has no span, so the bucket's default range.
    series = monitoring.timeseries(
        session,
        model,
        segmentation=segmentation,
        bucket=bucket or dashboard.default_bucket(since, until),
        since=since,
        until=until,
    )
    context = dashboard.monitoring_page(
        model,
        report,
        volume,
        activation,
        segmentation=segmentation,
        period=period,
        timeseries=series,
        window_query=window_query,
        bucket_picked=bucket is not None,
    )
    return render(request, "monitoring.html", context)


@router.get("/models", response_class=HTMLResponse)
def models(
    request: Request,
    registry: RegistryDep,
    settings: SettingsDep,
    compare: Annotated[str | None, Query(max_length=64)] = None,
    with_version: Annotated[str | None, Query(alias="with", max_length=64)] = None,
    job: Annotated[str | None, Query(max_length=64, pattern=r"^[A-Za-z0-9_-]+$")] = None,
) -> HTMLResponse:
    """Model versions: metrics, the active badge, a comparison heatmap, training and activation."""
    name = segmentation_of(request)
    context = models_page(
        registry,
        compare=compare or None,
        with_version=with_version or None,
        admin_enabled=actions_shown(request, settings, Role.admin),
        segmentation=name,
        job_id=job,
        db_sessions=getattr(request.app.state, "db_sessions", None),
        transactions=trains_on_transactions(request.app.state.segmentations, name),
    )
    token = csrf.form_token(cookies.read_cookie(request, cookies.MODELS_FORM))
    return _with_models_cookie(request, render(request, "models.html", context | {"form_token": token}), token)


@router.get("/webhooks", response_class=HTMLResponse)
def webhooks(request: Request, settings: SettingsDep) -> HTMLResponse:
    """Notification subscriptions: the page's script manages them through the admin API."""
    admin_enabled = actions_shown(request, settings, Role.admin)
    context = {"active": "webhooks", "events": EVENT_TYPES, "admin_enabled": admin_enabled}
    return render(request, "webhooks.html", context)


# What the chosen columns, the name and the file can get wrong, and another job training: shown on the form, with
# the error's own status.
_CREATE_ERRORS = (InvalidRequest, InvalidDataset, SegmentationConflict, VersionConflict)


def _with_models_cookie(request: Request, response: HTMLResponse, token: str) -> HTMLResponse:
    # The create-a-segmentation forms' CSRF token, in its own cookie (over plain HTTP, sent only to /models and the
    # pages under it); SameSite=Lax: never sent with another site's post.
    cookies.set_cookie(response, request, cookies.MODELS_FORM, token, path=request.url_for("models").path)
    return response


def _new_segmentation(request: Request, context: dict, token: str, *, status_code: int = 200) -> HTMLResponse:
    response = render(
        request, "segmentation_new.html", context | {"active": "models", "picker": None}, status_code=status_code
    )
    return _with_models_cookie(request, response, token)


@router.post("/models/segmentations/new", response_class=HTMLResponse, dependencies=[FormSameSite])
async def segmentation_upload(request: Request, settings: SettingsDep) -> Response:
    """Step 1 of a new segmentation: keep the uploaded file (admin key as X-API-Key), then show its columns."""
    from app.models.columns_profile import profile_file

    cookie = csrf.require_cookie(cookies.read_cookie(request, cookies.MODELS_FORM))  # before the body, like the key
    key_id = await admin_guard(request, request.headers.get("x-api-key"))
    upload = await uploads.receive_upload(request.headers, request.stream(), limit=settings.train_max_upload_bytes)
    try:
        csrf.check_form_token(cookie, upload.fields.get(csrf.FIELD))
        await run_in_threadpool(profile_file, upload.path, name=f"{upload.name}.csv")  # not a table: said now
        kept = await run_in_threadpool(
            pending_uploads.keep,
            upload,
            root=pending_uploads.root_of(settings.job_root),
            cookie=cookie,
            key_id=key_id,
            max_age_seconds=settings.score_results_ttl_seconds,
        )
    finally:
        upload.discard()
    return RedirectResponse(request.url_for("segmentation_columns", token=kept).path, status_code=303)


@router.get("/models/segmentations/new/{token}", response_class=HTMLResponse)
async def segmentation_columns(request: Request, token: str, settings: SettingsDep) -> HTMLResponse:
    """Step 2's form: the kept file's first rows and numeric columns, each with a suggested feature."""
    from app.models.columns_profile import profile_file

    cookie = cookies.read_cookie(request, cookies.MODELS_FORM) or ""
    pending = pending_uploads.find(
        pending_uploads.root_of(settings.job_root),
        token,
        cookie=cookie,
        max_age_seconds=settings.score_results_ttl_seconds,
    )
    profile = await run_in_threadpool(profile_file, pending.path, name=f"{pending.name}.csv")
    context = new_segmentation_page(
        profile, upload_token=pending.token, upload_name=pending.name, form_token=csrf.form_token(cookie)
    )
    return _new_segmentation(request, context, context["form_token"])


@router.post("/models/segmentations", response_class=HTMLResponse, dependencies=[FormSameSite])
async def segmentation_create(request: Request, settings: SettingsDep) -> Response:
    """Step 2: create the segmentation from the chosen columns and train its first version on the kept file."""
    from app.models.columns_profile import profile_file

    cookie = cookies.read_cookie(request, cookies.MODELS_FORM)
    token = csrf.form_token(cookie)
    form = await request.form(max_files=0, max_fields=MAX_OFFERED * FIELDS_PER_COLUMN + 20)
    refuse_repeated_fields(name for name, _ in form.multi_items())
    fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    csrf.check_form_token(cookie, fields.get(csrf.FIELD))  # the error page: nothing to show the form with
    pending = pending_uploads.find(
        pending_uploads.root_of(settings.job_root),
        fields.get("upload"),
        cookie=cookie or "",
        max_age_seconds=settings.score_results_ttl_seconds,
    )
    configured = {key_id(key.get_secret_value()) for key in settings.admin_api_keys}
    who = getattr(request.state, "principal", None)
    signed_in_admin = who is not None and who.role >= Role.admin and who.name == pending.key_id
    if pending.key_id not in configured and not signed_in_admin:
        # The key checked at step 1 was removed from ADMIN_API_KEYS since (or the admin signed out, or was demoted):
        # its upload creates nothing.
        raise AdminKeyRefused("the admin who uploaded this file is no longer one: upload it again")
    profile = await run_in_threadpool(profile_file, pending.path, name=f"{pending.name}.csv")
    columns = sent_columns(fields, offered_columns(profile))
    name, k = fields.get("name", "").strip(), fields.get("k", "auto").strip()
    kind = "rfm" if fields.get("kind") == "rfm" else "columns"
    try:
        body = (
            {"name": name, "kind": "rfm"}
            if kind == "rfm"
            else create_body(name=name, columns=columns, decimal_comma=bool(profile.get("decimal_comma")))
        )
        started = await run_in_threadpool(
            create_and_train,
            segmentations=request.app.state.segmentations,
            settings=settings,
            body=body,
            upload=pending.path,
            upload_name=pending.name,
            k=k,
            key_id=pending.key_id,
            request_id=getattr(request.state, "request_id", None),
        )
    except _CREATE_ERRORS as exc:
        context = new_segmentation_page(
            profile,
            upload_token=pending.token,
            upload_name=pending.name,
            form_token=token,
            columns=columns,
            name=name,
            k=k,
            error=form_error(exc, columns),
            kind=kind,
        )
        return _new_segmentation(request, context, token, status_code=exc.status_code)
    pending_uploads.discard(pending_uploads.root_of(settings.job_root), pending.token)
    job_id, page = started["job_id"], {"from": "the /models page"}
    created = page | {"kind": body.get("kind", "columns"), "job_id": job_id}
    await audit_async(request, who=pending.key_id, action="segmentation.create", target=body["name"], detail=created)
    # Its first version's training too, as POST /api/v1/segmentations/{name}/models records it.
    trained = page | {"segmentation": body["name"], "k": k, "features": None, "activate": True, "engine": "local"}
    await audit_async(request, who=pending.key_id, action="version.train", target=job_id, detail=trained)
    query = urlencode({"segmentation": body["name"], "job": job_id})
    return RedirectResponse(f"{request.url_for('models').path}?{query}", status_code=303)
