"""Tables, as typed SQLAlchemy 2 ORM classes."""

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Dialect,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.utils.moments import utc

PREDICTION_SOURCES = ("single", "batch", "csv")
# Where a run was scored: the API (/predict/csv) or the /score page.
RUN_SOURCES = ("api", "page")
# The segmentation every row written before segmentations existed belongs to (app.models.segmentations.spec names
# it too; the database layer keeps its own copy, since it sits below the models).
DEFAULT_SEGMENTATION = "default"
# Segmentation names are at most 40 characters (^[a-z][a-z0-9-]{1,39}$); customer ids are the caller's, kept whole
# up to this length.
SEGMENTATION_LENGTH = 40
CUSTOMER_ID_LENGTH = 128


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every backend (SQLite stores naive text, so UTC is implied there)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store UTC; naive values are taken to be UTC already."""
        if value is None:
            return None
        value = utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as an aware UTC datetime."""
        if value is None:
            return None
        return utc(value)


class Base(DeclarativeBase):
    """Declarative base of every table."""


class PredictionLog(Base):
    """One answered prediction: what was asked, what the model said, and where the request came from."""

    __tablename__ = "prediction_log"
    __table_args__ = (
        CheckConstraint(f"source IN {PREDICTION_SOURCES!r}", name="ck_prediction_log_source"),
        # Drift and the volume series read one segmentation's version, newest rows first.
        Index("ix_prediction_log_segmentation_version", "segmentation", "model_version", "id"),
        # An outcome finds the segment its customer last got without reading the whole log.
        Index("ix_prediction_log_customer", "segmentation", "customer_id", "id"),
    )

    # BIGINT on PostgreSQL; SQLite only auto-increments an INTEGER PRIMARY KEY.
    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    # Feature values by name, as the model saw them.
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    segment_id: Mapped[int]
    segment_name: Mapped[str] = mapped_column(String(100))
    distance: Mapped[float] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float)
    is_atypical: Mapped[bool]
    out_of_range: Mapped[bool]
    request_id: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(8))
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH), server_default=DEFAULT_SEGMENTATION)
    # The caller's id for the customer, when it gave one: what later work joins predictions on.
    customer_id: Mapped[str | None] = mapped_column(String(CUSTOMER_ID_LENGTH))
    # Set while a challenger runs: the arm that answered, and in shadow mode what the challenger said.
    arm: Mapped[str | None] = mapped_column(String(16))
    challenger_version: Mapped[str | None] = mapped_column(String(64))
    challenger_segment_id: Mapped[int | None]


class PredictionChunk(Base):
    """Many predictions answered by one request (a batch's, a file's part), stored as one row (chunk_payload.py)."""

    __tablename__ = "prediction_chunks"
    __table_args__ = (
        CheckConstraint(f"source IN {PREDICTION_SOURCES!r}", name="ck_prediction_chunks_source"),
        # The log's readers take one segmentation's version, newest chunks first.
        Index("ix_prediction_chunks_segmentation_version", "segmentation", "model_version", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # The columns every prediction of the chunk shares, as PredictionLog holds them.
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    model_version: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(128))
    source: Mapped[str] = mapped_column(String(8))
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH), server_default=DEFAULT_SEGMENTATION)
    arm: Mapped[str | None] = mapped_column(String(16))
    challenger_version: Mapped[str | None] = mapped_column(String(64))
    row_count: Mapped[int]
    # Feature names in the order of the payload's inputs, and each segment id's name ({"3": "Loyal"}).
    features: Mapped[list[str]] = mapped_column(JSON)
    segment_names: Mapped[dict[str, str]] = mapped_column(JSON)
    # The per-row columns, columnar (app/db/chunk_payload.py documents the layout).
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    # Apart from the payload, as an orjson list (null when the request gave none): finding a customer's newest
    # prediction reads these alone.
    customer_ids: Mapped[bytes | None] = mapped_column(LargeBinary)


