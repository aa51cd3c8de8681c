"""Static files with browser caching."""

import os

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CACHE_SECONDS = 24 * 3600


class CachedStaticFiles(StaticFiles):
    """StaticFiles that lets browsers keep assets for a day (ETag still revalidates after that)."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """Add Cache-Control to every file served."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
        return response
