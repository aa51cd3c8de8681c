"""Passwords (Argon2 through pwdlib), random secrets stored only as hashes, and signed short-lived JWTs."""

import hashlib
import secrets
from datetime import UTC, datetime, timedelta
from functools import lru_cache

import jwt
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

from app.core.account_errors import SignInRequired, TokenLoginOff
from app.core.config import Settings

# Personal API keys start with this, so a key that is not one of ADMIN_API_KEYS is looked up only when it could be.
PERSONAL_KEY_PREFIX = "csk_"


@lru_cache
def password_hasher() -> PasswordHash:
    """The one Argon2 hasher (pwdlib's recommended parameters)."""
    return PasswordHash((Argon2Hasher(),))


@lru_cache
def _dummy_hash() -> str:
    # Hashed once per process: an unknown email is verified against it, so it costs what a real account costs.
    return password_hasher().hash(secrets.token_urlsafe(16))


def hash_password(password: str) -> str:
    """The Argon2 hash of `password` (salted; the only form a password is ever stored in)."""
    return password_hasher().hash(password)


def verify_password(password: str, stored: str | None) -> bool:
    """Whether `password` matches `stored`; without a stored hash, the same Argon2 work against a dummy one."""
    if stored is None:
        password_hasher().verify(password, _dummy_hash())
        return False
    return password_hasher().verify(password, stored)


def new_secret(prefix: str = "") -> str:
    """A random secret (256 bits) for a session cookie or an API key."""
    return prefix + secrets.token_urlsafe(32)


def secret_hash(secret: str) -> str:
    """The stored form of a session token or API key: SHA-256 (the secret is random, so no salt or stretching)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def csrf_token_of(session_token: str) -> str:
    """The CSRF token of a session: derived from its cookie's token, which another site can neither read nor guess."""
    return hashlib.sha256(b"csrf:" + session_token.encode()).hexdigest()


def _keys(settings: Settings) -> tuple[str | bytes, str | bytes] | None:
    """(signing key, verifying key) for the configured algorithm, or None when token login is off."""
    if settings.jwt_algorithm == "RS256":
        if settings.jwt_private_key_file is None or settings.jwt_public_key_file is None:
            return None
        return settings.jwt_private_key_file.read_bytes(), settings.jwt_public_key_file.read_bytes()
    if settings.jwt_secret is None:
        return None
    secret = settings.jwt_secret.get_secret_value()
    return secret, secret


def tokens_enabled(settings: Settings) -> bool:
    """Whether this server issues and accepts JWTs."""
    return _keys(settings) is not None


def require_token_login(settings: Settings) -> tuple[str | bytes, str | bytes]:
    """The token keys; TokenLoginOff, saying what to set, when this server has none."""
    keys = _keys(settings)
    if keys is None:
        raise TokenLoginOff(
            "token login is off on this server: set JWT_SECRET (or JWT_ALGORITHM=RS256 with JWT_PRIVATE_KEY_FILE and "
            "JWT_PUBLIC_KEY_FILE); signing in at /login and API keys in X-API-Key still work"
        )
    return keys


# Who issues the tokens and whom they are for: a token signed with the same key for another purpose is refused.
TOKEN_ISSUER = "customer-segmentation"
TOKEN_AUDIENCE = "customer-segmentation-api"
# The claim holding the user's credentials version when the token was issued (app/db/tables.py User).
VERSION_CLAIM = "ver"


def issue_token(settings: Settings, *, subject: str, email: str, scopes: list[str], version: int) -> tuple[str, int]:
    """A signed JWT for a user (under their credentials `version`) and its lifetime in seconds; TokenLoginOff without
    a key."""
    keys = require_token_login(settings)
    now = datetime.now(UTC)
    claims = {
        "iss": TOKEN_ISSUER,
        "aud": TOKEN_AUDIENCE,
        VERSION_CLAIM: version,
        "sub": subject,
        "email": email,
        "scope": " ".join(scopes),
        "iat": now,
        "exp": now + timedelta(seconds=settings.jwt_ttl_seconds),
    }
    return jwt.encode(claims, keys[0], algorithm=settings.jwt_algorithm), settings.jwt_ttl_seconds


def read_token(settings: Settings, token: str) -> dict:
    """The claims of a valid token; SignInRequired when it is expired, tampered, signed otherwise, or unsigned."""
    keys = _keys(settings)
    if keys is None:
        raise SignInRequired("bearer tokens are not accepted on this server: token login is off (no JWT_SECRET)")
    try:
        # One algorithm only: a token signed with another one (or `alg: none`) is refused.
        return jwt.decode(
            token,
            keys[1],
            algorithms=[settings.jwt_algorithm],
            audience=TOKEN_AUDIENCE,
            issuer=TOKEN_ISSUER,
            options={"require": ["exp", "iat", "sub", "iss", "aud", VERSION_CLAIM]},
        )
    except jwt.ExpiredSignatureError:
        raise SignInRequired("the bearer token has expired: get a new one from /api/v1/auth/token") from None
    except jwt.InvalidTokenError:
        raise SignInRequired("the bearer token is not valid: get a new one from /api/v1/auth/token") from None
