"""Kustomize renders both overlays offline, the validator passes them, and the base holds what a cluster needs."""

from ipaddress import ip_network

import pytest

from app.core.config import Settings
from app.core.errors import AccessDenied
from app.core.security import require_metrics_access
from tests.deploy.files import K8S, OVERLAYS, kustomize, of_kind, one, python_tool, run


@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> dict[str, list[dict]]:
    """Each overlay rendered once for the module."""
    return {overlay: kustomize(K8S / "overlays" / overlay) for overlay in (*OVERLAYS, "servicemonitor")}


def _validate(tmp_path, objects: list[dict], name: str):
    import yaml

    path = tmp_path / f"{name}.yaml"
    path.write_text(yaml.safe_dump_all(objects))
    return run([python_tool("kubernetes-validate", "kubernetes-validate"), "--strict", "--quiet", str(path)])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_overlay_passes_the_kubernetes_schemas(rendered, tmp_path, overlay):
    result = _validate(tmp_path, rendered[overlay], overlay)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_validator_rejects_a_field_kubernetes_does_not_know(rendered, tmp_path):
    objects = rendered["prod"]
    deployment = one(objects, "Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["livenesProbe"] = {"httpGet": {"path": "/livez"}}
    result = _validate(tmp_path, objects, "broken")
    assert result.returncode != 0
    assert "livenesProbe" in result.stdout + result.stderr


def test_the_base_holds_every_object_a_cluster_needs(rendered):
    assert {
        "Deployment", "Service", "HorizontalPodAutoscaler", "PodDisruptionBudget", "PersistentVolumeClaim", "Job",
        "ConfigMap",
    } <= {item["kind"] for item in rendered["prod"]}  # fmt: skip
    assert {"Deployment", "Service", "PersistentVolumeClaim", "ConfigMap", "Secret"} <= {
        item["kind"] for item in rendered["dev"]
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_pods_run_non_root_on_a_read_only_root_with_a_writable_tmp(rendered, overlay):
    for item in of_kind(rendered[overlay], "Deployment") + of_kind(rendered[overlay], "Job"):
        pod = item["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in pod["containers"]:
            context = container["securityContext"]
            assert context["readOnlyRootFilesystem"] is True
            assert context["allowPrivilegeEscalation"] is False
            assert "/tmp" in {mount["mountPath"] for mount in container["volumeMounts"]}
            assert container["resources"]["requests"] and container["resources"]["limits"]["memory"]


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_grace_period_outlasts_the_drain_and_the_pre_stop_pause(rendered, overlay):
    objects = rendered[overlay]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    graceful = float(one(objects, "ConfigMap")["data"]["GRACEFUL_TIMEOUT"])
    pause = pod["containers"][0]["lifecycle"]["preStop"]["sleep"]["seconds"]
    assert pod["terminationGracePeriodSeconds"] > graceful + pause


def test_probes_are_liveness_readiness_and_startup(rendered):
    container = one(rendered["prod"], "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["startupProbe"]["httpGet"]["path"]


def test_the_model_store_is_one_read_write_many_volume_that_every_pod_mounts(rendered):
    objects = rendered["prod"]
    claim = one(objects, "PersistentVolumeClaim")
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    pod = one(objects, "Deployment")["spec"]["template"]["spec"]
    volume = next(v for v in pod["volumes"] if v.get("persistentVolumeClaim"))
    assert volume["persistentVolumeClaim"]["claimName"] == claim["metadata"]["name"]
    mount = next(m for m in pod["containers"][0]["volumeMounts"] if m["name"] == volume["name"])
    assert one(objects, "ConfigMap")["data"]["MODEL_DIR"].startswith(mount["mountPath"] + "/")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_settings_come_from_the_config_map_and_the_secret_by_name(rendered, overlay):
    objects = rendered[overlay]
    for item in of_kind(objects, "Deployment") + of_kind(objects, "Job"):
        sources = item["spec"]["template"]["spec"]["containers"][0]["envFrom"]
        assert {"configMapRef": {"name": one(objects, "ConfigMap")["metadata"]["name"]}} in sources
        assert {"secretRef": {"name": "customer-segmentation-secrets"}} in sources


def test_production_ships_no_placeholder_secret_and_pins_its_image(rendered):
    assert of_kind(rendered["prod"], "Secret") == []
    assert {"MODEL_SIGNING_KEY", "ADMIN_API_KEYS", "DATABASE_URL", "RATE_LIMIT_STORAGE"} <= set(
        one(rendered["dev"], "Secret")["stringData"]
    )
    image = one(rendered["prod"], "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert not image.endswith((":latest", ":dev"))


def test_the_autoscaler_and_budget_target_the_deployment(rendered):
    objects = rendered["prod"]
    deployment = one(objects, "Deployment")
    autoscaler = one(objects, "HorizontalPodAutoscaler")
    assert autoscaler["spec"]["scaleTargetRef"]["name"] == deployment["metadata"]["name"]
    selector = one(objects, "PodDisruptionBudget")["spec"]["selector"]["matchLabels"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert one(objects, "PodDisruptionBudget")["spec"]["minAvailable"] < autoscaler["spec"]["minReplicas"]
    # The autoscaler owns the count: a replicas field would reset it on every apply.
    assert "replicas" not in deployment["spec"]


def test_prometheus_finds_the_pods_by_annotation_and_the_operator_by_service_monitor(rendered):
    deployment = one(rendered["prod"], "Deployment")
    annotations = deployment["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/path"] == "/metrics"
    assert (
        int(annotations["prometheus.io/port"])
        == deployment["spec"]["template"]["spec"]["containers"][0]["ports"][0]["containerPort"]
    )
    monitor = one(rendered["servicemonitor"], "ServiceMonitor")
    service = one(rendered["servicemonitor"], "Service")
    assert monitor["spec"]["selector"]["matchLabels"].items() <= service["metadata"]["labels"].items()
    assert monitor["spec"]["endpoints"][0]["port"] in {port["name"] for port in service["spec"]["ports"]}
    assert of_kind(rendered["prod"], "ServiceMonitor") == []


# Pod addresses a Prometheus in the cluster scrapes from, on the common pod networks: kind and flannel, k3s, Calico.
POD_ADDRESSES = ("10.244.1.7", "10.42.0.12", "192.168.12.3")


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_prometheus_in_the_cluster_may_scrape_and_the_internet_may_not(rendered, overlay):
    value = one(rendered[overlay], "ConfigMap")["data"]["METRICS_ALLOWED_NETWORKS"]
    settings = Settings(metrics_allowed_networks=value)
    for address in POD_ADDRESSES:
        require_metrics_access(client=address, api_key=None, settings=settings)
    assert all(network.is_private for network in settings.metrics_allowed_networks)
    assert ip_network("0.0.0.0/0") not in settings.metrics_allowed_networks
    with pytest.raises(AccessDenied):
        require_metrics_access(client="203.0.113.9", api_key=None, settings=settings)


# The Secret keys a replica cannot do without (README, Deploy, lists them for secrets.env).
REQUIRED_SECRET_KEYS = ("DATABASE_URL", "RATE_LIMIT_STORAGE", "MODEL_SIGNING_KEY", "ADMIN_API_KEYS")


def _secret_refs(item: dict) -> dict[str, dict]:
    container = item["spec"]["template"]["spec"]["containers"][0]
    return {
        entry["name"]: entry["valueFrom"]["secretKeyRef"]
        for entry in container.get("env", [])
        if "secretKeyRef" in entry.get("valueFrom", {})
    }


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_a_secret_missing_a_required_key_stops_the_pods(rendered, overlay):
    # envFrom skips a missing key; a secretKeyRef that is not optional refuses to start the container.
    objects = rendered[overlay]
    refs = _secret_refs(one(objects, "Deployment"))
    for key in REQUIRED_SECRET_KEYS:
        assert refs[key] == {"name": "customer-segmentation-secrets", "key": key, "optional": False}
    for job in of_kind(objects, "Job"):
        assert _secret_refs(job)["DATABASE_URL"]["optional"] is False


def test_the_readme_lists_every_key_secrets_env_must_hold():
    from app.core.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    deploy = readme[readme.index("\n## Deploy\n") :]
    deploy = deploy[: deploy.index("\n## ", 1)]
    block = deploy[deploy.index("# secrets.env") :]
    block = block[: block.index("```")]
    assert {line.split("=")[0] for line in block.splitlines() if "=" in line and not line.startswith("#")} >= set(
        REQUIRED_SECRET_KEYS
    )
    assert "PostgreSQL" in deploy and "SQLite" in deploy


def test_behind_the_ingress_the_client_is_the_caller_and_the_scheme_https(rendered):
    from app.core.proxy import forwarded_client

    data = one(rendered["prod"], "ConfigMap")["data"]
    settings = Settings(
        trusted_proxies=data["TRUSTED_PROXIES"],
        metrics_allowed_networks=data["METRICS_ALLOWED_NETWORKS"],
        force_https=data["FORCE_HTTPS"],
        public_url=data["PUBLIC_URL"],
    )
    assert settings.force_https is True
    assert settings.public_url.startswith("https://")
    # An ingress pod forwards a request from the internet: the client is the caller, not the ingress pod, so it
    # gets its own rate-limit count and /metrics through the ingress is refused.
    client, _ = forwarded_client(
        "10.244.1.7", "203.0.113.9", trusted_proxies=settings.trusted_proxies, trust_peer=False
    )
    assert client == "203.0.113.9"
    with pytest.raises(AccessDenied):
        require_metrics_access(client=client, api_key=None, settings=settings)
    # Not everyone: the public internet is no trusted proxy.
    assert all(network.is_private for network in settings.trusted_proxies)


def test_production_does_not_train_on_the_synthetic_data_and_spreads_its_pods(rendered):
    objects = rendered["prod"]
    settings = Settings(auto_train=one(objects, "ConfigMap")["data"]["AUTO_TRAIN"])
    assert settings.auto_train is False
    pod = one(objects, "Deployment")["spec"]["template"]
    (spread,) = pod["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"].items() <= pod["metadata"]["labels"].items()


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_no_pod_gets_a_service_account_token(rendered, overlay):
    for item in of_kind(rendered[overlay], "Deployment") + of_kind(rendered[overlay], "Job"):
        assert item["spec"]["template"]["spec"]["automountServiceAccountToken"] is False


def test_dev_is_one_pod_on_sqlite_and_memory_limits_with_nothing_else_to_deploy(rendered):
    objects = rendered["dev"]
    secret = one(objects, "Secret")["stringData"]
    settings = Settings(database_url=secret["DATABASE_URL"], rate_limit_storage=secret["RATE_LIMIT_STORAGE"])
    assert settings.database_url.get_secret_value().startswith("sqlite:////data/")
    assert settings.rate_limit_storage.get_secret_value() == "memory://"
    deployment = one(objects, "Deployment")
    # One pod, never two at once (no autoscaler, no surge), on a single-node volume: SQLite is never shared.
    assert deployment["spec"]["replicas"] == 1
    assert deployment["spec"]["strategy"] == {"type": "Recreate"}
    assert of_kind(objects, "HorizontalPodAutoscaler") == []
    assert one(objects, "PersistentVolumeClaim")["spec"]["accessModes"] == ["ReadWriteOnce"]
    mount = next(
        m for m in deployment["spec"]["template"]["spec"]["containers"][0]["volumeMounts"] if m["name"] == "data"
    )
    assert settings.database_url.get_secret_value().startswith(f"sqlite:///{mount['mountPath']}/")


def _bytes(quantity: str) -> float:
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "K": 1e3, "M": 1e6, "G": 1e9}
    for unit, factor in sorted(units.items(), key=lambda item: -len(item[0])):
        if quantity.endswith(unit):
            return float(quantity[: -len(unit)]) * factor
    return float(quantity)


# Measured: two workers and their parent, about 774 MB PSS after a CSV upload and a PDF report (README, production).
TWO_WORKERS_BYTES = 774e6
# Left for one training job, which runs as a subprocess in the same container.
TRAINING_HEADROOM_BYTES = 512 * 2**20


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_the_memory_limit_holds_the_workers_and_a_training_job(rendered, overlay):
    objects = rendered[overlay]
    workers = int(one(objects, "ConfigMap")["data"]["WORKERS"])
    container = one(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    limit = _bytes(container["resources"]["limits"]["memory"])
    assert limit >= TWO_WORKERS_BYTES * max(workers, 2) / 2 + TRAINING_HEADROOM_BYTES
    assert _bytes(container["resources"]["requests"]["memory"]) >= TWO_WORKERS_BYTES * max(workers, 2) / 2


def test_the_readme_says_how_a_stopping_pod_is_kept_from_traffic_and_what_memory_it_needs():
    from app.core.config import PROJECT_ROOT

    readme = (PROJECT_ROOT / "README.md").read_text()
    production = readme[readme.index("\n## Running it in production\n") :]
    production = production[: production.index("\n## ", 1)]
    for phrase in ("listening socket open", "preStop", "774 MB PSS", "subprocesses"):
        assert phrase in production, phrase
