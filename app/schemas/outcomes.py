"""Outcome events reported for customers (POST /api/v1/outcomes) and the A/B reports built on them."""

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, AwareDatetime, BaseModel, BeforeValidator, Discriminator, Field, Tag

from app.schemas.common import example_config
from app.schemas.prediction import MAX_INTEGER_ID, TextId
from app.utils.moments import latest_plausible
from app.utils.text import hidden_or_line_breaking_char

# The most events one request can hold; the OUTCOMES_MAX_EVENTS setting can only lower it.
MAX_OUTCOME_EVENTS = 10_000
# Outcomes before this are typing mistakes (a year 0026), not customers of this service.
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
# Largest |value| taken: an amount of money, not an overflow.
MAX_VALUE = 1e12


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be empty or blank")
    return value


def _no_slash(value: str) -> str:
    # A campaign is a path segment of its report (/experiments/{campaign}); a "/", even as %2F, splits it in two.
    if "/" in value:
        raise ValueError('must not contain "/": a campaign names its report\'s address')
    return value


def _shown_name(value: str) -> str:
    # Event and campaign names are shown on /experiments and in its links: a NUL, a line break or a bidi override
    # would garble the page, and "." or ".." as a path segment makes the report's address another one.
    char = hidden_or_line_breaking_char(value)
    if char is not None:
        raise ValueError(f"must not hold a control or invisible character (found U+{ord(char):04X})")
    if not value.strip("."):
        raise ValueError("must not be only dots: a name names a report's address")
    return value


def _text_only(value: object) -> object:
    # A timestamp as a number would be read as seconds since 1970: ask for ISO 8601 text instead.
    if not isinstance(value, str):
        raise ValueError("must be an ISO 8601 date-time text with a time zone, such as 2026-12-05T14:30:00Z")
    return value


def _plausible(value: datetime) -> datetime:
    if not EARLIEST <= value <= latest_plausible():
        raise ValueError(f"must lie between {EARLIEST.date()} and tomorrow, got {value.isoformat()}")
    return value.astimezone(UTC)


def _id_kind(value: Any) -> str:
    # As for predictions' ids: numbers (never booleans) are integer ids, 220.0 included; the rest is text.
    return "integer" if isinstance(value, int | float) and not isinstance(value, bool) else "text"


NonBlank = AfterValidator(_not_blank)
ShownName = AfterValidator(_shown_name)
OutcomeCustomerId = Annotated[
    Annotated[Annotated[int, Field(ge=-MAX_INTEGER_ID, le=MAX_INTEGER_ID)], Tag("integer")]
    | Annotated[TextId, Tag("text")],
    Discriminator(_id_kind),
    Field(
        description="The customer's id, as sent with their predictions (`customer_id`): an integer or text, trimmed "
        "as predictions' ids are."
    ),
]
OccurredAt = Annotated[
    AwareDatetime,
    BeforeValidator(_text_only),
    AfterValidator(_plausible),
    Field(description="When it happened: ISO 8601 with a time zone, not before 2000 nor after tomorrow."),
]


class OutcomeEventIn(BaseModel):
    """One thing a customer did after being segmented: a purchase, a click, a reply."""

    model_config = example_config(
        {
            "customer_id": "C-1042",
            "event": "purchase",
            "value": 59.9,
            "campaign": "winter-2026",
            "occurred_at": "2026-12-05T14:30:00Z",
        },
        extra="forbid",
    )

    customer_id: OutcomeCustomerId
    event: Annotated[str, Field(strict=True, min_length=1, max_length=64), NonBlank, ShownName] = Field(
        description="What happened, in your words (`purchase`, `click`, `sent`): no control or invisible character, "
        "not only dots."
    )
    value: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=-MAX_VALUE, le=MAX_VALUE)] | None = Field(
        None, description="An amount for the event (an order's total), when it has one."
    )
    campaign: (
        Annotated[str, Field(strict=True, min_length=1, max_length=128), NonBlank, ShownName, AfterValidator(_no_slash)]
        | None
    ) = Field(
        None,
        description='The campaign the event belongs to: what the A/B report groups by (no "/", no control or invisible '
        "character, not only dots).",
    )
    occurred_at: OccurredAt


