"""Monitoring: the prediction log, the activation mirror, drift and the reads behind the dashboards."""
