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


def test_the_fast_path_answers_only_what_the_strict_path_answers_alike():
    rng = random.Random(29)
    taken = 0
    for _ in range(3_000):
        body = _random_body(rng)
        fast = validated_json(BatchIn, body)
        if fast is None:
            continue
        taken += 1
        strict = _strict(body)
        assert strict is not None, body
        assert fast.customers == strict.customers, body
        # Same types too: an integer id stays an integer, a number a float.
        for one, other in zip(fast.customers, strict.customers, strict=True):
            assert {k: type(v) for k, v in one.items()} == {k: type(v) for k, v in other.items()}, body
    assert taken > 400  # the fast path is really taken for ordinary bodies


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
