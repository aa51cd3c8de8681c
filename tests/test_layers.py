"""The layers import downwards only: controllers -> services -> models, and core imports nothing above it."""

import ast
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
# What each layer may not import (app.<layer>), as STYLE.md's table says.
FORBIDDEN = {
    "core": {"controllers", "services", "schemas", "models", "db", "main", "cli"},
    "utils": {"controllers", "services", "schemas", "models", "db", "main", "core", "cli"},
    "models": {"controllers", "services", "schemas", "db", "main", "cli"},
    "schemas": {"controllers", "services", "db", "main", "cli"},
    "services": {"controllers", "main", "cli"},
    "controllers": {"main", "cli"},
}


def _app_imports(path: Path) -> set[str]:
    """The app.<layer> names a module imports."""
    layers = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        layers.update(name.split(".")[1] for name in names if name.startswith("app.") and name.count(".") >= 1)
    return layers


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_above_it(layer):
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_app_imports(path) & FORBIDDEN[layer])
        for path in sorted((APP / layer).rglob("*.py"))
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_models_never_import_fastapi():
    for path in (APP / "models").rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
        modules |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
        assert not {m for m in modules if m.split(".")[0] in {"fastapi", "starlette"}}, path


def test_the_checker_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from app.controllers.deps import SegmenterDep\nimport app.services.prediction\n")
    assert _app_imports(module) == {"controllers", "services"}
