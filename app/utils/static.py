"""Static files with content-hashed URLs and browser caching."""

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

# A URL that carries the file's content hash never changes meaning, so browsers may keep it for a year.
IMMUTABLE_CACHE = "public, max-age=31536000, immutable"
# Without the hash (an old link, the docs assets) browsers keep a file for an hour, then revalidate by ETag.
PLAIN_CACHE = "public, max-age=3600"
VERSION_PARAM = "v"


@lru_cache(maxsize=256)
def content_hash(path: Path, mtime_ns: int) -> str:
    """The first 12 hex digits of a file's sha256 (keyed by mtime too, so an edited file gets a new hash)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def hashed_query(directory: Path, relative: str) -> str:
    """The `?v=<hash>` suffix that versions a static file's URL by its content."""
    path = (directory / relative).resolve()
    return f"?{VERSION_PARAM}={content_hash(path, path.stat().st_mtime_ns)}"


class CachedStaticFiles(StaticFiles):
    """StaticFiles that lets browsers keep content-hashed URLs for a year and other URLs for an hour."""

    def file_response(
        self, full_path: str | os.PathLike[str], stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        """Add Cache-Control to every file served: long only when the URL's hash matches the file served."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        query = scope.get("query_string", b"").decode("latin-1")
        versioned = query == hashed_query(Path(full_path).parent, Path(full_path).name)[1:]
        response.headers["Cache-Control"] = IMMUTABLE_CACHE if versioned else PLAIN_CACHE
        return response
