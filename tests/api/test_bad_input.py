"""Bad input always gets a small, clear 4xx: never a 500, never the input echoed, never a stack trace."""

import json

import pytest

PREDICT = "/api/v1/predict"
BATCH = "/api/v1/predict/batch"
JSON = {"content-type": "application/json"}


def _assert_small_error(response, status: int, error_type: str | None = None) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert len(response.content) < 4_000  # 20 details at most: small whatever the input size
    body = response.json()
    assert set(body) == {"type", "message", "details", "request_id"}
    assert body["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert len(body["details"]) <= 20
    if error_type:
        assert body["type"] == error_type
    return body


@pytest.mark.parametrize(
    ("raw", "field", "expected"),
    [
        (b'{"annual_income": NaN, "spending_score": 50}', "annual_income", "finite number"),
        (b'{"annual_income": Infinity, "spending_score": 50}', "annual_income", "finite number"),
        (b'{"annual_income": -Infinity, "spending_score": 50}', "annual_income", "finite number"),
        (b'{"annual_income": 1e309, "spending_score": 50}', "annual_income", "finite number"),
        (b'{"annual_income": 50, "spending_score": NaN}', "spending_score", "finite number"),
        (b'{"annual_income": true, "spending_score": 50}', "annual_income", "valid number"),
        (b'{"annual_income": "85", "spending_score": 50}', "annual_income", "valid number"),
        (b'{"annual_income": null, "spending_score": 50}', "annual_income", "valid number"),
        (b'{"annual_income": [1], "spending_score": 50}', "annual_income", "valid number"),
        (b'{"annual_income": -1, "spending_score": 50}', "annual_income", "greater than or equal to 0"),
        (b'{"annual_income": 10000.5, "spending_score": 50}', "annual_income", "less than or equal to 10000"),
        (b'{"annual_income": 50, "spending_score": 0}', "spending_score", "greater than or equal to 1"),
        (b'{"annual_income": 50, "spending_score": 100.01}', "spending_score", "less than or equal to 100"),
        (b'{"spending_score": 50}', "annual_income", "Field required"),
        (b'{"annual_income": 50, "spending_score": 50, "age": 30}', "age", "Extra inputs are not permitted"),
    ],
)
def test_predict_rejects_bad_values(client, raw, field, expected):
    body = _assert_small_error(client.post(PREDICT, content=raw, headers=JSON), 422, "validation_error")
    assert body["details"][0]["loc"] == ["body", field]
    assert expected in body["details"][0]["message"]
    assert body["message"].startswith(f"{field}: ")
    assert "NaN" not in json.dumps(body) and "Infinity" not in json.dumps(body)


@pytest.mark.parametrize(
    "raw",
    [b'{"annual_income": 1', b"\xff\xfe\xfd", b'{"annual_income": "\xc3\x28"}', b"{'single': 'quotes'}", b"[1, 2"],
)
def test_predict_rejects_malformed_bodies(client, raw):
    _assert_small_error(client.post(PREDICT, content=raw, headers=JSON), 400)


@pytest.mark.parametrize("raw", [b"true", b"[]", b'"text"', b"42", b"null"])
def test_predict_rejects_non_objects(client, raw):
    _assert_small_error(client.post(PREDICT, content=raw, headers=JSON), 422, "validation_error")


def test_predict_rejects_a_missing_body(client):
    body = _assert_small_error(client.post(PREDICT, headers=JSON), 422, "validation_error")
    assert body["details"][0]["loc"] == ["body"]


GOOD_BODY = b'{"annual_income": 50, "spending_score": 50}'


@pytest.mark.parametrize("path", [PREDICT, BATCH])
@pytest.mark.parametrize(
    ("content_type", "raw"),
    [
        (None, GOOD_BODY),
        (None, b""),
        ("text/plain", GOOD_BODY),
        ("text/plain;charset=utf-8", GOOD_BODY),
        ("application/xml", b"<customer><annual_income>50</annual_income></customer>"),
        ("application/x-www-form-urlencoded", b"annual_income=50&spending_score=50"),
        ("multipart/form-data; boundary=x", b"--x\r\n\r\n--x--"),
        ("application/jsonp", GOOD_BODY),
        ("text/json", GOOD_BODY),
    ],
)
def test_json_endpoints_refuse_other_media_types_with_415(client, path, content_type, raw):
    headers = {"content-type": content_type} if content_type else {}
    body = _assert_small_error(client.post(path, content=raw, headers=headers), 415, "unsupported_media_type")
    assert "application/json" in body["message"]


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8", "Application/JSON"])
def test_json_media_types_are_accepted(client, content_type):
    assert client.post(PREDICT, content=GOOD_BODY, headers={"content-type": content_type}).status_code == 200
    batch = b'{"customers": [' + GOOD_BODY + b"]}"
    assert (
        client.post(BATCH, content=batch, headers={"content-type": "application/vnd.customers+json"}).status_code == 200
    )


@pytest.mark.parametrize(
    "raw",
    [
        b'{"annual_income": 5, "annual_income": 90, "spending_score": 50}',
        b'{"customers": [{"annual_income": 5, "spending_score": 50, "spending_score": 1}]}',
        b'{"customers": [], "customers": [{"annual_income": 5, "spending_score": 50}]}',
    ],
)
def test_a_key_given_twice_is_refused(client, raw):
    path = BATCH if b"customers" in raw else PREDICT
    body = _assert_small_error(client.post(path, content=raw, headers=JSON), 400, "malformed_json")
    assert "more than once" in body["message"]


def test_a_huge_key_given_twice_is_quoted_short(client):
    key = "k" * 100_000
    raw = json.dumps({key: 1, "annual_income": 5, "spending_score": 5}).encode()
    raw = raw.replace(b'"annual_income"', b'"' + key.encode() + b'": 2, "annual_income"')
    response = client.post(PREDICT, content=raw, headers=JSON)
    _assert_small_error(response, 400, "malformed_json")
    assert "k" * 65 not in response.text


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"customers": ' + b"[" * 5_000 + b"]" * 5_000 + b"}", "nested too deeply"),
        (b'{"annual_income": ' + b"9" * 5_000 + b', "spending_score": 5}', "more than 4300 digits"),
        (b'{"annual_income": "\xc3\x28", "spending_score": 5}', "not UTF-8"),
    ],
)
def test_unreadable_bodies_say_why(client, raw, expected):
    path = BATCH if b"customers" in raw else PREDICT
    body = _assert_small_error(client.post(path, content=raw, headers=JSON), 400, "malformed_json")
    assert expected in body["message"]
    assert "UTF-8" not in body["message"] or expected == "not UTF-8"


