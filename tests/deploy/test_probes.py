"""Every probe and healthcheck asks for a path the app serves: manifests, compose and the Dockerfile agree with it."""

import json
import os

import pytest

from tests.deploy.files import (
    K8S,
    OVERLAYS,
    app_get_routes,
    final_stage,
    healthcheck_paths,
    kustomize,
    load_compose,
    probe_paths,
    unknown_paths,
)


@pytest.fixture(scope="module")
def routes() -> set[str]:
    """The GET paths the app serves."""
    return app_get_routes()


def _compose_paths() -> list[tuple[str, str]]:
    found = []
    for name, service in load_compose()["services"].items():
        test = service.get("healthcheck", {}).get("test", [])
        # Only the app's own image answers the app's routes.
        if service.get("image", "").startswith("customer-segmentation"):
            found += [(f"compose {name}", path) for path in healthcheck_paths(" ".join(test))]
    return found


def _dockerfile_paths() -> list[tuple[str, str]]:
    checks = [rest for keyword, rest in final_stage() if keyword == "HEALTHCHECK"]
    return [("Dockerfile HEALTHCHECK", path) for check in checks for path in healthcheck_paths(check)]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_probe_in_the_rendered_manifests_is_a_route_of_the_app(routes, overlay):
    paths = probe_paths(kustomize(K8S / "overlays" / overlay))
    assert len(paths) == 3
    assert unknown_paths(paths, routes) == []


def test_compose_and_dockerfile_healthchecks_are_routes_of_the_app(routes):
    paths = _compose_paths() + _dockerfile_paths()
    assert {where for where, _ in paths} == {"compose app", "Dockerfile HEALTHCHECK"}
    assert unknown_paths(paths, routes) == []


def test_a_manifest_whose_probe_path_does_not_exist_is_caught(routes, tmp_path):
    # An overlay that points readiness at /ready (the app serves /readyz), rendered by the same kustomize.
    overlay = tmp_path / "broken"
    overlay.mkdir()
    patch = [
        {"op": "replace", "path": "/spec/template/spec/containers/0/readinessProbe/httpGet/path", "value": "/ready"}
    ]
    (overlay / "kustomization.yaml").write_text(
        json.dumps(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": [os.path.relpath(K8S / "base", overlay)],
                "patches": [{"target": {"kind": "Deployment"}, "patch": json.dumps(patch)}],
            }
        )
    )
    unknown = unknown_paths(probe_paths(kustomize(overlay)), routes)
    assert unknown == [("Deployment/customer-segmentation app readinessProbe", "/ready")]