class ChallengerAssignment(Base):
    """The arm a customer was first given by one run of a segmentation's challenger, kept apart from the log."""

    __tablename__ = "challenger_assignments"
    __table_args__ = (
        UniqueConstraint("assignment_key", name="uq_challenger_assignments_key"),
        Index("ix_challenger_assignments_customer", "segmentation", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # sha256 of (segmentation, challenger version, the run's set_at, customer id): one row per customer per run of a
    # challenger, whichever worker saw the customer first (rows from before set_at was in it: one per challenger).
    assignment_key: Mapped[str] = mapped_column(String(64))
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH))
    customer_id: Mapped[str] = mapped_column(String(CUSTOMER_ID_LENGTH))
    arm: Mapped[str] = mapped_column(String(16))
    # The version that served the customer, and the challenger of the experiment it took part in.
    version: Mapped[str] = mapped_column(String(64))
    challenger_version: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))
    first_seen: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class ModelActivation(Base):
    """One activation of a model version, mirrored from the versions folder's history.jsonl (the source of truth)."""

    __tablename__ = "model_activations"
    __table_args__ = (UniqueConstraint("entry_key", name="uq_model_activations_entry_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # sha256 of the history entry: the same activation is inserted once, however often the file is mirrored.
    entry_key: Mapped[str] = mapped_column(String(64))
    activated_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    from_version: Mapped[str | None] = mapped_column(String(64))
    to_version: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    # The key's public id (a hash prefix), never the key.
    key_id: Mapped[str | None] = mapped_column(String(32))
    # Each segmentation has its own versions, ACTIVE pointer and history file.
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH), server_default=DEFAULT_SEGMENTATION)


class DriftCheck(Base):
    """One evaluation of a segmentation's drift by the background evaluator: the verdict and each check's status."""

    __tablename__ = "drift_checks"
    __table_args__ = (
        # The history and "is an evaluation due" read one segmentation's newest checks.
        Index("ix_drift_checks_segmentation_evaluated_at", "segmentation", "evaluated_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    evaluated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH))
    model_version: Mapped[str] = mapped_column(String(64))
    # The time window evaluated, and how many customers it held (each customer id once).
    window_since: Mapped[datetime] = mapped_column(UtcDateTime())
    window_until: Mapped[datetime] = mapped_column(UtcDateTime())
    window_size: Mapped[int]
    status: Mapped[str] = mapped_column(String(20))
    # Each check's status and main measure: [{"check": "feature:annual_income", "status": "stable", "value": 0.02}].
    checks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    # The "mostly one file" warning when the window was mostly one request, else None.
    warning: Mapped[str | None] = mapped_column(String(500))


class Run(Base):
    """One scored file kept as a run: what was scored and how it went; its labelled rows stay in a Parquet file."""

    __tablename__ = "runs"
    __table_args__ = (
        CheckConstraint(f"source IN {RUN_SOURCES!r}", name="ck_runs_source"),
        # The list reads one segmentation's runs, newest first.
        Index("ix_runs_segmentation_created_at", "segmentation", "created_at"),
    )

    # A random token: also the name of the run's file, so an id from a caller is never a path.
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH))
    model_version: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(255))
    source: Mapped[str] = mapped_column(String(8))
    rows: Mapped[int]
    scored: Mapped[int]
    # The input column holding customer ids, when the file had one: what runs are compared by.
    customer_id_column: Mapped[str | None] = mapped_column(String(255))
    # The scoring summary (counts and profile per segment, bad rows); customer rows are never copied here.
    summary: Mapped[dict[str, Any]] = mapped_column(JSON)
    file_bytes: Mapped[int] = mapped_column(BigInteger)
    # Set when retention or RESULTS_MAX_BYTES removed the file: the row stays a while to answer 410 with the date.
    removed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    removed_reason: Mapped[str | None] = mapped_column(String(200))


EMAIL_LENGTH = 254
ROLE_LENGTH = 16