def test_a_long_integer_within_the_digit_limit_is_a_range_error(client):
    raw = b'{"annual_income": ' + b"9" * 4_000 + b', "spending_score": 5}'
    body = _assert_small_error(client.post(PREDICT, content=raw, headers=JSON), 422, "validation_error")
    assert body["details"][0]["loc"] == ["body", "annual_income"]


def test_oversized_batch_is_refused_with_the_limit_and_no_echo(client):
    customers = [{"annual_income": 50, "spending_score": 50}] * 10_001
    body = _assert_small_error(client.post(BATCH, json={"customers": customers}), 422, "validation_error")
    assert "at most 10000" in body["message"] and "10001" in body["message"]
    assert len(body["details"]) == 1


def test_batch_with_many_bad_rows_reports_at_most_20(client):
    customers = [{"annual_income": float("nan"), "spending_score": 500}] * 100
    raw = json.dumps({"customers": customers}).encode()
    body = _assert_small_error(client.post(BATCH, content=raw, headers=JSON), 422, "validation_error")
    assert len(body["details"]) == 20
    assert body["details"][0]["loc"] == ["body", "customers", 0, "annual_income"]
    assert "more problems" in body["message"]


def test_empty_batch_is_refused(client):
    _assert_small_error(client.post(BATCH, json={"customers": []}), 422, "validation_error")


