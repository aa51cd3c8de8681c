"""Smoke client for a running server: calls every endpoint family, checks the answers, prints a report.

python test_api.py --base-url http://127.0.0.1:8000
Exits non-zero when any check fails. Uses only the standard library.
"""

import argparse
import csv
import io
import json
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

# (income, spending) -> the segment it falls in, by stable segment id (the archetype's, the same in every version),
# not by name: a team may rename a segment (PATCH /api/v1/clusters/{id}), and the service is no worse for it.
VIP, BUDGET, AVERAGE, TRENDSETTER, SAVER = 1, 4, 0, 2, 3
KNOWN_POINTS = {
    (120, 90): VIP,  # generated name "VIP / Whale"
    (20, 10): BUDGET,  # "Budget Conscious"
    (55, 50): AVERAGE,  # "Average Customer"
    (20, 90): TRENDSETTER,  # "Young Trendsetter"
    (120, 10): SAVER,  # "High Earner Saver"
}


def call(
    base_url: str,
    method: str,
    path: str,
    body: Any = None,
    raw: bytes | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any]:
    """Send one request; return the status and the decoded JSON body (or text)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(base_url.rstrip("/") + path, data=data, method=method)
    if data is not None:
        request.add_header("Content-Type", content_type)
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
        for (income, score), segment_id in KNOWN_POINTS.items():
            status, body = call(base_url, "POST", "/api/v1/predict", {"annual_income": income, "spending_score": score})
            expect(status == 200, f"({income}, {score}): status {status}")
            got = body["segment_id"]
            expect(got == segment_id, f"({income}, {score}) -> segment {got}, expected {segment_id}")
            expect(bool(body["segment_name"]), f"({income}, {score}): no segment name")
            expect(0 <= body["confidence"] <= 1, f"confidence {body['confidence']} outside [0, 1]")

    def batch_matches_single() -> None:
        customers = [{"annual_income": i, "spending_score": s} for i, s in KNOWN_POINTS]
        status, body = call(base_url, "POST", "/api/v1/predict/batch", {"customers": customers})
        expect(status == 200, f"status {status}")
        expect(body["count"] == len(customers), f"count {body['count']}")
        ids = [prediction["segment_id"] for prediction in body["predictions"]]
        expect(ids == list(KNOWN_POINTS.values()), f"batch segment ids {ids}")

    def csv_matches_single() -> None:
        rows = "".join(f"{income},{score}\n" for income, score in KNOWN_POINTS)
        text = f"annual_income,spending_score\n{rows}".encode()
        status, body = call(base_url, "POST", "/api/v1/predict/csv", raw=text, content_type="text/csv")
        expect(status == 200, f"status {status}: {str(body)[:200]}")
        ids = [int(row["segment_id"]) for row in csv.DictReader(io.StringIO(body))]
        expect(ids == list(KNOWN_POINTS.values()), f"CSV segment ids {ids}")

    def counterfactual() -> None:
        request = {"customer": {"annual_income": 120, "spending_score": 10}, "target_segment": VIP}
        status, body = call(base_url, "POST", "/api/v1/predict/counterfactual", request)
        expect(status == 200, f"status {status}: {body}")
        moves = (body["current_segment"]["segment_id"], body["target_segment"]["segment_id"])
        expect(moves == (SAVER, VIP), f"from and to segments {moves}, expected {(SAVER, VIP)}")
        expect(body["reachable"] is True and body["changes"]["spending_score"] > 0, f"no way there: {body}")

    def clusters() -> None:
        status, body = call(base_url, "GET", "/api/v1/clusters")
        expect(status == 200, f"status {status}")
        expect(abs(sum(segment["share"] for segment in body["segments"]) - 1) < 1e-6, "shares do not sum to 1")

    def clusters_info() -> None:
        status, body = call(base_url, "GET", "/api/v1/clusters/info")
        expect(status == 200, f"status {status}")
        expect(all(segment["marketing_strategy"] for segment in body["segments"]), "a segment has no strategy")

    def one_cluster() -> None:
        status, body = call(base_url, "GET", f"/api/v1/clusters/{VIP}")
        expect(status == 200 and body["segment_id"] == VIP and body["segment_name"], f"status {status}: {body}")
        status, body = call(base_url, "GET", "/api/v1/clusters/999")
        expect(status == 404 and body["type"] == "unknown_segment", f"unknown id gave {status}")

    def model_info() -> None:
        status, body = call(base_url, "GET", "/api/v1/model/info")
        expect(status == 200, f"status {status}")
        expect(body["algorithm"] == "KMeans" and body["n_clusters"] >= 2, f"unexpected info {body.get('algorithm')}")

    def models() -> None:
        status, body = call(base_url, "GET", "/api/v1/models")
        expect(status == 200, f"status {status}")
        active = [entry["version"] for entry in body["versions"] if entry["active"]]
        _, info = call(base_url, "GET", "/api/v1/model/info")
        expect(active == [info["version"]], f"active versions {active}, serving {info['version']}")

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
        ("predict/csv equals single", csv_matches_single),
        ("predict/counterfactual", counterfactual),
        ("clusters", clusters),
        ("clusters/info", clusters_info),
        ("clusters/{id} and 404", one_cluster),
        ("model/info", model_info),
        ("models: the active version is the one served", models),
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
