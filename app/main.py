"""The composition root: settings, logging, lifespan, middleware, routers and error handlers, wired once."""

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.controllers import account_views, audit_views, docs, experiment_views, ops, users_views, views
from app.controllers.api import API_PREFIX, build_api_router, predict_routers
from app.controllers.api.fast_predict import FastPredict
from app.controllers.api.scoring import COUNT_HEADERS, MODEL_VERSION_HEADER, RUN_ID_HEADER, RUN_NOT_KEPT_HEADER
from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.draining import Drain, drain_on_sigterm
from app.core.handlers import register_error_handlers
from app.core.https import ForceHttpsMiddleware, hsts_value
from app.core.logging import configure_logging
from app.core.metrics import configure_metrics, mark_worker_stopped, record_model_loaded, record_serving_fallback
from app.core.middleware import (
    ErrorShapeMiddleware,
    RequestReportMiddleware,
    SecurityHeadersMiddleware,
    ServiceMiddleware,
)
from app.core.proxy import ProxyHeadersMiddleware
from app.core.rate_limit import RateLimiter
from app.core.redirects import relative_slash_redirects
from app.db.session import create_db_engine, session_factory
from app.models.naming import ARCHETYPES
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.registries import Segmentations
from app.models.versions.registry import ModelRegistry, watch_active_pointer
from app.services.monitoring.workers import start_monitoring
from app.services.notifications.drainer import start_notifications
from app.services.runs.writers import IndexWriters
from app.services.shutdown import stop_all
from app.services.training.launch import settle_orphaned_jobs
from app.utils.memory import limit_malloc_arenas, reuse_freed_blocks, tuned_gc
from app.utils.static import CachedStaticFiles

logger = logging.getLogger("app.startup")


def _api_description() -> str:
    segment_list = ", ".join(f"{archetype.segment_id} {archetype.name}" for archetype in ARCHETYPES)
    return f"""
Segment customers by **annual income (k$)** and **spending score (1-100)** with a KMeans model,
and get each segment's description and marketing strategy.

* `segment_id` is stable: it means the same segment in every model version ({segment_list}).
* Reads, predictions and file scoring are open while PUBLIC_READS is on (the default); otherwise, and for
  every change, send a credential: `X-API-Key` (an ADMIN_API_KEYS key or a personal key) or a bearer token
  from `/api/v1/auth/token`. A credential sent is always checked.
* Every error has the same JSON shape (`type`, `message`, `details`, `request_id`) and never echoes
  the input. Send `X-Request-ID` to trace a call; it is echoed back on every response.
"""


def _publish_model(version: str | None, previous: str | None, seconds: float | None) -> None:
    """Keep model_active_info and model_load_seconds on the model served: at start-up and after every swap."""
    record_model_loaded(version=version, previous=previous, seconds=seconds)


def _publish_segmentation_model(name: str, version: str | None, previous: str | None, seconds: float | None) -> None:
    """The same for another segmentation's served model, labelled with its name."""
    record_model_loaded(version=version, previous=previous, seconds=seconds, segmentation=name)


