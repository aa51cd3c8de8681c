"""The baseline for HTTP benchmarks: a bare FastAPI app with the same request schemas that returns constants.

It is the "ten-line FastAPI wrapper" a user might write instead, minus even the model: whatever the
real app costs on top of it is the price of the model, the checks and the logging.
"""

from fastapi import FastAPI

from app.schemas.prediction import BatchIn, CustomerIn

app = FastAPI()

_PREDICTION = {"segment_id": 1, "segment_name": "VIP / Whale"}


@app.get("/api/v1/health")
def health() -> dict:
    """Always ready."""
    return {"status": "ok"}


@app.post("/api/v1/predict")
def predict(customer: CustomerIn) -> dict:
    """A constant answer for any valid customer."""
    return _PREDICTION


@app.post("/api/v1/predict/batch")
def predict_batch(batch: BatchIn) -> dict:
    """A constant answer per customer."""
    return {"predictions": [_PREDICTION] * len(batch.customers), "count": len(batch.customers)}