class User(Base):
    """A person who signs in: email, display name, role, and an Argon2 password hash (never the password)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="ck_users_role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stored lower-case, so one address is one account however it is typed.
    email: Mapped[str] = mapped_column(String(EMAIL_LENGTH), unique=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH))
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_login_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    disabled: Mapped[bool] = mapped_column(default=False)
    # Raised whenever the user is disabled or enabled or changes role or password: a token carries the version it
    # was issued under, and one issued before the change is refused.
    credentials_version: Mapped[int] = mapped_column(Integer, default=0)


class LoginSession(Base):
    """A page session: the SHA-256 of its cookie's random token, whose it is, until when, and whether revoked."""

    __tablename__ = "sessions"
    __table_args__ = (Index("ix_sessions_user_id", "user_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    expires_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)


class PersonalKey(Base):
    """A personal API key: the SHA-256 of the key, its name and role (at most its creator's), last use, revoked."""

    __tablename__ = "api_keys"
    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'analyst', 'admin')", name="ck_api_keys_role"),
        Index("ix_api_keys_user_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(ROLE_LENGTH))
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)


NOTIFICATION_KINDS = ("webhook", "email")
DELIVERY_STATUSES = ("pending", "sending", "delivered", "failed")


class NotificationSubscription(Base):
    """Where events go: a webhook URL (with its signing secret) or an email address, and which events it wants."""

    __tablename__ = "notification_subscriptions"
    __table_args__ = (CheckConstraint(f"kind IN {NOTIFICATION_KINDS!r}", name="ck_notification_subscriptions_kind"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(8))
    # The webhook URL or the email address.
    target: Mapped[str] = mapped_column(String(2048))
    events: Mapped[list[str]] = mapped_column(JSON)
    # whsec_<base64>: the sender signs with it, so it is kept as given (shown to the creator once, never listed).
    secret: Mapped[str | None] = mapped_column(String(100))


class NotificationEvent(Base):
    """One event in the outbox, written in the transaction of whatever caused it."""

    __tablename__ = "notification_events"
    __table_args__ = (UniqueConstraint("event_key", name="uq_notification_events_event_key"),)

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    # What makes the event the same one when several processes see it (an activation's entry key): inserted once.
    event_key: Mapped[str] = mapped_column(String(200))
    # The webhook-id every receiver gets for it, the same on every retry.
    message_id: Mapped[str] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)


class NotificationDelivery(Base):
    """One event owed to one subscription: the delivery log and the drainer's queue in one row."""

    __tablename__ = "notification_deliveries"
    __table_args__ = (
        UniqueConstraint("event_id", "subscription_id", name="uq_notification_deliveries_event_subscription"),
        CheckConstraint(f"status IN {DELIVERY_STATUSES!r}", name="ck_notification_deliveries_status"),
        # The drainer reads due rows by status and time.
        Index("ix_notification_deliveries_due", "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    event_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"))
    subscription_id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), index=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UtcDateTime())
    # A claimed row belongs to its drainer until then; after that (the drainer died) it is due again.
    claimed_until: Mapped[datetime | None] = mapped_column(UtcDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(32))
    last_error: Mapped[str | None] = mapped_column(String(500))
    response_status: Mapped[int | None] = mapped_column(Integer)
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class AuditEvent(Base):
    """One change someone made (or one sign-in attempt): when, who, what, to what, and details without secrets."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_action", "action"), Index("ix_audit_events_who", "who"))

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    who: Mapped[str] = mapped_column(String(300))
    action: Mapped[str] = mapped_column(String(40))
    target: Mapped[str] = mapped_column(String(300))
    request_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON)
    client: Mapped[str | None] = mapped_column(String(64))


class OutcomeEvent(Base):
    """One outcome a caller reported for a customer (a purchase, a click), joined at arrival to what they were given."""

    __tablename__ = "outcome_events"
    __table_args__ = (
        # The A/B report reads one campaign's outcomes; the join reads one segmentation's customer.
        Index("ix_outcome_events_campaign", "segmentation", "campaign"),
        Index("ix_outcome_events_customer", "segmentation", "customer_id"),
    )

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UtcDateTime())
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime())
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH))
    customer_id: Mapped[str] = mapped_column(String(CUSTOMER_ID_LENGTH))
    event: Mapped[str] = mapped_column(String(64))
    value: Mapped[float | None] = mapped_column(Float)
    campaign: Mapped[str | None] = mapped_column(String(128))
    # What the customer was given, found at arrival: False (and the rest None) for a customer never seen.
    matched: Mapped[bool]
    arm: Mapped[str | None] = mapped_column(String(16))
    version: Mapped[str | None] = mapped_column(String(64))
    segment_id: Mapped[int | None]
    segment_name: Mapped[str | None] = mapped_column(String(200))
    # When the customer was assigned in the experiment running as the event occurred (or, for an event before any
    # assignment, their first assignment after it): the report leaves out an event that occurred before it.
    assigned_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class RetrainProposal(Base):
    """A candidate version trained because drift turned, or because an admin asked: compared, then accepted or not."""

    __tablename__ = "retrain_proposals"
    __table_args__ = (
        # The list and the cooldown read one segmentation's newest proposals.
        Index("ix_retrain_proposals_segmentation_created_at", "segmentation", "created_at"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    segmentation: Mapped[str] = mapped_column(String(SEGMENTATION_LENGTH))
    # "drift" or "manual", and the sentence shown on /models ("drift in annual_income since …").
    trigger: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    # training → ready → accepted | dismissed, or failed; the active version it was compared with.
    state: Mapped[str] = mapped_column(String(16))
    base_version: Mapped[str] = mapped_column(String(64))
    job_id: Mapped[str | None] = mapped_column(String(64))
    candidate_version: Mapped[str | None] = mapped_column(String(64))
    # The comparison with the active version: migration matrix, metrics, segments grown or shrunk.
    comparison: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    decided_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(300))
    # Whether the candidate trains on the logged customers mixed with the active version's training sample.
    mix_training: Mapped[bool] = mapped_column(server_default=false())
    # Why the candidate could not be trained (state failed).
    error: Mapped[str | None] = mapped_column(String(500))
