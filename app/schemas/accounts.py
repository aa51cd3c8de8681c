"""Request and response bodies of sign-in, personal API keys and user management (never a password or a hash)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, model_validator

from app.core.emails import MAX_EMAIL_LENGTH, valid_email
from app.schemas.common import ONE_LINE, example_config
from app.utils.text import SPACE_CLASS

RoleName = Literal["viewer", "analyst", "admin"]
# An account's email: no space, control or invisible character, ASCII only (the rule is app/core/emails.py's).
Email = Annotated[
    str,
    # The rule as a pattern for the schema (ASCII from ! to ~ but @, one @, a dot after it); valid_email says why not.
    Field(
        min_length=5,
        max_length=MAX_EMAIL_LENGTH,
        examples=["ana@example.com"],
        json_schema_extra={"pattern": r"^[!-?A-~]+@[!-?A-~]+\.[!-?A-~]+$"},
    ),
    AfterValidator(valid_email),
]
# A new password: at least this many characters, spaces at either end not counted (app/services/accounts/users.py
# checks it). The schema states it as a pattern: a non-space, any characters, a non-space, spaces around (spelled
# out as the check trims them), so clients and API fuzzers know the rule.
MIN_PASSWORD_LENGTH = 10
_SPACE, _SEEN = f"[{SPACE_CLASS}]", f"[^{SPACE_CLASS}]"
NewPassword = Annotated[
    str,
    Field(
        max_length=1024,
        description=f"At least {MIN_PASSWORD_LENGTH} characters, spaces at either end not counted; stored as Argon2.",
        json_schema_extra={"pattern": rf"^{_SPACE}*{_SEEN}[\s\S]{{{MIN_PASSWORD_LENGTH - 2},}}{_SEEN}{_SPACE}*$"},
    ),
]
# Ids are 32-bit integers on every backend: a larger one names nothing, and is refused before the database is asked.
MAX_ID = 2**31 - 1


class TokenOut(BaseModel):
    """An OAuth2 bearer token (RFC 6749 §5.1)."""

    model_config = example_config(
        {"access_token": "eyJhbGciOiJIUzI1NiIs…", "token_type": "bearer", "expires_in": 900, "scope": "read score"}
    )

    access_token: str = Field(description="A signed JWT: send it as `Authorization: Bearer <token>`.")
    token_type: Literal["bearer"] = Field("bearer", description="Always `bearer`.")
    expires_in: int = Field(description="Seconds the token is valid for (JWT_TTL_SECONDS).")
    scope: str = Field(description="The scopes of the user's role, space-separated.", examples=["read score"])


class KeyIn(BaseModel):
    """A new personal API key."""

    model_config = example_config({"name": "nightly export", "role": "viewer"}, extra="forbid")

    # Part of who the key speaks for (`email:name`): the audit trail, jobs, histories and /account show it.
    name: Annotated[str, ONE_LINE] = Field(
        min_length=1,
        max_length=100,
        description="What the key is for: one line of visible text.",
        examples=["nightly export"],
    )
    role: RoleName = Field("viewer", description="The key's role: at most its creator's.")


_KEY = {
    "id": 3,
    "name": "nightly export",
    "role": "viewer",
    "owner": "ana@example.com",
    "created_at": "2026-12-06T06:00:00Z",
    "last_used_at": None,
    "revoked": False,
}
_USER = {
    "id": 2,
    "email": "ana@example.com",
    "display_name": "Ana",
    "role": "analyst",
    "created_at": "2026-12-06T06:00:00Z",
    "last_login_at": "2026-12-06T08:30:00Z",
    "disabled": False,
}


class KeyOut(BaseModel):
    """A personal API key, without the key."""

    model_config = example_config(_KEY)

    id: int = Field(description="The key's id, to revoke it.")
    name: str = Field(description="What the key is for.")
    role: RoleName = Field(description="The key's role: at most its owner's.")
    owner: str = Field(description="The email of the user the key belongs to.")
    created_at: datetime = Field(description="When it was created (UTC).")
    last_used_at: datetime | None = Field(description="When it was last used (UTC); null when never.")
    revoked: bool = Field(description="True once revoked: it is refused (401).")


class NewKeyOut(KeyOut):
    """A key just created: the only answer that ever holds the key itself."""

    model_config = example_config(_KEY | {"key": "csk_3q2…"})

    key: str = Field(description="Send it as the X-API-Key header. Shown once: it is stored only as a hash.")


class KeyList(BaseModel):
    """Personal API keys: the caller's own, or everyone's for an admin."""

    model_config = example_config({"keys": [_KEY]})

    keys: list[KeyOut] = Field(description="The keys, never the keys' secrets.")


class UserIn(BaseModel):
    """A new user."""

    model_config = example_config(
        {"email": "ana@example.com", "password": "correct horse battery", "role": "analyst", "display_name": "Ana"},
        extra="forbid",
    )

    email: Email = Field(description="What the user signs in with; one account per email, whatever its case.")
    password: NewPassword
    role: RoleName = Field(
        "viewer", description="viewer reads, analyst also scores files and edits segments, admin also manages."
    )
    display_name: Annotated[str, Field(max_length=100), ONE_LINE] = Field(
        "", description="The name pages show; one line of visible text (empty: the email's local part)."
    )


class PasswordChangeIn(BaseModel):
    """A signed-in user's new password, with their current one."""

    model_config = example_config(
        {"current_password": "correct horse battery", "new_password": "a longer horse battery"}, extra="forbid"
    )

    current_password: str = Field(max_length=1024, description="The password the account has now.")
    new_password: NewPassword


class PasswordIn(BaseModel):
    """A new password an admin sets for a user."""

    model_config = example_config({"password": "a fresh horse battery"}, extra="forbid")

    password: NewPassword


class UserPatch(BaseModel):
    """A change to a user: its role, or disabling it (which ends its sessions and stops its keys at once)."""

    # The schema says what the validator below does: a role or a `disabled`, not null, or both.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"role": "analyst"}],
            "anyOf": [
                {"required": ["role"], "properties": {"role": {"type": "string", "description": "A new role."}}},
                {
                    "required": ["disabled"],
                    "properties": {"disabled": {"type": "boolean", "description": "Disabled or enabled again."}},
                },
            ],
        },
    )

    role: RoleName | None = Field(None, description="The user's new role; left out or null: unchanged.")
    # Strict: 0 or "yes" is refused rather than read as a boolean.
    disabled: StrictBool | None = Field(
        None, description="true disables the user, false enables them again; left out or null: unchanged."
    )

    @model_validator(mode="after")
    def _changes_something(self) -> "UserPatch":
        # An empty patch changed nothing, yet was answered 200 and audited as a user.update.
        if self.role is None and self.disabled is None:
            raise ValueError("nothing to change: send role, disabled or both")
        return self


class UserOut(BaseModel):
    """A user, as admins see it."""

    model_config = example_config(_USER)

    id: int = Field(description="The user's id, for PATCH /api/v1/users/{user_id}.")
    email: str = Field(description="What the user signs in with (lower-cased).")
    display_name: str = Field(description="The name pages show.")
    role: RoleName = Field(description="viewer, analyst or admin.")
    created_at: datetime = Field(description="When the user was created (UTC).")
    last_login_at: datetime | None = Field(description="When the user last signed in (UTC); null when never.")
    disabled: bool = Field(description="True when disabled: no sign-in, and its keys and tokens are refused.")


class UserList(BaseModel):
    """Every user."""

    model_config = example_config({"users": [_USER]})

    users: list[UserOut] = Field(description="Every user, oldest first.")
