"""The composition root: settings, logging, lifespan, middleware, routers and error handlers, wired once."""

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from starlette.concurrency import run_in_threadpool

from app import __version__
from app.controllers import docs, views
from app.controllers.api import api_router
from app.core.config import PROJECT_ROOT, Settings, get_settings
from app.core.handlers import register_error_handlers
from app.core.logging import configure_logging
from app.core.middleware import (
    AccessLogMiddleware,
    BodyLimitErrorMiddleware,
    ExceptionMiddleware,
    RequestIdMiddleware,
    SecurityHeadersMiddleware,
)
from app.db.session import create_db_engine, session_factory
from app.models.naming import ARCHETYPES
from app.models.registry import ModelRegistry
from app.services.prediction_log import open_prediction_log
from app.utils.static import CachedStaticFiles


def _api_description() -> str:
    segment_list = ", ".join(f"{archetype.segment_id} {archetype.name}" for archetype in ARCHETYPES)
    return f"""
Segment customers by **annual income (k$)** and **spending score (1-100)** with a KMeans model,
and get each segment's description and marketing strategy.

* `segment_id` is stable: it means the same segment in every model version ({segment_list}).
* Every error has the same JSON shape (`type`, `message`, `details`, `request_id`) and never echoes
  the input. Send `X-Request-ID` to trace a call; it is echoed back on every response.
"""


def _lifespan(settings: Settings):
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Loading (and maybe training) is CPU and disk work: keep it off the event loop.
        app.state.registry = await run_in_threadpool(
            ModelRegistry.open,
            settings.model_dir,
            auto_train=settings.auto_train,
            data_path=settings.data_path,
            processed_dir=settings.processed_dir,
        )
        # Creating an engine connects to nothing; the writer migrates, then writes off the request path.
        app.state.db_engine = create_db_engine(settings.database_url.get_secret_value())
        app.state.db_sessions = session_factory(app.state.db_engine)
        app.state.prediction_log = await run_in_threadpool(open_prediction_log, settings, app.state.db_engine)
        if settings.gc_tuning:
            # Everything alive now lives as long as the process: keep it out of the cyclic GC's scans. A batch
            # response allocates ~30,000 short-lived dicts (freed by reference counting, not by the GC), so
            # young-generation collections every 700 allocations cost time on a 10,000-row request.
            gc.freeze()
            gc.set_threshold(50_000, 20, 20)
        yield
        if app.state.prediction_log is not None:
            await run_in_threadpool(app.state.prediction_log.stop)
        app.state.db_engine.dispose()

    return lifespan


def create_app(settings: Settings | None = None) -> FastAPI:
    """Create a configured application; the model loads when the lifespan starts."""
    settings = settings or get_settings()
    configure_logging(settings)
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
            {"name": "service", "description": "Service health."},
            {"name": "monitoring", "description": "Logged predictions and drift against the training data."},
        ],
    )
    app.state.settings = settings
    register_error_handlers(app)
    app.include_router(api_router, max_body_size=settings.max_body_bytes)
    app.include_router(views.router)
    app.include_router(docs.router)
    app.mount("/static", CachedStaticFiles(directory=PROJECT_ROOT / "app" / "static"), name="static")
    app.mount(docs.DOCS_ASSETS_URL, docs.DOCS_ASSETS, name="docs-assets")

    # Added innermost first: a crash becomes a 500 below the headers, the access log and the request id.
    app.add_middleware(BodyLimitErrorMiddleware)
    app.add_middleware(ExceptionMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    if settings.cors_origins:
        # Credentials stay off: with an explicit list they are not needed, and with "*" they would be unsafe.
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_credentials=False,
            allow_methods=["GET", "POST"],
            allow_headers=["Content-Type", "X-Request-ID"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(AccessLogMiddleware)
    app.add_middleware(RequestIdMiddleware)
    return app
