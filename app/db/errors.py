"""What a database failure says in the server's log: its class and the driver's reason, with no credentials in it.

It reads SQLAlchemy's errors without importing SQLAlchemy: the CLI scores through services that import this and
never loads it.
"""

from app.utils.redact import scrub_credentials
from app.utils.text import clip

MAX_REASON_CHARS = 200


def db_error_reason(exc: BaseException) -> str:
    """`ClassName: reason`, the reason being the driver's own message (SQLAlchemy's `orig`): its first line, with
    credentials scrubbed, cut to MAX_REASON_CHARS; the class name alone when there is no message.

    Never SQLAlchemy's own rendering of the error, which adds the statement and its parameters (customers' data);
    the first line leaves out PostgreSQL's DETAIL line, which quotes the row a constraint refused.
    """
    orig = getattr(exc, "orig", None)
    source = orig if orig is not None else exc
    message = str(source.args[0]) if source.args and isinstance(source.args[0], str) else str(source)
    first = next((line.strip() for line in message.splitlines() if line.strip()), "")
    # Scrubbed whole, then cut: a cut could leave a password without the "@" that marks it.
    reason = clip(scrub_credentials(" ".join(first.split())), MAX_REASON_CHARS)
    return f"{type(exc).__name__}: {reason}" if reason else type(exc).__name__
