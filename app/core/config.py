"""Application settings: one typed class read from the environment and `.env`."""

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, Request
from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_DATABASE_URL = f"sqlite:///{PROJECT_ROOT / 'data' / 'prediction_log.sqlite3'}"


class Settings(BaseSettings):
    """Every knob of the service, with its default, in one place."""

    model_config = SettingsConfigDict(env_file=PROJECT_ROOT / ".env", extra="ignore")

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
    # Freeze start-up objects and collect young objects less often: large batch responses allocate many
    # short-lived dicts that reference counting frees anyway. Measured in benchmarks/run.py.
    gc_tuning: bool = True
    # SQLAlchemy URL of the prediction log: SQLite by default, or postgresql+psycopg://user:pass@host/db.
    # A SecretStr because a PostgreSQL URL carries a password; it is never logged.
    database_url: SecretStr = SecretStr(DEFAULT_DATABASE_URL)
    prediction_log_enabled: bool = True
    # Share of predictions logged, 0..1 (1 logs every prediction).
    prediction_log_sample: float = Field(1.0, ge=0.0, le=1.0)
    prediction_log_retention_days: int = Field(30, ge=1)
    # Rows waiting to be written; past this, new rows are dropped and counted rather than held in memory.
    prediction_log_queue_rows: int = Field(100_000, ge=1)

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_log_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("model_dir", "data_path", "processed_dir")
    @classmethod
    def _anchor_paths(cls, value: Path) -> Path:
        # Relative paths mean the same folder whatever directory the app is started from.
        return value if value.is_absolute() else PROJECT_ROOT / value

    @field_validator("database_url", mode="before")
    @classmethod
    def _default_database(cls, value: object) -> object:
        # An empty DATABASE_URL (as in .env.example) means the default SQLite file.
        if isinstance(value, str) and not value.strip():
            return DEFAULT_DATABASE_URL
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        # A comma-separated string reads better in .env than a JSON list.
        if isinstance(value, str):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

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


async def get_app_settings(request: Request) -> Settings:
    """The settings the running app was created with (tests build apps with their own)."""
    return request.app.state.settings


SettingsDep = Annotated[Settings, Depends(get_app_settings)]
