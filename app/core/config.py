"""Application settings: one typed class read from the environment and `.env`."""

import json
import re
from datetime import timedelta
from email.utils import parseaddr
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, ValidationInfo, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from app.core.setting_checks import (
    database_url_problem,
    hosts_with_ports,
    listen_address,
    with_password,
    writable_folder,
)

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'prediction_log.sqlite3'}"
# Shortest key ADMIN_API_KEYS and OUTCOME_API_KEYS accept (secrets.token_urlsafe(32) gives 43 characters).
MIN_API_KEY_LENGTH = 16
# The schemes app/services/notifications/sending.py speaks.
SMTP_SCHEMES = ("smtp", "smtps", "smtp+starttls")
# The databases app/db speaks (its dialect-specific SQL), with the drivers requirements.txt installs.
_DATABASE_SCHEME = re.compile(r"^(sqlite(\+pysqlite)?|postgresql(\+psycopg)?)://")


class Settings(BaseSettings):
    """Every knob of the service, with its default, in one place."""

    # Errors never quote what was given: several settings are secrets (keys, URLs with passwords).
    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore", hide_input_in_errors=True)

    def __init__(self, **values: object) -> None:
        # `extra="ignore"` lets `.env` hold other tools' keys (compose's), but a misspelt keyword in code would be
        # dropped just as silently: keywords must name fields.
        unknown = sorted(name for name in values if name not in type(self).model_fields and not name.startswith("_"))
        if unknown:
            raise TypeError(f"unknown setting(s): {', '.join(unknown)}")
        super().__init__(**values)

    app_name: str = "Customer Segmentation"
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = "text"
    # Empty means same-origin only: no CORS headers are sent at all.
    cors_origins: Annotated[list[str], NoDecode] = []
    model_dir: Path = PROJECT_ROOT / "models_artifacts"
    data_path: Path = PROJECT_ROOT / "data" / "raw" / "mall_customers.csv"
    processed_dir: Path = PROJECT_ROOT / "data" / "processed"
    auto_train: bool = True
    # At most the 10,000 the batch schema allows: this setting lowers that cap, it cannot raise it.
    max_batch_size: int = Field(10_000, ge=1, le=10_000)
    max_body_bytes: int = Field(2_000_000, ge=1_024)
    # Freeze start-up objects and collect young objects less often while the app runs (undone at shutdown): large
    # batch responses allocate many short-lived dicts that reference counting frees anyway. Measured in
    # benchmarks/run.py.
    gc_tuning: bool = True
    # How long (ms) a thread waits for the GIL before it asks the holder to let go (Python's default is 5). The log
    # writer and the drift evaluator run Python beside the event loop: each time a request arrives while they hold
    # the GIL, the loop waited up to 5 ms. With 1, a drift evaluation during a 20 s load took single-predict p99
    # from 16.5-17.1 to 7.6-8.5 ms, at the same throughput. Process-wide, set at start-up and restored at shutdown.
    # Below 0.1 ms the GIL would change hands almost constantly.
    gil_switch_ms: float = Field(1.0, ge=0.1, le=100, allow_inf_nan=False)
    # glibc malloc arenas for the server process (0: glibc's default, 8 per core). Two keep the RSS a long load
    # leaves behind at about half (benchmarks/load.py, "server RSS over the load runs").
    malloc_arena_max: int = Field(2, ge=0, le=64)
    # Blocks up to this many MiB come from glibc malloc's heap rather than a mapping of their own, and up to twice
    # this of freed memory stays at the top of each heap for reuse; 0 leaves glibc's own sliding threshold. A 10,000-row
    # batch handles ~18 MB of short-lived buffers (the body, arrays, the 6.8 MB answer): glibc's threshold left
    # them to be mapped afresh and faulted in page by page, ~4,600 page faults and 22 ms a batch in process against
    # 13 ms with 32 (what glibc's threshold grows to at most). benchmarks/run.py measures it.
    malloc_reuse_mb: int = Field(32, ge=0, le=512)  # mallopt takes a C int: twice 512 MiB still fits
    # Answers of at least this many bytes are gzip-compressed for clients that send Accept-Encoding: gzip (a
    # 10,000-customer batch shrinks from 6.7 MB to 1.1 MB); smaller ones, such as a single prediction (~700
    # bytes), pass untouched. 0 turns compression off. Measured in benchmarks/run.py.
    gzip_min_bytes: int = Field(4_096, ge=0)
    # Keys accepted in X-API-Key by the admin routes (train, activate, roll back, delete); comma-separated in
    # the environment. None configured means those routes answer 403 to anyone but a signed-in admin user (session,
    # token or personal key): they are never open (and /metrics then relies on its networks alone).
    admin_api_keys: Annotated[list[SecretStr], NoDecode] = []
    # Keys accepted in X-API-Key by POST /api/v1/outcomes only (a CRM or shop reporting purchases), comma-separated;
    # analysts and admins may post outcomes too. None configured and nobody signed in: the route answers 401/403.
    outcome_api_keys: Annotated[list[SecretStr], NoDecode] = []
    # Outcome events one POST /api/v1/outcomes may carry (more: 422, as for MAX_BATCH_SIZE); the body is also held
    # to MAX_BODY_BYTES (413) before it is parsed.
    outcomes_max_events: int = Field(10_000, ge=1, le=10_000)
    # HMAC-SHA256 key that signs every new model version and is checked at load; empty means checksums only.
    model_signing_key: SecretStr | None = None
    # How often each worker checks the ACTIVE pointer (a stat) and swaps in a newly activated version.
    model_poll_seconds: float = Field(0.5, gt=0, le=60)
    # Training jobs started from the API: where their state lives (default: <model_dir>/.jobs), how long
    # one may run, how many rows and bytes an upload may have, and how many may run at once.
    jobs_dir: Path | None = None
    train_time_limit_seconds: float = Field(900, gt=0)
    train_max_rows: int = Field(2_000_000, ge=10)
    train_max_upload_bytes: int = Field(100_000_000, ge=1_024)
    train_max_concurrent_jobs: int = Field(1, ge=1, le=16)
    # Finished jobs (their state, log and status URL) kept; older ones are removed when a new job starts.
    train_jobs_kept: int = Field(50, ge=1, le=100_000)
    # Largest customer file accepted by /api/v1/predict/csv and /score, counted as it streams in.
    max_upload_bytes: int = Field(200_000_000, ge=1_024)
    # Where the /score page keeps labelled files for download (and for how long), and the runs (in its runs/): under
    # the project's data folder by default, so runs outlive a reboot as the database that lists them does.
    score_results_dir: Path = PROJECT_ROOT / "data" / "results"
    score_results_ttl_seconds: int = Field(3600, ge=60)
    # Total bytes of those labelled files: the oldest go first to make room for a new one, and one larger than this
    # on its own is refused (503). A labelled file can be ten times its upload, so the default holds a full-size one.
    results_max_bytes: int = Field(2_000_000_000, ge=1_024)
    # Every scored file is kept as a run (its labelled rows as Parquet in SCORE_RESULTS_DIR/runs, counted in
    # RESULTS_MAX_BYTES): at most this many, each for at most this many days, the oldest removed first. Keeping a
    # run writes its Parquet file while the file is scored, about a quarter more scoring time; 0 keeps none.
    runs_kept: int = Field(1_000, ge=0)
    runs_retention_days: int = Field(30, ge=1)
    # Who may read /metrics without a key: client networks in CIDR form. Loopback only by default.
    metrics_allowed_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = [
        ip_network("127.0.0.1/32"),
        ip_network("::1/128"),
    ]
    # Folder for prometheus-client's multiprocess mode, so several workers report one sum (optional: the workers of
    # one uvicorn supervisor share an automatic folder without it). It is wiped when a new server starts.
    prometheus_multiproc_dir: Path | None = None
    # Rate limits in the `limits` notation ("600/minute", "10/second;1000/hour").
    rate_limit_predict: str = "600/minute"
    rate_limit_admin: str = "60/minute"
    # memory:// counts per worker process; redis://host:6379/0 shares one count between workers and hosts. A
    # SecretStr because a Redis URL may carry a password; it is never logged.
    rate_limit_storage: SecretStr = SecretStr("memory://")
    # Seconds a request waits for Redis (to connect, and for each answer) before the storage counts as failed.
    rate_limit_storage_timeout: float = Field(0.1, gt=0, le=5)
    # After this many failures in a row the circuit opens: Redis is left alone (predictions are not limited, failed
    # admin keys are counted in this process) and tried again by one request every RATE_LIMIT_CIRCUIT_RESET_SECONDS.
    rate_limit_circuit_failures: int = Field(3, ge=1, le=1_000)
    rate_limit_circuit_reset_seconds: float = Field(5.0, gt=0, le=600)
    # Believe X-Forwarded-For and X-Forwarded-Proto from any direct peer (set it only behind a proxy you run that
    # is the only way in). TRUSTED_PROXIES names the proxies instead (CIDRs): only their headers are believed, and
    # they are skipped in X-Forwarded-For chains. One rule for both, in app/core/proxy.py.
    trust_forwarded_for: bool = False
    trusted_proxies: Annotated[list[IPv4Network | IPv6Network], NoDecode] = []
    # Redirect plain HTTP to HTTPS (308, except /livez, /readyz and /metrics), send HSTS, make every cookie Secure.
    force_https: bool = False
    # Strict-Transport-Security under FORCE_HTTPS: seconds browsers keep to HTTPS (a year), and whether subdomains too.
    hsts_max_age: int = Field(31_536_000, ge=0)
    hsts_include_subdomains: bool = True
    # The address users reach the service at (https://segments.example.com), shown in the /about page's curl
    # example. Never taken from the request's Host header, which any client sets; unset, the example uses HOST:PORT.
    public_url: str | None = None
    # `python main.py` only: worker processes, and seconds to finish in-flight requests after SIGTERM.
    workers: int = Field(1, ge=1, le=64)
    graceful_timeout: float = Field(30.0, gt=0, le=3_600)
    # Seconds a server goes on serving after SIGTERM, with /readyz at 503, before it stops accepting connections: time
    # for a load balancer probing /readyz to take it out of rotation. A second SIGTERM or a SIGINT skips the rest.
    drain_seconds: float = Field(0.0, ge=0, le=600)
    # `python main.py` only: connections beyond this get 503; idle keep-alive connections close after this.
    limit_concurrency: int | None = Field(None, ge=1)
    timeout_keep_alive: float = Field(5.0, gt=0, le=600)
    # `python main.py` with WORKERS > 1: seconds a worker may take to start or to answer uvicorn's ping.
    worker_healthcheck_timeout: int = Field(30, ge=1, le=600)
    # Accounts and roles. True keeps pages, reads, predictions and file scoring open to anonymous callers (rate
    # limited), as before accounts existed; false asks for a viewer (reads) or an analyst (scoring). Admin actions
    # always need an admin: a user, a personal key or an ADMIN_API_KEYS key.
    public_reads: bool = True
    # Signs the API's bearer tokens (HS256); unset (and no RS256 key pair) means token login is off.
    jwt_secret: SecretStr | None = None
    jwt_algorithm: Literal["HS256", "RS256"] = "HS256"
    # PEM files for JWT_ALGORITHM=RS256: the private key signs, the public one verifies.
    jwt_private_key_file: Path | None = None
    jwt_public_key_file: Path | None = None
    # Bearer tokens are short-lived: a disabled user's token stops at once anyway (checked on every request).
    jwt_ttl_seconds: int = Field(900, ge=30, le=86_400)
    # Seconds a signed-in page session lasts.
    session_ttl: int = Field(8 * 3600, ge=60, le=30 * 86_400)
    # Failed sign-ins allowed per account and per client address (the `limits` notation).
    rate_limit_login: str = "10/minute"
    # SQLAlchemy URL of the prediction log: SQLite by default, or postgresql+psycopg://user:pass@host/db.
    # A SecretStr because a PostgreSQL URL carries a password; it is never logged.
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    # The database's password when DATABASE_URL leaves it out (compose passes it so; a Kubernetes Secret may hold it):
    # any characters, quoted into the URL here, where an @ or / written into DATABASE_URL would have to be %-encoded.
    database_password: SecretStr | None = None
    prediction_log_enabled: bool = True
    # Share of predictions logged, 0..1 (1 logs every prediction).
    prediction_log_sample: float = Field(1.0, ge=0.0, le=1.0)
    prediction_log_retention_days: int = Field(30, ge=1)
    # Rows waiting to be written (about 40 bytes each); past this, new rows are dropped and counted rather than held
    # in memory. As large as the scoring spool, so a file the spool holds is logged whole when the database keeps up.
    prediction_log_queue_rows: int = Field(1_000_000, ge=1)
    # Rows of one scored file held for the log until the file has succeeded (about 40 bytes each); past this,
    # the file's further rows are dropped and counted rather than held in memory.
    scoring_log_spool_rows: int = Field(1_000_000, ge=0)
    # Seconds between background drift evaluations of every segmentation's last 24 hours (stored in drift_checks and
    # exported as drift_status); one process evaluates at a time, however many workers run. 0 turns it off.
    drift_evaluation_seconds: float = Field(300.0, ge=0, le=86_400)
    # Retraining proposals (app/services/proposals): drift turning to `drift` proposes a candidate at most once per
    # cooldown per segmentation (seconds, or ISO 8601 like PT24H). A candidate is only activated by an admin, unless
    # AUTO_PROMOTE, and then only when it agrees with the active version on at least AUTO_PROMOTE_MIN_AGREEMENT of
    # the recent customers, its silhouette is not worse by more than 0.02 and it loses no segment.
    proposal_cooldown: timedelta = Field(timedelta(hours=24), ge=timedelta(0))
    # False keeps drift monitoring (drift_checks, drift_status, drift.changed) without training candidates on drift;
    # proposals can still be asked for (POST /api/v1/proposals).
    proposals_from_drift: bool = True
    auto_promote: bool = False
    auto_promote_min_agreement: float = Field(0.8, ge=0.0, le=1.0)
    # Notifications (app/services/notifications): webhooks and email, sent from a durable outbox by a background
    # thread. SMTP_URL: smtp://user:pass@host:587 (plain), smtp+starttls://... or smtp://...?starttls=true
    # (STARTTLS), smtps://... (TLS from the start). A SecretStr because it carries a password; never logged.
    smtp_url: SecretStr | None = None
    smtp_from: str = "segmentation@localhost"
    # Webhook URLs on loopback, private or link-local networks are refused (server-side request forgery) unless true.
    webhook_allow_private: bool = False
    # Attempts per delivery before it is marked failed; the wait before attempt n+1 is about base * 2**(n-1) seconds,
    # jittered to 50-100% and capped at an hour.
    webhook_max_attempts: int = Field(8, ge=1, le=50)
    webhook_backoff_seconds: float = Field(10.0, ge=0.0, le=3_600)
    # Seconds between looks at the outbox for deliveries that are due.
    notify_poll_seconds: float = Field(2.0, gt=0.0, le=600)
    notifications_enabled: bool = True

    @field_validator("proposal_cooldown", mode="before")
    @classmethod
    def _seconds_or_iso(cls, value: object) -> object:
        """A cooldown given as a number of seconds ("86400") or as ISO 8601 ("PT24H")."""
        if isinstance(value, str):
            try:
                return float(value)
            except ValueError:
                return value
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("host", "model_dir", "data_path", "processed_dir", "jobs_dir", "score_results_dir", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object, info: ValidationInfo) -> object:
        # `JOBS_DIR=` (as .env.example has it) means the default: read as a path it named the project folder itself,
        # and an empty HOST listened on every interface. The line end a secret file gives is dropped too.
        if isinstance(value, str):
            value = value.strip()
            return value or cls.model_fields[str(info.field_name)].default
        return value

    @field_validator("host")
    @classmethod
    def _listen_address(cls, value: str) -> str:
        # Refused here, in one line naming HOST: uvicorn said only "Name or service not known", after start-up.
        if not listen_address(value):
            raise ValueError("use an IP address or a host name, without scheme or port (127.0.0.1, 0.0.0.0, ::)")
        return value

    @field_validator("model_dir", "data_path", "processed_dir", "jobs_dir", "score_results_dir")
    @classmethod
    def _anchor_paths(cls, value: Path | None) -> Path | None:
        # Relative paths mean the same folder whatever directory the app is started from.
        return value if value is None or value.is_absolute() else PROJECT_ROOT / value

    @field_validator(
        "model_signing_key", "jwt_secret", "jwt_private_key_file", "jwt_public_key_file", "smtp_url", mode="before"
    )
    @classmethod
    def _empty_key_is_none(cls, value: object) -> object:
        return None if value == "" else value

    @field_validator("smtp_url", "smtp_from", "jwt_secret", mode="before")
    @classmethod
    def _strip_line_end(cls, value: object) -> object:
        # A value read from a secret file or `echo >` ends with a newline (one inside a mail setting is refused
        # below); JWT_SECRET is read by the server alone, the same on every replica, so dropping it changes nothing.
        return value.strip() if isinstance(value, str) else value

    @field_validator("smtp_url")
    @classmethod
    def _smtp_url(cls, value: SecretStr | None) -> SecretStr | None:
        # Checked here, quoting nothing (it holds a password): sending would otherwise fail every attempt.
        if value is None:
            return None
        url = value.get_secret_value()
        try:
            parts = urlsplit(url)
            parts.port  # noqa: B018 - raises on a port that is not a number in range
            valid = parts.scheme.lower() in SMTP_SCHEMES and bool(parts.hostname)
        except ValueError:
            valid = False
        if not valid or any(not character.isprintable() or character.isspace() for character in url):
            raise ValueError(
                "use smtp://, smtp+starttls:// or smtps:// with a host and an optional numeric port "
                "(smtp://user:password@mail.example.com:587); the URL is not shown"
            )
        return value

    @field_validator("smtp_from")
    @classmethod
    def _smtp_from(cls, value: str) -> str:
        # A line break would end the From header and start another; the SMTP server needs an ASCII address.
        address = parseaddr(value)[1]
        if any(not character.isprintable() for character in value) or "@" not in address or not address.isascii():
            raise ValueError("use one ASCII address on one line, such as segments@example.com or Segments <a@b.com>")
        return value

    @field_validator("admin_api_keys", "outcome_api_keys")
    @classmethod
    def _long_api_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        # A key is all a caller needs: a short one is guessed long before the admin rate limit would notice.
        if any(len(key.get_secret_value()) < MIN_API_KEY_LENGTH for key in value):
            raise ValueError(
                f"every key needs at least {MIN_API_KEY_LENGTH} characters, "
                'e.g. python -c "import secrets; print(secrets.token_urlsafe(32))"'
            )
        return value

    @field_validator("model_signing_key")
    @classmethod
    def _no_blank_ends(cls, value: SecretStr | None) -> SecretStr | None:
        # A key read from a secret file ends with a newline that `$(cat file)` in a shell drops: kept, the CLI and the
        # server would sign with different keys and refuse each other's models. Refused rather than changed, so a
        # version already signed with it is not silently refused after an upgrade.
        if value is not None and value.get_secret_value() != value.get_secret_value().strip():
            raise ValueError(
                "starts or ends with a space or a line break (a secret file's last line?); the key is not shown"
            )
        return value

    @field_validator("jwt_secret")
    @classmethod
    def _long_jwt_secret(cls, value: SecretStr | None) -> SecretStr | None:
        # RFC 7518 §3.2: an HS256 key at least as long as the hash; shorter ones can be brute-forced offline.
        if value is not None and len(value.get_secret_value().encode()) < 32:
            raise ValueError('use at least 32 bytes, e.g. python -c "import secrets; print(secrets.token_urlsafe(48))"')
        return value

    @model_validator(mode="after")
    def _rs256_key_files(self) -> "Settings":
        # Checked at start: a missing key file would otherwise fail every sign-in.
        if self.jwt_algorithm == "RS256":
            for name in ("jwt_private_key_file", "jwt_public_key_file"):
                path = getattr(self, name)
                if path is None or not path.is_file():
                    raise ValueError(f"JWT_ALGORITHM=RS256 needs {name.upper()} to name a PEM file")
        return self

    @property
    def signing_key(self) -> bytes | None:
        """The model signing key as bytes, or None when artifacts are not signed."""
        return self.model_signing_key.get_secret_value().encode() if self.model_signing_key else None

    @property
    def job_root(self) -> Path:
        """Where training jobs keep their state: shared by every worker and host that shares the model folder."""
        return self.jobs_dir or self.model_dir / ".jobs"

    @field_validator(
        "cors_origins",
        "admin_api_keys",
        "outcome_api_keys",
        "metrics_allowed_networks",
        "trusted_proxies",
        mode="before",
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        # A comma-separated string reads better in .env than a JSON list, but pydantic-settings' usual JSON form
        # must not become one literal item ('["k"]' as an admin key).
        if not isinstance(value, str):
            return value
        if value.lstrip().startswith("["):
            try:
                items = json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(
                    f"starts like a JSON list but is not one ({exc.msg}); use a JSON list or commas"
                ) from None
            if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
                raise ValueError("a JSON list here must hold strings only")
            return [item.strip() for item in items if item.strip()]
        return [item.strip() for item in value.split(",") if item.strip()]

    @field_validator("limit_concurrency", "prometheus_multiproc_dir", "public_url", mode="before")
    @classmethod
    def _empty_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("prometheus_multiproc_dir")
    @classmethod
    def _writable_metrics_folder(cls, value: Path | None) -> Path | None:
        # Every worker writes its counters there: a folder it cannot make or write stopped start-up with a traceback.
        if value is not None and not writable_folder(value):
            raise ValueError("this user cannot create or write that folder; give a writable one (often under /tmp)")
        return value

    @field_validator("rate_limit_predict", "rate_limit_admin", "rate_limit_login")
    @classmethod
    def _valid_limit(cls, value: str) -> str:
        from limits import parse_many  # only settings that set a limit need the parser

        parse_many(value)
        return value

    @field_validator("rate_limit_storage", mode="before")
    @classmethod
    def _strip_storage(cls, value: object) -> object:
        # A value read from a secret file ends with a newline, which no URL holds.
        return value.strip() if isinstance(value, str) else value

    @field_validator("rate_limit_storage")
    @classmethod
    def _known_storage(cls, value: SecretStr) -> SecretStr:
        uri = value.get_secret_value()
        if not uri.startswith(("memory://", "redis://", "rediss://")):
            raise ValueError("use memory:// or a redis:// (or rediss://) URL")
        if not uri.startswith("memory://") and not hosts_with_ports(uri):
            raise ValueError("every Redis host needs a port number (redis://host:6379/0); the URL is not shown")
        return value

    @field_validator("public_url")
    @classmethod
    def _absolute_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")) or any(char.isspace() or char in "'\"<>" for char in value):
            raise ValueError("use an absolute http:// or https:// URL, such as https://segments.example.com")
        return value.rstrip("/")

    @property
    def base_url(self) -> str:
        """Where users reach the service: PUBLIC_URL, or HOST:PORT (a wildcard host read as this machine)."""
        if self.public_url:
            return self.public_url
        host = {"0.0.0.0": "127.0.0.1", "::": "[::1]"}.get(self.host, self.host)
        host = f"[{host}]" if ":" in host and not host.startswith("[") else host
        return f"http://{host}:{self.port}"

    @field_validator("database_url", mode="before")
    @classmethod
    def _default_database(cls, value: object) -> object:
        # An empty DATABASE_URL (as in .env.example) means the default SQLite file; the line end a secret file gives
        # is dropped (it became part of the database's name).
        if isinstance(value, str):
            return value.strip() or DEFAULT_DATABASE_URL
        return value

    @field_validator("database_url")
    @classmethod
    def _known_database(cls, value: SecretStr) -> SecretStr:
        # Refused here, not when the lifespan first connects after the server said it started.
        if not _DATABASE_SCHEME.match(value.get_secret_value()):
            raise ValueError("use sqlite:///path/to/file.sqlite3 or postgresql+psycopg://user:password@host:5432/db")
        # A port that is not a number stopped start-up with a traceback; an unencoded @ in the password put the rest
        # of it in the host, and the driver's "failed to resolve host" line then logged it.
        problem = database_url_problem(value.get_secret_value())
        if problem:
            raise ValueError(problem)
        return value

    @field_validator("database_password", mode="before")
    @classmethod
    def _no_empty_password(cls, value: object) -> object:
        # Empty (as in .env.example) is none; a secret file's line end is not part of the password.
        if isinstance(value, str):
            return value.rstrip("\r\n") or None
        return value

    @model_validator(mode="after")
    def _password_into_url(self) -> "Settings":
        if self.database_password is not None:
            url = with_password(self.database_url.get_secret_value(), self.database_password.get_secret_value())
            self.database_url = SecretStr(url)
        return self

    @field_validator("cors_origins")
    @classmethod
    def _no_wildcard(cls, value: list[str]) -> list[str]:
        if "*" in value:
            raise ValueError("'*' is not allowed: list each trusted origin explicitly")
        return value


@lru_cache
def get_settings() -> Settings:
    """Return the process-wide settings, read once."""
    return Settings()
