"""The Dask engine as an optional extra: refused in one line naming requirements-dask.txt when it is not installed."""

import sys

import pytest

from app.core.errors import InvalidRequest
from app.services.dask_extra import DASK_PACKAGES, require_dask


@pytest.mark.parametrize("package", DASK_PACKAGES)
def test_require_dask_refuses_with_the_install_line_when_a_package_is_missing(monkeypatch, package):
    monkeypatch.setitem(sys.modules, package, None)  # what `import` reads as not installed
    with pytest.raises(InvalidRequest) as refused:
        require_dask()
    assert refused.value.status_code == 422
    assert f"not installed ({package} missing)" in refused.value.message
    assert "`.venv/bin/pip install -r requirements-dask.txt`" in refused.value.message
    assert "\n" not in refused.value.message


def test_require_dask_lets_the_engine_run_when_installed():
    require_dask()  # the test environment installs requirements-dask.txt
