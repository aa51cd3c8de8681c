"""The batch body's fast path: pydantic validates the bytes at once, and answers only when the strict path agrees."""

import json
import random

import pytest
from pydantic import ValidationError

from app.core.errors import MalformedBody
from app.core.json_route import parse_json, validated_json
from app.schemas.prediction import BatchIn

BATCH = "/api/v1/predict/batch"
JSON = {"content-type": "application/json"}


def _strict(body: bytes) -> BatchIn | None:
    """What the strict path makes of a body (None where it refuses it)."""
    try:
        return BatchIn.model_validate(parse_json(body))
    except (ValidationError, MalformedBody, json.JSONDecodeError):
        return None


def _random_value(rng: random.Random) -> object:
    if rng.random() < 0.8:  # most values valid, so most bodies can take the fast path
        return rng.choice([rng.randint(1, 100), round(rng.uniform(1, 100), rng.randint(0, 17))])
    return rng.choice(
        [
            rng.randint(0, 200),
            round(rng.uniform(-5, 12_000), rng.randint(0, 17)),
            rng.uniform(0, 100),
            f"{rng.uniform(0, 100):.3e}",  # a string, refused
            rng.choice([True, None, "NaN", 2**64 + rng.randint(0, 9), -(2**63) - 1, 2**53 - 1, 1e-320]),
        ]
    )


def _random_body(rng: random.Random) -> bytes:
    customers = []
    for i in range(rng.randint(1, 6)):
        customer = {"annual_income": _random_value(rng), "spending_score": _random_value(rng)}
        if rng.random() < 0.5:
            customer["customer_id"] = rng.choice(
                [i, f"C-{i}", f"a:{i}", "\u00e9\u003a", 2**70, 12.0, 1.5, "x" * 70, str(2**64)]
            )
        customers.append(customer)
    text = json.dumps({"customers": customers}, ensure_ascii=rng.random() < 0.5)
    if rng.random() < 0.3:  # a key given twice, somewhere
        key = rng.choice(['"annual_income": ', '"spending_score": ', '"customers": '])
        at = text.rfind(key)
        text = text[:at] + key + "50, " + text[at:] if key != '"customers": ' else text[:-1] + ', "customers": []}'
    if rng.random() < 0.1:
        text = text.replace("50", "5e1").replace("NaN", "NaN").replace('"NaN"', "NaN")
    return text.encode()


def _agrees_with_the_strict_path(fast: BatchIn, body: bytes) -> None:
    strict = _strict(body)
    assert strict is not None, body
    assert fast.customers == strict.customers, body
    # Same types too: an integer id stays an integer, a number a float.
    for one, other in zip(fast.customers, strict.customers, strict=True):
        assert {k: type(v) for k, v in one.items()} == {k: type(v) for k, v in other.items()}, body


@pytest.mark.parametrize("reader", [validated_json, lambda _, body: BatchIn.from_plain_json(body)])
def test_the_fast_paths_answer_only_what_the_strict_path_answers_alike(reader):
    rng = random.Random(29)
    taken = 0
    for _ in range(3_000):
        body = _random_body(rng)
        fast = reader(BatchIn, body)
        if fast is not None:
            taken += 1
            _agrees_with_the_strict_path(fast, body)
    assert taken > 400  # the fast path is really taken for ordinary bodies


@pytest.mark.parametrize(
    "customer",
    [
        {"customer_id": " C-1", "annual_income": 5, "spending_score": 5},  # validation trims it
        {"customer_id": 12.0, "annual_income": 5, "spending_score": 5},  # validation makes it 12
        {"customer_id": "", "annual_income": 5, "spending_score": 5},
        {"customer_id": "x" * 65, "annual_income": 5, "spending_score": 5},
        {"customer_id": 2**53, "annual_income": 5, "spending_score": 5},
        {"customer_id": True, "annual_income": 5, "spending_score": 5},
        {"annual_income": True, "spending_score": 5},
        {"annual_income": "5", "spending_score": 5},
        {"annual_income": None, "spending_score": 5},
        {"annual_income": -0.5, "spending_score": 5},
        {"annual_income": 5, "spending_score": 100.01},
        {"annual_income": 5},
        {"annual_income": 5, "spending_score": 5, "age": 40},
        {"annual_income": 5, "spending_score": 5, "customer_id": 1, "note": "x"},
    ],
)
def test_the_plain_reader_leaves_anything_else_to_validation(customer):
    body = json.dumps({"customers": [{"annual_income": 1, "spending_score": 1}, customer]}).encode()
    assert BatchIn.from_plain_json(body) is None
    fast = validated_json(BatchIn, body)
    if fast is not None:  # pydantic's own reading still takes what it can
        _agrees_with_the_strict_path(fast, body)


def test_the_plain_reader_takes_ordinary_batches_as_validation_makes_them():
    customers = [
        {"customer_id": 7, "annual_income": 50, "spending_score": 1},
        {"customer_id": "C-8", "annual_income": 0.5, "spending_score": 100},
        {"customer_id": None, "annual_income": 10_000, "spending_score": 99.9},
        {"annual_income": -0.0, "spending_score": 1e0},
    ]
    body = json.dumps({"customers": customers}).encode()
    plain = BatchIn.from_plain_json(body)
    assert plain is not None
    _agrees_with_the_strict_path(plain, body)
    assert plain.customers[0] == {"customer_id": 7, "annual_income": 50.0, "spending_score": 1.0}
    assert type(plain.customers[0]["annual_income"]) is float  # integers become floats, as validation makes them
    for extra in (b' {"x": 1}', b'{"customers": [], "x": 1}', b"[]", b'{"customers": {}}', b"\xef\xbb\xbf" + body):
        assert BatchIn.from_plain_json(extra) is None


@pytest.mark.parametrize(
    "raw",
    [
        b'{"customers": [{"annual_income": 5, "spending_score": 50, "spending_score": 1}]}',
        b'{"customers": [], "customers": [{"annual_income": 5, "spending_score": 50}]}',
        # A colon hidden in an escape beside a key given twice: the count of colons still tells.
        b'{"customers": [{"customer_id": "\\u003a", "annual_income": 5, "annual_income": 6, "spending_score": 50}]}',
    ],
)
def test_a_key_given_twice_never_takes_the_fast_path(client, raw):
    assert validated_json(BatchIn, raw) is None
    response = client.post(BATCH, content=raw, headers=JSON)
    assert response.status_code == 400
    assert "more than once" in response.json()["message"]


def test_an_ordinary_batch_takes_the_fast_path_and_one_with_colons_in_its_ids_the_strict_one(client):
    plain = json.dumps({"customers": [{"customer_id": 7, "annual_income": 50, "spending_score": 50}]}).encode()
    assert validated_json(BatchIn, plain) is not None
    coloned = json.dumps({"customers": [{"customer_id": "a:b", "annual_income": 50, "spending_score": 50}]}).encode()
    assert validated_json(BatchIn, coloned) is None
    for raw, expected_id in ((plain, 7), (coloned, "a:b")):
        response = client.post(BATCH, content=raw, headers=JSON)
        assert response.status_code == 200, response.text
        assert response.json()["predictions"][0]["customer_id"] == expected_id


def test_an_id_past_64_bits_is_refused_as_before(client):
    raw = b'{"customers": [{"customer_id": 18446744073709551617, "annual_income": 5, "spending_score": 5}]}'
    response = client.post(BATCH, content=raw, headers=JSON)
    assert response.status_code == 422
    assert "18446744073709551617" in response.text or "less than or equal" in response.text
