"""Prediction requests and responses for /api/v1/predict."""

from itertools import chain
from operator import itemgetter
from typing import Annotated, Any, Literal, NotRequired

import numpy as np
import orjson
from pydantic import AfterValidator, BaseModel, Discriminator, Field, Tag, TypeAdapter
from typing_extensions import TypedDict

from app.models.features import FEATURES
from app.schemas.common import example_config, no_nul
from app.utils.text import SPACE_CLASS, SPACES


def _feature_number(name: str, description: str, example: float) -> Any:
    """A strict, finite number within the feature's accepted range: booleans, strings, null, NaN and inf refused."""
    feature = FEATURES[name]
    return Annotated[
        float,
        Field(
            strict=True,
            ge=feature.minimum,
            le=feature.maximum,
            allow_inf_nan=False,
            description=f"{description} Accepted: {feature.range_text()}.",
            examples=[example],
        ),
    ]


AnnualIncome = _feature_number("annual_income", "Annual income in thousands of dollars (k$).", 85)
SpendingScore = _feature_number("spending_score", "Spending score from 1 (spends little) to 100 (spends a lot).", 80)


# The most customers one batch can hold; the MAX_BATCH_SIZE setting can only lower it.
MAX_BATCH_SIZE = 10_000


def _id_kind(value: Any) -> str:
    """Which kind of customer id a value is meant as: numbers (never booleans) are integer ids, the rest text."""
    return "integer" if isinstance(value, int | float) and not isinstance(value, bool) else "text"


# Integer ids stay within what every JSON client holds exactly (JavaScript numbers are exact up to 2**53 - 1).
MAX_INTEGER_ID = 2**53 - 1


def _trimmed_id(value: str) -> str:
    """A text id as a file's ids are read (trimmed): " C-1" is the customer C-1; spaces alone name no one."""
    no_nul(value)  # the prediction log keeps the id, and PostgreSQL stores no text holding a NUL
    text = value.strip(SPACES)
    if not text:
        raise ValueError("a text id cannot be empty or only spaces")
    return text


# Text that is not blank, trimmed. The schema states "not blank" as a pattern (the spaces spelled out, as the trim
# reads them) so that clients and API fuzzers know it; _trimmed_id says why a value misses it.
NOT_BLANK = rf"^[\s\S]*[^{SPACE_CLASS}][\s\S]*$"
TextId = Annotated[
    str,
    Field(strict=True, min_length=1, max_length=64, json_schema_extra={"pattern": NOT_BLANK}),
    AfterValidator(_trimmed_id),
]
# The integer branch is lax on purpose: JSON Schema counts 2869.0 as an integer, so the id takes it (as 2869);
# 1.5 is still refused, and true/false go to the text branch, which refuses them.
CustomerId = Annotated[
    Annotated[Annotated[int, Field(ge=-MAX_INTEGER_ID, le=MAX_INTEGER_ID)], Tag("integer")]
    | Annotated[TextId, Tag("text")],
    Discriminator(_id_kind),
    Field(
        description="Your own id for this customer, echoed back: an integer (at most 2**53 - 1 in size) or text of 1 "
        'to 64 characters, not only spaces, trimmed as a file\'s ids are (" C-1" is C-1).'
    ),
]
# A customer's id in a request: null is no id, as if it were left out (a CSV row's empty id cell is no id too).
OptionalCustomerId = Annotated[
    CustomerId | None,
    Field(
        description="Your own id for this customer, echoed back: an integer (at most 2**53 - 1 in size) or text of 1 "
        'to 64 characters, not only spaces, trimmed as a file\'s ids are (" C-1" is C-1); null or left out: no id.'
    ),
]


class CustomerIn(TypedDict):
    """One customer to segment, optionally with your id for it, echoed back and kept with the prediction log."""

    # A TypedDict validates about twice as fast as a model, which matters for 10,000-row batches.
    __pydantic_config__ = example_config(  # type: ignore[misc]
        {"annual_income": 85, "spending_score": 80}, extra="forbid"
    )

    customer_id: NotRequired[OptionalCustomerId]
    annual_income: AnnualIncome
    spending_score: SpendingScore


