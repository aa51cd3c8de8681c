"""How `python main.py` runs uvicorn: its options, from our settings.

Apart from the app so that uvicorn's supervisor of `--workers N` reads them without building an app of its own.
"""

from typing import Any

from app.core.config import Settings


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's settings for `python main.py`, from ours."""
    return {
        "host": settings.host,
        "port": settings.port,
        "workers": settings.workers,
        "log_level": settings.log_level.lower(),
        # uvicorn sets up its logging after main.py has imported the app, undoing the app's switch-off of its access
        # line (app/core/logging.py): the app already logs each request once, with its id.
        "access_log": False,
        # In JSON, uvicorn keeps the handler the app gave its loggers instead of its plain-text default.
        **({"log_config": None} if settings.log_format == "json" else {}),
        "timeout_graceful_shutdown": settings.graceful_timeout,
        "limit_concurrency": settings.limit_concurrency,
        "timeout_keep_alive": settings.timeout_keep_alive,
        "timeout_worker_healthcheck": settings.worker_healthcheck_timeout,
        # uvicorn's own proxy-header handling is on by default and trusts X-Forwarded-For and X-Forwarded-Proto
        # from 127.0.0.1, rewriting the scope before the app sees it: a local caller (or a proxy passing the headers
        # through) could then pick its own address and scheme, and the app would read forwarded headers a second
        # time. The app applies one rule itself, from TRUSTED_PROXIES and TRUST_FORWARDED_FOR (app/core/proxy.py),
        # under any server and in tests alike.
        "proxy_headers": False,
        # `Server: uvicorn` tells a scanner what to try. uvicorn adds it below the app, which cannot remove it, so
        # `uvicorn main:app` needs --no-server-header (or UVICORN_SERVER_HEADER=false) for the same.
        "server_header": False,
    }