def test_body_over_the_limit_gets_413_before_parsing(client_for):
    client = client_for(max_body_bytes=2_048)
    # Invalid JSON proves the body was never parsed: parsing would have said 400.
    body = _assert_small_error(client.post(PREDICT, content=b"{" + b" " * 4_000, headers=JSON), 413, "body_too_large")
    assert "2048" in body["message"]


def test_chunked_body_over_the_limit_gets_413(client_for):
    client = client_for(max_body_bytes=2_048)

    def chunks():
        for _ in range(10):
            yield b" " * 1_000

    _assert_small_error(client.post(PREDICT, content=chunks(), headers=JSON), 413, "body_too_large")


def test_unknown_path_and_method_give_json_errors(client):
    _assert_small_error(client.get("/api/v1/nothing-here"), 404, "not_found")
    response = client.delete(PREDICT)
    _assert_small_error(response, 405, "method_not_allowed")
    assert response.headers["allow"] == "POST"


def test_unknown_segment_is_404_and_bad_id_is_422(client):
    body = _assert_small_error(client.get("/api/v1/clusters/42"), 404, "unknown_segment")
    assert "0, 1, 2, 3, 4" in body["message"]
    _assert_small_error(client.get("/api/v1/clusters/abc"), 422, "validation_error")


def test_crash_gives_a_generic_500_without_internals(app, make_settings):
    from fastapi.testclient import TestClient

    from app.controllers.deps import get_served_model

    def broken():
        raise RuntimeError("secret internal detail")

    app.dependency_overrides[get_served_model] = broken
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            response = client.post(PREDICT, json={"annual_income": 5, "spending_score": 5})
    finally:
        del app.dependency_overrides[get_served_model]
    body = _assert_small_error(response, 500, "internal_error")
    assert "secret" not in response.text
    assert body["request_id"] in body["message"]


def test_a_huge_unknown_key_is_not_echoed_back(client):
    key = "k" * 1_900_000
    raw = b'{"' + key.encode() + b'": 1, "annual_income": 50, "spending_score": 50}'
    response = client.post(PREDICT, content=raw, headers=JSON)
    body = _assert_small_error(response, 422, "validation_error")
    assert "k" * 65 not in response.text
    assert body["details"][0]["loc"] == ["body", "k" * 63 + "…"]
    assert body["message"] == f"{'k' * 63}…: Extra inputs are not permitted"


def test_many_long_unknown_keys_in_a_batch_stay_under_4_kb(client):
    customers = [
        {"annual_income": 50, "spending_score": 50, f"\u00e9\n{index}" + "\u2028" * 2_000: 1} for index in range(40)
    ]
    response = client.post(BATCH, content=json.dumps({"customers": customers}).encode(), headers=JSON)
    body = _assert_small_error(response, 422, "validation_error")
    assert all(len(part) <= 64 for detail in body["details"] for part in detail["loc"] if isinstance(part, str))
    assert "more problems" in body["message"]


@pytest.mark.parametrize("prefix", ["/api/v1/", "/"])
def test_a_60_kb_path_is_not_echoed_back(client, prefix):
    path = prefix + "x" * 60_000
    api = client.get(path)
    assert api.status_code == 404
    assert len(api.content) < 4_000 and "x" * 65 not in api.text
    page = client.get(path, headers={"accept": "text/html"})
    assert page.status_code == 404
    assert "x" * 65 not in page.text


def test_batch_of_csv_text_gets_a_400_that_says_it_once(client):
    response = client.post("/api/v1/predict/batch", content=b"annual_income,spending_score\n120,90\n", headers=JSON)
    _assert_small_error(response, 400)
    message = response.json()["message"]
    assert message.startswith("request body is not valid JSON")
    parts = [part.strip() for part in message.split(":")]
    assert len(parts) == len(set(parts)), message