CustomerValidator = TypeAdapter(CustomerIn)


class BatchCustomerIn(CustomerIn):
    """One customer of a batch, optionally with your id for it so results can be joined back."""

    __pydantic_config__ = example_config(  # type: ignore[misc]
        {"customer_id": "C-1042", "annual_income": 85, "spending_score": 80}, extra="forbid"
    )


class BatchIn(BaseModel):
    """Several customers to segment in one call."""

    model_config = example_config(
        {
            "customers": [
                {"customer_id": "C-1042", "annual_income": 120, "spending_score": 90},
                {"customer_id": 1043, "annual_income": 20, "spending_score": 10},
            ]
        },
        extra="forbid",
    )

    customers: list[BatchCustomerIn] = Field(
        min_length=1,
        max_length=MAX_BATCH_SIZE,
        description=f"Customers to segment: at most {MAX_BATCH_SIZE:,}, or the lower max batch size the service "
        "is configured with (MAX_BATCH_SIZE). Each may carry a `customer_id`, echoed in its prediction; any other "
        "extra field is refused.",
    )

    def json_key_count(self) -> int:
        """How many keys the JSON this batch was validated from held, each once (see `validated_json`)."""
        return len(self.model_fields_set) + sum(map(len, self.customers))

    @classmethod
    def from_plain_json(cls, body: bytes) -> "BatchIn | None":
        """The batch of a plain body (`plain_customers`), exactly as validation would make it; else None."""
        customers = plain_customers(body)
        return None if customers is None else cls.model_construct(customers=customers)


# What a plain batch customer holds: these two numbers and, maybe, an id.
PLAIN_NUMBERS = ("annual_income", "spending_score")
_NUMBER_TYPES = frozenset({float, int})


class PlainCustomers(list):
    """The customers of a plain body, and their numbers as the (n, 2) array in PLAIN_NUMBERS order it checked."""

    # Scoring takes the array rather than reading every customer's values again (~1 ms of 10,000).

    __slots__ = ("numbers",)

    def __init__(self, customers: list[dict[str, Any]], numbers: np.ndarray) -> None:
        super().__init__(customers)
        self.numbers = numbers


def plain_customers(body: bytes) -> PlainCustomers | None:
    """The customers of a plain batch body, as `BatchIn` validates them; None for any other body.

    Plain: numbers in range (integers become floats, as validation makes them), each key once, and ids that are
    integers or text already trimmed, and no raw colon in any text (`\u003a` is fine). orjson parses the body and the
    checks run a column at a time: about 2.9 ms against 4.1 ms for pydantic on 10,000 customers (7.4 with ids). A
    body this declines is validated as before, so every answer and every refusal stays the same.
    """
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    if type(data) is not dict or len(data) != 1 or type(customers := data.get("customers")) is not list:
        return None
    if not 1 <= len(customers) <= MAX_BATCH_SIZE or set(map(type, customers)) != {dict}:
        return None
    keys = sum(map(len, customers))
    # orjson keeps the last of a key given twice: one colon per key (and none in a text) rules that out.
    if body.count(b":") != 1 + keys:
        return None
    try:
        values = list(chain.from_iterable(map(itemgetter(*PLAIN_NUMBERS), customers)))
    except KeyError:
        return None
    types = set(map(type, values))
    if not types <= _NUMBER_TYPES:
        return None
    numbers = np.array(values, dtype=np.float64).reshape(len(customers), len(PLAIN_NUMBERS))
    for column, name in enumerate(PLAIN_NUMBERS):
        feature = FEATURES[name]
        if not (feature.minimum <= numbers[:, column]).all() or not (numbers[:, column] <= feature.maximum).all():
            return None
    ids = keys - len(PLAIN_NUMBERS) * len(customers)
    if ids and not _plain_ids(customers, ids):
        return None
    if int in types:
        for customer in customers:
            for name in PLAIN_NUMBERS:
                customer[name] = float(customer[name])
    return PlainCustomers(customers, numbers)


