"""Alert rules: promtool checks them and runs their unit tests, and every alert has a test that fires and one that
does not."""

import re
from collections import defaultdict

import pytest
import yaml

from tests.deploy.files import DASHBOARD, DEPLOY, K8S, kustomize, of_kind, one, run
from tests.tools import need_tool

RULES = DEPLOY / "prometheus" / "alerts.yml"
RULE_TESTS = DEPLOY / "prometheus" / "alerts_test.yml"
# What the issue asks an alert for, by the metric each one reads.
REQUIRED_METRICS = (
    "http_requests_total",
    "http_request_duration_seconds_bucket",
    "model_active_info",
    "drift_status",
    "prediction_log_dropped_rows_total",
    "training_jobs_total",
    "rate_limited_requests_total",
    "prediction_log_queue_rows",
    "model_serving_fallback",
    "rate_limit_storage_circuit_open",
    # A subscriber that missed an event for good (the delivery's last attempt) is an operator's to hear about.
    "notification_deliveries_total",
)


def _alerts() -> dict[str, str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return {rule["alert"]: rule["expr"] for group in groups for rule in group["rules"] if "alert" in rule}


def test_promtool_checks_the_rules_and_the_config():
    promtool = need_tool("promtool", "prometheus")
    result = run([promtool, "check", "rules", str(RULES)])
    assert result.returncode == 0, result.stdout + result.stderr
    result = run([promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")])
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_rule_unit_tests_pass():
    result = run([need_tool("promtool", "prometheus"), "test", "rules", str(RULE_TESTS)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_promtool_rule_unit_tests_fail_when_an_alert_stops_firing(tmp_path):
    # The unit tests can fail: with the error threshold raised to 50%, the 10% case no longer fires.
    (tmp_path / "alerts.yml").write_text(RULES.read_text().replace("> 0.05", "> 0.5"))
    (tmp_path / "alerts_test.yml").write_text(RULE_TESTS.read_text())
    result = run([need_tool("promtool", "prometheus"), "test", "rules", str(tmp_path / "alerts_test.yml")])
    assert result.returncode != 0
    assert "SegmentationHighErrorRate" in result.stdout + result.stderr


def test_every_metric_the_issue_names_has_an_alert():
    expressions = " ".join(_alerts().values())
    assert [metric for metric in REQUIRED_METRICS if metric not in expressions] == []


def test_every_alert_has_a_unit_test_that_fires_it_and_one_that_does_not():
    fired, quiet = defaultdict(int), defaultdict(int)
    for case in yaml.safe_load(RULE_TESTS.read_text())["tests"]:
        for check in case.get("alert_rule_test", []):
            (fired if check["exp_alerts"] else quiet)[check["alertname"]] += 1
    alerts = set(_alerts())
    assert alerts <= set(fired), f"never fired: {alerts - set(fired)}"
    assert alerts <= set(quiet), f"never checked quiet: {alerts - set(quiet)}"


@pytest.mark.parametrize("alert", sorted(_alerts()))
def test_every_alert_has_a_severity_and_a_summary(alert):
    groups = yaml.safe_load(RULES.read_text())["groups"]
    rule = next(rule for group in groups for rule in group["rules"] if rule.get("alert") == alert)
    assert rule["labels"]["severity"] in {"warning", "critical"}
    assert rule["annotations"]["summary"]


# The job every alert and dashboard query selects.
JOB = "customer-segmentation"


def _job_selectors(text: str) -> set[str]:
    return set(re.findall(r'job\s*=\s*\\?"([^"\\]+)', text))


def test_the_alerts_and_the_dashboard_select_the_job_every_scrape_is_named():
    assert _job_selectors(RULES.read_text()) == {JOB}
    assert _job_selectors(DASHBOARD.read_text()) == {JOB}
    # compose's Prometheus, and the example for a Prometheus in the cluster that scrapes by annotation.
    assert [
        job["job_name"]
        for job in yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())["scrape_configs"]
    ] == [JOB]
    (in_cluster,) = yaml.safe_load((DEPLOY / "prometheus" / "kubernetes-scrape.yml").read_text())["scrape_configs"]
    assert in_cluster["job_name"] == JOB
    keeps = {
        tuple(rule["source_labels"]): rule["regex"]
        for rule in in_cluster["relabel_configs"]
        if rule.get("action") == "keep"
    }
    assert keeps[("__meta_kubernetes_pod_annotation_prometheus_io_scrape",)] == "true"
    assert keeps[("__meta_kubernetes_pod_label_app_kubernetes_io_name",)] == JOB
    # The Operator: the ServiceMonitor takes the job from a Service label whose value is the job.
    objects = kustomize(K8S / "overlays" / "servicemonitor")
    monitor = one(objects, "ServiceMonitor")
    assert one(objects, "Service")["metadata"]["labels"][monitor["spec"]["jobLabel"]] == JOB


def test_the_operator_gets_the_same_rules_as_alerts_yml():
    objects = kustomize(K8S / "overlays" / "servicemonitor")
    rule = one(objects, "PrometheusRule")
    assert rule["spec"]["groups"] == yaml.safe_load(RULES.read_text())["groups"], (
        "regenerate it: python deploy/prometheus/make_prometheusrule.py"
    )
    assert rule["metadata"]["namespace"] == one(objects, "Deployment")["metadata"]["namespace"]
    assert of_kind(kustomize(K8S / "overlays" / "prod"), "PrometheusRule") == []


def test_the_rules_promtool_checks_are_the_rules_the_operator_loads(tmp_path):
    # The PrometheusRule's groups, written back as a rule file, pass promtool's unit tests too.
    rule = one(kustomize(K8S / "overlays" / "servicemonitor"), "PrometheusRule")
    (tmp_path / "alerts.yml").write_text(yaml.safe_dump({"groups": rule["spec"]["groups"]}))
    (tmp_path / "alerts_test.yml").write_text(RULE_TESTS.read_text())
    result = run([need_tool("promtool", "prometheus"), "test", "rules", str(tmp_path / "alerts_test.yml")])
    assert result.returncode == 0, result.stdout + result.stderr
