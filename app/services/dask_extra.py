"""The Dask engine is an optional extra (requirements-dask.txt): refused in one line, before any work, without it."""

import importlib.util

from app.core.errors import InvalidRequest

DASK_PACKAGES = ("dask", "distributed")
INSTALL_DASK = "install requirements-dask.txt: `.venv/bin/pip install -r requirements-dask.txt`"


def require_dask() -> None:
    """Raise InvalidRequest, saying how to install it, unless the Dask engine's packages are installed."""
    # Found, not imported: `distributed` takes a second and tens of MB, which a server refusing a job need not pay.
    missing = [name for name in DASK_PACKAGES if importlib.util.find_spec(name) is None]
    if missing:
        raise InvalidRequest(f"the Dask engine is not installed ({', '.join(missing)} missing): {INSTALL_DASK}")
