"""Write deploy/k8s/overlays/servicemonitor/prometheusrule.yaml: alerts.yml's groups as a PrometheusRule.

Kustomize cannot template a file into a field, so the PrometheusRule is generated from alerts.yml by this script
(`python deploy/prometheus/make_prometheusrule.py`); tests/deploy/test_prometheus.py fails when they differ.
"""

from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
ALERTS = HERE / "alerts.yml"
TARGET = HERE.parent / "k8s" / "overlays" / "servicemonitor" / "prometheusrule.yaml"
HEADER = """\
# GENERATED from deploy/prometheus/alerts.yml by deploy/prometheus/make_prometheusrule.py: edit alerts.yml and rerun.
# The Prometheus Operator loads it when its ruleSelector matches these labels (often `release: <your release>`:
# add that label here or set the selector to match app.kubernetes.io/name).
"""


class _Dumper(yaml.SafeDumper):
    pass


def _text(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _text)


def render() -> str:
    """The PrometheusRule's text."""
    groups = yaml.safe_load(ALERTS.read_text())["groups"]
    rule = {
        "apiVersion": "monitoring.coreos.com/v1",
        "kind": "PrometheusRule",
        "metadata": {"name": "customer-segmentation", "namespace": "segmentation"},
        "spec": {"groups": groups},
    }
    return HEADER + yaml.dump(rule, Dumper=_Dumper, sort_keys=False, width=120)


if __name__ == "__main__":
    TARGET.write_text(render())
