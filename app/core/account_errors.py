"""Domain errors of accounts, sign-in and tokens (mapped to HTTP by the one handler, like app/core/errors.py)."""

from app.core.errors import SegmentationError


class SignInRequired(SegmentationError):
    """The request needs a signed-in user or a key, and carries none that is valid (expired, revoked, tampered)."""

    status_code = 401
    error_type = "authentication_required"

    @property
    def headers(self) -> dict[str, str]:
        """The challenge RFC 9110 asks a 401 to carry."""
        return {"WWW-Authenticate": "Bearer"}


class LoginFailed(SegmentationError):
    """Wrong email or password (the same answer for both), or a disabled account."""

    status_code = 401
    error_type = "login_failed"


class TokenLoginOff(SegmentationError):
    """Token login needs JWT_SECRET (or an RS256 key pair), and this server has none."""

    status_code = 503
    error_type = "token_login_off"


class UnknownAccount(SegmentationError):
    """A user or key id that does not exist (or belongs to someone else)."""

    status_code = 404
    error_type = "not_found"


class AccountConflict(SegmentationError):
    """A user with this email exists already."""

    status_code = 409
    error_type = "account_conflict"


class LastAdmin(SegmentationError):
    """The change would leave no active admin: nobody could manage users or keys afterwards."""

    status_code = 409
    error_type = "last_admin"


class WrongPassword(SegmentationError):
    """The current password given to change it is not the account's."""

    status_code = 403
    error_type = "wrong_password"