class OutcomesIn(BaseModel):
    """Outcome events to store, joined at arrival to each customer's arm and last segment."""

    model_config = example_config(
        {
            "events": [
                {
                    "customer_id": "C-1042",
                    "event": "sent",
                    "campaign": "winter-2026",
                    "occurred_at": "2026-12-01T09:00:00Z",
                },
                {
                    "customer_id": "C-1042",
                    "event": "purchase",
                    "value": 59.9,
                    "campaign": "winter-2026",
                    "occurred_at": "2026-12-05T14:30:00Z",
                },
            ]
        },
        extra="forbid",
    )

    events: list[OutcomeEventIn] = Field(
        min_length=1,
        max_length=MAX_OUTCOME_EVENTS,
        description=f"At most {MAX_OUTCOME_EVENTS:,} events, or fewer if the server is configured with "
        "(OUTCOMES_MAX_EVENTS).",
    )


class OutcomesStored(BaseModel):
    """What was stored: every event, and how many were matched to a customer the service has seen."""

    model_config = example_config({"segmentation": "default", "stored": 2, "matched": 2, "unmatched": 0})

    segmentation: str = Field(description="The segmentation the events were matched against.")
    stored: int = Field(description="Events stored (all of them).")
    matched: int = Field(description="Events of customers with a recorded challenger arm or a logged prediction.")
    unmatched: int = Field(description="Events of customers never seen: stored, but in no segment and no arm.")


class CampaignSummary(BaseModel):
    """One campaign with outcomes."""

    campaign: str = Field(description="The campaign's name, as the events gave it.")
    events: int = Field(description="Outcome events of the campaign.")
    customers: int = Field(description="Distinct customers with one.")
    event_names: list[str] = Field(description="The event names seen, candidates for the report's `?event=`.")
    first: str | None = Field(description="The earliest `occurred_at` (ISO 8601, UTC).")
    last: str | None = Field(description="The latest `occurred_at` (ISO 8601, UTC).")


class CampaignList(BaseModel):
    """The campaigns of a segmentation's outcomes, newest first."""

    model_config = example_config(
        {
            "segmentation": "default",
            "campaigns": [
                {
                    "campaign": "winter-2026",
                    "events": 10000,
                    "customers": 4000,
                    "event_names": ["purchase", "sent"],
                    "first": "2026-12-01T09:00:00+00:00",
                    "last": "2026-12-05T14:30:00+00:00",
                }
            ],
        }
    )

    segmentation: str = Field(description="The segmentation asked about.")
    campaigns: list[CampaignSummary] = Field(description="Every campaign, most recent first.")


class ExperimentReport(BaseModel):
    """A campaign's A/B report: per segment × arm rates and values with 95% intervals, and tests between arms."""

    model_config = example_config(
        {
            "segmentation": "default",
            "campaign": "winter-2026",
            "conversion_event": "purchase",
            "alpha": 0.05,
            "min_customers_per_arm": 30,
            "customers": 4000,
            "unmatched_customers": 3,
            "outcomes_before_assignment": 0,
            "event_names": ["purchase", "sent"],
            "segments": [
                {
                    "segment": "VIP / Whale",
                    "arms": [
                        {
                            "arm": "champion",
                            "customers": 300,
                            "conversions": 60,
                            "conversion_rate": 0.2,
                            "rate_ci": [0.159, 0.248],
                            "mean_value": 12.1,
                            "value_ci": [9.5, 14.7],
                        }
                    ],
                    "rate_test": {"z": -3.1, "chi2": 9.61, "p_value": 0.0019, "significant": True},
                    "value_test": {"t": -2.2, "df": 410.3, "p_value": 0.028, "significant": True},
                    "significant": True,
                    "warnings": [],
                }
            ],
            "warnings": [],
        }
    )

    segmentation: str = Field(description="The segmentation asked about.")
    campaign: str = Field(description="The campaign reported.")
    conversion_event: str | None = Field(description="The event that counts as a conversion; null: any event.")
    alpha: float = Field(description="The significance level results are flagged at.")
    min_customers_per_arm: int = Field(description="Fewer customers in an arm than this gets a warning.")
    customers: int = Field(description="Matched customers with an event of the campaign.")
    unmatched_customers: int = Field(description="Customers with events of the campaign but never seen: left out.")
    outcomes_before_assignment: int = Field(
        description="Events that occurred before their customer's assignment in the experiment: left out."
    )
    event_names: list[str] = Field(description="The campaign's event names.")
    segments: list[dict[str, Any]] = Field(
        description="Per segment: `arms` (customers, conversions, conversion_rate with rate_ci, mean_value with "
        "value_ci), `rate_test` (two-proportion z-test: z, chi2, p_value), `value_test` (Welch's t-test: t, df, "
        "p_value), each null when it cannot be computed, `significant`, and `warnings`."
    )
    warnings: list[str] = Field(
        description="What limits the report as a whole: no conversion event named, customers never seen or outcomes "
        "before assignment left out, no segment in both arms."
    )
