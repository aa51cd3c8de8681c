"""The baselines for HTTP benchmarks: the plain FastAPI endpoints a user would write, answering a constant.

Their body is an ordinary pydantic BaseModel with the same strictness as the project's schema (strict numbers,
no extra fields, no NaN or infinity, the same bounds), so whatever the real app costs on top of it is the
price of the model, the checks, the middleware and the logging.

Two apps, the same routes: `app` written with `def` (FastAPI runs it on a worker thread) and `async_app` written
with `async def`, as FastAPI's documentation recommends for work that does not block. The benchmark measures both
and compares the project with the faster one.
"""

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

app = FastAPI()
async_app = FastAPI()

_PREDICTION = {"segment_id": 1, "segment_name": "VIP / Whale"}


class Customer(BaseModel):
    """One customer, validated as strictly as the project validates it."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)

    annual_income: float = Field(ge=0, le=10_000)
    spending_score: float = Field(ge=1, le=100)


class Batch(BaseModel):
    """Many customers."""

    model_config = ConfigDict(extra="forbid")

    customers: list[Customer] = Field(min_length=1, max_length=10_000)


@app.get("/api/v1/health")
def health() -> dict:
    """Always ready."""
    return {"status": "ok"}


@app.post("/api/v1/predict")
def predict(customer: Customer) -> dict:
    """A constant answer for any valid customer."""
    return _PREDICTION


@app.post("/api/v1/predict/batch")
def predict_batch(batch: Batch) -> dict:
    """A constant answer per customer."""
    return {"predictions": [_PREDICTION] * len(batch.customers), "count": len(batch.customers)}


@async_app.get("/api/v1/health")
async def async_health() -> dict:
    """Always ready."""
    return {"status": "ok"}


@async_app.post("/api/v1/predict")
async def async_predict(customer: Customer) -> dict:
    """A constant answer for any valid customer."""
    return _PREDICTION


@async_app.post("/api/v1/predict/batch")
async def async_predict_batch(batch: Batch) -> dict:
    """A constant answer per customer."""
    return {"predictions": [_PREDICTION] * len(batch.customers), "count": len(batch.customers)}