def _plain_ids(customers: list[dict[str, Any]], expected: int) -> bool:
    """Whether the customers' other keys are `expected` customer ids, each an integer in range, trimmed text or null."""
    given = [customer["customer_id"] for customer in customers if "customer_id" in customer]
    if len(given) != expected:
        return False
    for value in given:
        kind = type(value)
        if kind is str:
            if not 0 < len(value) <= 64 or value.strip(SPACES) != value or "\x00" in value:
                return False
        elif kind is int:
            if not -MAX_INTEGER_ID <= value <= MAX_INTEGER_ID:
                return False
        elif value is not None:
            return False
    return True


class SegmentRef(BaseModel):
    """A segment named in a prediction."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    distance: float = Field(description="Distance from the customer to this segment's centroid (standardized units).")


class OutOfRange(BaseModel):
    """A value outside the range of the model's training data."""

    feature: str = Field(description="The feature's name, as requests give it.", examples=["annual_income"])
    value: float = Field(description="The customer's value.")
    training_min: float = Field(description="Smallest value of this feature in the training data.")
    training_max: float = Field(description="Largest value of this feature in the training data.")


class FeatureExplanation(BaseModel):
    """One feature of an explained prediction: the value against the segment's typical range, and its weight."""

    feature: str = Field(description="The feature's name, as requests give it.", examples=["annual_income"])
    value: float = Field(description="The customer's value, in the feature's own units.")
    typical_low: float | None = Field(
        description="10th percentile of the segment's training customers (null: the version did not record it)."
    )
    typical_high: float | None = Field(description="90th percentile of the segment's training customers.")
    position: Literal["below", "within", "above"] | None = Field(
        description="Where the value falls against the typical range (null when the range was not recorded)."
    )
    text: str = Field(
        description="The same in words.", examples=["Income 60 k$ is below this segment's usual 74.6–100.4 k$"]
    )
    share_of_distance: float = Field(
        ge=0,
        le=1,
        description="This feature's share of the squared distance to the segment's centroid, where the model "
        "measures it (standardized, log1p features transformed); the shares sum to 1.",
    )
    share_of_margin: float | None = Field(
        description="This feature's share of d_runner_up² − d_assigned²: how much it holds the customer in this "
        "segment rather than the runner-up. Shares sum to 1; a negative share pulls towards the runner-up, so the "
        "others then sum to more than 1. Null for a one-segment model or an exact tie."
    )


class Explanation(BaseModel):
    """Why this segment (explain=true)."""

    features: list[FeatureExplanation] = Field(description="One item per feature of the model, in its order.")
    confidence_text: str = Field(description="What confidence measures, and why it is high, moderate or low here.")
    missing: list[str] | None = Field(
        None, description="What the version did not record (trained before explanations existed): retrain to get it."
    )


EXPLANATION_EXAMPLE = {
    "features": [
        {
            "feature": "annual_income",
            "value": 60.0,
            "typical_low": 74.6,
            "typical_high": 100.4,
            "position": "below",
            "text": "Income 60 k$ is below this segment's usual 74.6–100.4 k$",
            "share_of_distance": 0.86,
            "share_of_margin": 0.67,
        },
        {
            "feature": "spending_score",
            "value": 5.0,
            "typical_low": 4.6,
            "typical_high": 27.0,
            "position": "within",
            "text": "Spending 5 is within this segment's usual 4.6–27",
            "share_of_distance": 0.14,
            "share_of_margin": 0.33,
        },
    ],
    "confidence_text": "Confidence measures how much nearer the customer is to this segment's centre than to the "
    "next-nearest segment's (1 − nearest distance ÷ second-nearest distance, in standardized units): 100% at the "
    "centre, 0% on the boundary between the two; here it is low because the customer lies between High Earner Saver "
    "and Budget Conscious, far from both centres (farther from that of High Earner Saver than 95% of its members): "
    "almost equally far from the two, they are atypical of both.",
}


