"""Smoke client for a running server: calls every endpoint, checks the answers, prints a report.

python test_api.py --base-url http://127.0.0.1:8000
Exits non-zero when any check fails. Uses only the standard library.
"""

import argparse
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

KNOWN_POINTS = {
    (120, 90): "VIP / Whale",
    (20, 10): "Budget Conscious",
    (55, 50): "Average Customer",
    (20, 90): "Young Trendsetter",
    (120, 10): "High Earner Saver",
}


def call(base_url: str, method: str, path: str, body: Any = None, raw: bytes | None = None) -> tuple[int, Any]:
    """Send one request; return the status and the decoded JSON body (or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode("utf-8", "replace")


def checks(base_url: str) -> list[tuple[str, Callable[[], None]]]:
    """Named checks, each raising AssertionError with a reason on failure."""

    def expect(condition: bool, reason: str) -> None:
        if not condition:
            raise AssertionError(reason)

    def health() -> None:
        status, body = call(base_url, "GET", "/api/v1/health")
        expect(status == 200, f"status {status}: {body}")
        expect(body["status"] == "ok" and body["model_loaded"] is True, f"not ready: {body}")

    def predict_known_points() -> None:
        for (income, score), name in KNOWN_POINTS.items():
            status, body = call(base_url, "POST", "/api/v1/predict", {"annual_income": income, "spending_score": score})
            expect(status == 200, f"({income}, {score}): status {status}")
            expect(body["segment_name"] == name, f"({income}, {score}) -> {body['segment_name']}, expected {name}")
            expect(0 <= body["confidence"] <= 1, f"confidence {body['confidence']} outside [0, 1]")

    def batch_matches_single() -> None:
        customers = [{"annual_income": i, "spending_score": s} for i, s in KNOWN_POINTS]
        status, body = call(base_url, "POST", "/api/v1/predict/batch", {"customers": customers})
        expect(status == 200, f"status {status}")
        expect(body["count"] == len(customers), f"count {body['count']}")
        names = [prediction["segment_name"] for prediction in body["predictions"]]
        expect(names == list(KNOWN_POINTS.values()), f"batch names {names}")

    def clusters() -> None:
        status, body = call(base_url, "GET", "/api/v1/clusters")
        expect(status == 200, f"status {status}")
        expect(abs(sum(segment["share"] for segment in body["segments"]) - 1) < 1e-6, "shares do not sum to 1")

    def clusters_info() -> None:
        status, body = call(base_url, "GET", "/api/v1/clusters/info")
        expect(status == 200, f"status {status}")
        expect(all(segment["marketing_strategy"] for segment in body["segments"]), "a segment has no strategy")

    def one_cluster() -> None:
        status, body = call(base_url, "GET", "/api/v1/clusters/1")
        expect(status == 200 and body["segment_name"] == "VIP / Whale", f"status {status}: {body}")
        status, body = call(base_url, "GET", "/api/v1/clusters/999")
        expect(status == 404 and body["type"] == "unknown_segment", f"unknown id gave {status}")

    def model_info() -> None:
        status, body = call(base_url, "GET", "/api/v1/model/info")
        expect(status == 200, f"status {status}")
        expect(body["algorithm"] == "KMeans" and body["n_clusters"] >= 2, f"unexpected info {body.get('algorithm')}")

    def bad_input() -> None:
        status, body = call(base_url, "POST", "/api/v1/predict", raw=b'{"annual_income": NaN, "spending_score": 5}')
        expect(status == 422 and body["type"] == "validation_error", f"NaN gave {status}")
        status, body = call(base_url, "POST", "/api/v1/predict", raw=b'{"annual_income": 1')
        expect(status == 400, f"truncated JSON gave {status}")

    def docs() -> None:
        for path in ("/docs", "/redoc", "/openapi.json"):
            status, _ = call(base_url, "GET", path)
            expect(status == 200, f"{path}: status {status}")

    return [
        ("health", health),
        ("predict: five known points", predict_known_points),
        ("predict/batch equals single", batch_matches_single),
        ("clusters", clusters),
        ("clusters/info", clusters_info),
        ("clusters/{id} and 404", one_cluster),
        ("model/info", model_info),
        ("bad input gets 4xx", bad_input),
        ("docs and schema", docs),
    ]


def main(argv: list[str] | None = None) -> int:
    """Run every check and report."""
    parser = argparse.ArgumentParser(description="Smoke-test a running segmentation server.")
    parser.add_argument("--base-url", default="http://127.0.0.1:8000")
    args = parser.parse_args(argv)
    failures = 0
    for name, check in checks(args.base_url):
        try:
            check()
        except (AssertionError, KeyError, TypeError, OSError) as exc:
            failures += 1
            print(f"FAIL  {name}: {exc}")
        else:
            print(f"ok    {name}")
    total = len(checks(args.base_url))
    print(f"{total - failures} passed, {failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
