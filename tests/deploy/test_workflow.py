"""The GitHub Actions workflow: schema-valid, and its three jobs do what the issue asks."""

import yaml

from app.core.config import PROJECT_ROOT
from tests.deploy.files import python_tool, run

WORKFLOW = PROJECT_ROOT / ".github" / "workflows" / "ci.yml"


def _steps(job: str) -> str:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    return "\n".join(step.get("run", "") for step in workflow["jobs"][job]["steps"])


def test_the_workflow_is_valid_against_the_github_workflows_schema():
    checker = python_tool("check-jsonschema", "check-jsonschema")
    result = run([checker, "--builtin-schema", "vendor.github-workflows", str(WORKFLOW)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_workflow_schema_check_catches_a_wrong_workflow(tmp_path):
    broken = tmp_path / "ci.yml"
    broken.write_text("on: push\njobs:\n  test:\n    steps:\n      - run: true\n")  # no runs-on
    checker = python_tool("check-jsonschema", "check-jsonschema")
    assert run([checker, "--builtin-schema", "vendor.github-workflows", str(broken)]).returncode != 0


def test_the_test_job_runs_the_projects_ci():
    assert "bash .ci/run" in _steps("test")


def test_the_image_job_builds_and_waits_for_the_containers_healthcheck():
    steps = _steps("image")
    assert "docker build" in steps
    assert ".State.Health.Status" in steps and "healthy" in steps


def test_the_compose_job_brings_the_stack_up_predicts_once_and_tears_it_down():
    steps = _steps("compose")
    assert "docker compose up" in steps and "--wait" in steps
    assert steps.count("/predict") == 1
    assert "docker compose down" in steps