PREDICTION_EXAMPLE = {
    "segment_id": 1,
    "segment_name": "VIP / Whale",
    "description": "High income and high spending: the most valuable customers.",
    "marketing_strategy": [
        "Offer premium products and early access to new collections",
        "Send exclusive, invitation-only offers",
        "Assign personal shopping or concierge service",
    ],
    "distance": 0.42,
    "distances": {"0": 1.61, "1": 0.42, "2": 2.23, "3": 2.47, "4": 3.02},
    "confidence": 0.74,
    "runner_up": {"segment_id": 0, "segment_name": "Average Customer", "distance": 1.61},
    "is_atypical": False,
    "out_of_range": [],
    "model_version": "20261126.165110-95dfbc16",
}


class Prediction(BaseModel):
    """The segment of one customer, with what to do about it and how sure the model is."""

    model_config = example_config(PREDICTION_EXAMPLE)

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.", examples=[1])
    segment_name: str = Field(
        description="The segment's name (the team's own, when it renamed it).", examples=["VIP / Whale"]
    )
    description: str = Field(description="Who the segment's customers are.")
    marketing_strategy: list[str] = Field(description="Concrete marketing actions for this segment.")
    distance: float = Field(ge=0, description="Distance to the segment's centroid, in standardized units.")
    distances: dict[str, float] = Field(
        description="Distance to every segment's centroid, keyed by segment_id.", examples=[{"0": 1.9, "1": 0.3}]
    )
    confidence: float = Field(
        ge=0,
        le=1,
        description="1 - d1/d2, where d1 and d2 are the distances to the nearest and second-nearest centroids: "
        "1 at the centroid itself, 0 on the boundary with the runner-up segment.",
    )
    runner_up: SegmentRef | None = Field(description="The second-nearest segment (null for a one-segment model).")
    is_atypical: bool = Field(
        description="True when the customer lies farther from the centroid than 95% of the segment's training "
        "customers, in a direction the segment does not stand for (a richer, bigger-spending VIP is not atypical): "
        "the label is a stretch."
    )
    out_of_range: list[OutOfRange] = Field(
        description="The values that lie outside the range the model was trained on (by more than 10% of that "
        "range): the segment is an extrapolation. Empty when every value is within it."
    )
    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
    customer_id: int | str | None = Field(
        None, description="The customer's `customer_id` from the request, when it gave one; absent otherwise."
    )
    explanation: Explanation | None = Field(
        None,
        description="Only with `explain=true`: each feature against the segment's typical range (p10–p90), its share "
        "of the distance and of the margin over the runner-up, and what the confidence says.",
        examples=[EXPLANATION_EXAMPLE],
    )


class SegmentCount(BaseModel):
    """How many customers of a batch fell in one segment."""

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The segment's name (the team's own, when it renamed it).")
    count: int = Field(ge=0, description="Customers of the batch in this segment.")


class BatchPrediction(BaseModel):
    """Predictions for a batch, in input order."""

    model_config = example_config(
        {
            "predictions": [PREDICTION_EXAMPLE],
            "count": 1,
            "segment_counts": [
                {"segment_id": 0, "segment_name": "Average Customer", "count": 0},
                {"segment_id": 1, "segment_name": "VIP / Whale", "count": 1},
            ],
            "model_version": PREDICTION_EXAMPLE["model_version"],
        }
    )

    predictions: list[Prediction] = Field(description="One prediction per customer, in the order they were sent.")
    count: int = Field(ge=1, description="How many customers the batch held.")
    segment_counts: list[SegmentCount] = Field(description="Every segment with its count in this batch.")
    model_version: str = Field(description="The model version that answered: GET /api/v1/models/{version} shows it.")