def _lifespan(settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading (and maybe training) is CPU and disk work: keep it off the event loop.
        app.state.registry = registry = await run_in_threadpool(
            ModelRegistry.open,
            settings.model_dir,
            auto_train=settings.auto_train,
            data_path=settings.data_path,
            processed_dir=settings.processed_dir,
            signing_key=settings.signing_key,
            on_change=_publish_model,
            on_fallback=record_serving_fallback,
        )
        # No address: the app cannot know it (`uvicorn main:app --port 9000` ignores PORT), and uvicorn logs its own.
        logger.info(
            "started: app %s, model %s (load %s)",
            __version__,
            registry.active.version if registry.active else f"none ({registry.reason})",
            f"{registry.load_seconds:.3f} s" if registry.load_seconds is not None else "-",
        )
        catalog = SegmentationCatalog(settings.model_dir)
        await run_in_threadpool(catalog.tidy)
        app.state.segmentations = segmentations = Segmentations(
            catalog, registry, settings.signing_key, on_change=_publish_segmentation_model
        )
        poller = asyncio.create_task(watch_active_pointer(segmentations, settings.model_poll_seconds))
        # Creating an engine connects to nothing. The database is migrated once for this process, then the log
        # writer and the activation mirror write from their own threads, off the request path.
        app.state.db_engine = create_db_engine(settings.database_url.get_secret_value())
        app.state.db_sessions = session_factory(app.state.db_engine)
        monitoring = await run_in_threadpool(
            start_monitoring,
            settings=settings,
            engine=app.state.db_engine,
            store=registry.store,
            segmentations=segmentations,
        )
        app.state.prediction_log = monitoring.prediction_log
        app.state.activation_mirror = monitoring.activation_mirror
        app.state.drift_evaluator = monitoring.drift_evaluator
        app.state.challenger_assignments = monitoring.challenger_assignments
        # Webhooks and email leave from the outbox on their own thread: no request waits for a receiver.
        notifications = start_notifications(
            settings=settings, sessions=app.state.db_sessions, database=monitoring.database
        )
        # Jobs of this host killed with the server that started them (or by a restart of the host): failed, announced.
        await run_in_threadpool(settle_orphaned_jobs, settings=settings)
        # Process-wide: the background threads above run Python beside the event loop (see GIL_SWITCH_MS).
        switch_interval = sys.getswitchinterval()
        sys.setswitchinterval(settings.gil_switch_ms / 1_000)
        # Everything alive now lives as long as the app: keep it out of the cyclic GC's scans, and collect young
        # objects less often (app/utils/memory.py). Undone at shutdown, or it would outlive the app. From here on
        # SIGTERM turns /readyz to 503 before the server stops listening (app/core/draining.py).
        with (
            tuned_gc() if settings.gc_tuning else contextlib.nullcontext(),
            drain_on_sigterm(app.state.drain, delay=settings.drain_seconds),
        ):
            try:
                yield
            finally:
                poller.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await poller
                # Customers' data first (the prediction log, then challenger assignments), every worker against
                # one deadline. A run's index child outlives no server: left alone it is re-parented to init and
                # writes on.
                await run_in_threadpool(stop_all, [*monitoring.in_stopping_order(), notifications, IndexWriters()])
                sys.setswitchinterval(switch_interval)
                app.state.db_engine.dispose()
                mark_worker_stopped()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create a configured application; the model loads when the lifespan starts."""
    settings = settings or get_settings()
    configure_logging(settings)
    # Before anything records: the collectors (and, for workers, the shared folder) are chosen once per process.
    configure_metrics(settings)
    # Before the server starts its threads: arenas made from here on obey the limit.
    limit_malloc_arenas(settings.malloc_arena_max)
    reuse_freed_blocks(settings.malloc_reuse_mb << 20)
    app = FastAPI(
        title=settings.app_name,
        version=__version__,
        description=_api_description(),
        lifespan=_lifespan(settings),
        docs_url=None,
        redoc_url=None,
        openapi_tags=[
            {"name": "predictions", "description": "Segment customers."},
            {"name": "segments", "description": "What each segment is and how big it is."},
            {"name": "model", "description": "The loaded model."},
            {"name": "models", "description": "Model versions: list, compare, activate, roll back, delete."},
            {"name": "jobs", "description": "Training jobs started from the API."},
            {"name": "reports", "description": "A model version's segment report, as HTML or PDF."},
            {
                "name": "runs",
                "description": "Every scored file kept as a run: list, download, browse by customer, compare two, "
                "report, drift, delete.",
            },
            {"name": "service", "description": "Service health."},
            {
                "name": "accounts",
                "description": "Sign in for a bearer token (OAuth2 password flow), personal API keys, and users "
                "(admins). Roles: viewer reads, analyst also scores files, admin also trains and manages.",
            },
            {"name": "notifications", "description": "Webhooks and email on events (admins)."},
            {"name": "monitoring", "description": "Logged predictions and drift against the training data."},
            {
                "name": "challenger",
                "description": "Champion and challenger: a second version on a share of live traffic (split) or "
                "beside every request (shadow), its agreement report, promote and stop.",
            },
            {
                "name": "outcomes",
                "description": "What customers did after being segmented (purchases, clicks), reported by a CRM, a "
                "shop or an analyst.",
            },
            {"name": "experiments", "description": "Each campaign's outcomes per segment and challenger arm (A/B)."},
            {
                "name": "proposals",
                "description": "Retraining proposals: a candidate trained on recent customers when drift appears or "
                "on demand, compared with the active version; accept or dismiss it.",
            },
            {
                "name": "segmentations",
                "description": "Named segmentations over chosen columns, or RFM built from transactions; each has "
                "its own versions, and every per-model route again under /api/v1/segmentations/{name}/. The "
                "examples of its predict routes show each segmentation's features.",
            },
        ],
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(settings)
    app.state.drain = Drain()
    register_error_handlers(app)
    # The predict routes first: routes are matched in order, and they are the hot path (see predict_routers).
    for router in predict_routers():
        app.include_router(router, prefix=API_PREFIX, max_body_size=settings.max_body_bytes)
    app.include_router(build_api_router(settings), max_body_size=settings.max_body_bytes)
    app.include_router(ops.router)
    app.include_router(views.router)
    app.include_router(account_views.router)
    app.include_router(audit_views.router)
    app.include_router(experiment_views.router)
    app.include_router(users_views.router)
    app.include_router(docs.router)
    app.mount("/static", CachedStaticFiles(directory=PROJECT_ROOT / "app" / "static"), name="static")
    app.mount(docs.DOCS_ASSETS_URL, docs.DOCS_ASSETS, name="docs-assets")
    app.openapi = docs.openapi_with_segmentations(app)  # type: ignore[method-assign]
    relative_slash_redirects(app.router)

    # Added innermost first: the single-predict shortcut (app/controllers/api/fast_predict.py) right above the
    # app's routes, then a crash becomes a 500 below the headers, the access log and the request id.
    app.add_middleware(FastPredict, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(ErrorShapeMiddleware)
    if not settings.cors_origins and not settings.force_https:
        # The defaults: the request's id and report, the security headers and compression in one layer.
        app.add_middleware(ServiceMiddleware, gzip_min_bytes=settings.gzip_min_bytes)
    else:
        app.add_middleware(SecurityHeadersMiddleware, gzip_min_bytes=settings.gzip_min_bytes)
        if settings.cors_origins:
            # Credentials stay off: with an explicit list they are not needed, and with "*" they would be unsafe.
            app.add_middleware(
                CORSMiddleware,
                allow_origins=settings.cors_origins,
                allow_credentials=False,
                allow_methods=["GET", "POST"],
                allow_headers=["Content-Type", "X-Request-ID"],
                # The headers a partner's page reads: hidden from its scripts unless exposed.
                expose_headers=[
                    "X-Request-ID",
                    MODEL_VERSION_HEADER,
                    RUN_ID_HEADER,
                    RUN_NOT_KEPT_HEADER,
                    *COUNT_HEADERS,
                ],
            )
        if settings.force_https:
            # Outside the headers and CORS, so a redirect answers at once; inside the report, so it is counted.
            hsts = hsts_value(max_age=settings.hsts_max_age, include_subdomains=settings.hsts_include_subdomains)
            app.add_middleware(ForceHttpsMiddleware, hsts=hsts, public_url=settings.public_url)
        # Outermost but for the proxy headers, so the time and status include everything, crashes turned into 500s.
        app.add_middleware(RequestReportMiddleware)
    if settings.trusted_proxies or settings.trust_forwarded_for:
        # Outermost: every layer and route sees the client and scheme the one rule gives (app/core/proxy.py).
        app.add_middleware(
            ProxyHeadersMiddleware,
            trusted_proxies=settings.trusted_proxies,
            trust_peer=settings.trust_forwarded_for,
        )
    return app
