"""The layers import downwards only, as the README's Architecture section says; modules stay small and acyclic."""

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT

APP = PROJECT_ROOT / "app"
# What each layer may not import (app.<layer>): controllers -> web -> services -> models, db, schemas -> core, utils.
FORBIDDEN = {
    "core": {"controllers", "web", "services", "schemas", "models", "db", "main", "cli"},
    "utils": {"controllers", "web", "services", "schemas", "models", "db", "main", "core", "cli"},
    "models": {"controllers", "web", "services", "schemas", "db", "main", "cli"},
    "db": {"controllers", "web", "services", "schemas", "main", "cli"},
    "schemas": {"controllers", "web", "services", "db", "main", "cli"},
    "services": {"controllers", "web", "main", "cli"},
    "web": {"controllers", "main", "cli"},
    "controllers": {"main", "cli"},
}
# Layers that hold no HTTP: a service that built a Starlette object or raised HTTPException would tie a use case
# to one caller (the CLI and jobs call services too).
NO_WEB_FRAMEWORK = ("models", "services", "schemas", "db")
MAX_MODULE_LINES = 500


def _imported_modules(path: Path) -> Iterator[str]:
    """Every absolute module a file imports, at any depth (function-level imports count too)."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            # `from app.services import scoring` imports the module app.services.scoring
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _app_imports(path: Path) -> set[str]:
    """The app.<layer> names a module imports."""
    return {name.split(".")[1] for name in _imported_modules(path) if name.startswith("app.") and name.count(".") >= 1}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_above_it(layer):
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(_app_imports(path) & FORBIDDEN[layer])
        for path in sorted((APP / layer).rglob("*.py"))
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


@pytest.mark.parametrize("layer", NO_WEB_FRAMEWORK)
def test_layer_never_imports_fastapi_or_starlette(layer):
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): sorted(
            {name for name in _imported_modules(path) if name.split(".")[0] in {"fastapi", "starlette"}}
        )
        for path in sorted((APP / layer).rglob("*.py"))
    }
    assert {path: bad for path, bad in offenders.items() if bad} == {}


def test_no_module_is_over_500_lines():
    lengths = {str(path.relative_to(PROJECT_ROOT)): len(path.read_text().splitlines()) for path in APP.rglob("*.py")}
    assert {path: lines for path, lines in lengths.items() if lines > MAX_MODULE_LINES} == {}


def _import_graph() -> dict[str, set[str]]:
    """Each app module and the app modules it imports, at any depth: an import deferred into a function still ties
    the two modules together, it only hides the cycle until that function runs."""
    modules = {_module_name(path): path for path in APP.rglob("*.py")}
    return {
        name: {target for target in _imported_modules(path) if target in modules and target != name}
        for name, path in modules.items()
    }


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The import cycles of a graph, one path each (depth-first search, colouring nodes as it goes)."""
    state: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                found.append([*stack[stack.index(target) :], target])
            elif target not in state:
                visit(target)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_app_has_no_import_cycle():
    assert _cycles(_import_graph()) == []


def test_the_cycle_finder_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_the_checker_sees_a_forbidden_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text(
        "from app.controllers.deps import SegmenterDep\nimport app.services.prediction\n"
        "def page():\n    from app.web.pages import home\n"
    )
    assert _app_imports(module) == {"controllers", "services", "web"}
