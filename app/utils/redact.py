"""Credentials hidden in text bound for a log: a URL's password, a connection string's `password=`."""

import re

REDACTED = "***"
# The password of a user:password@ part, in a URL (postgresql+psycopg://app:s3cret@db/segments) or without its
# scheme, as libpq quotes a connection string it cannot read. Greedy up to the last "@" before a space: a password
# holding an unencoded "@" is hidden whole, at worst with part of the host.
_URL_PASSWORD = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s\"':/?#@]*:|[^\s\"':/?#@]+:(?!//))[^\s]*@")
# password=… in a libpq connection string (host=db user=app password=s3cret), quoted or not.
_KEYWORD_PASSWORD = re.compile(r"(?i)\b(?P<head>password\s*=\s*)(?:'(?:[^'\\]|\\.)*'|\"[^\"]*\"|[^\s,;)]+)")


def scrub_credentials(text: str) -> str:
    """`text` with every URL's password and every `password=` value replaced by ***."""
    if "@" not in text and "=" not in text:  # the common case: nothing either pattern could match
        return text
    text = _URL_PASSWORD.sub(lambda match: f"{match['head']}{REDACTED}@", text)
    return _KEYWORD_PASSWORD.sub(lambda match: f"{match['head']}{REDACTED}", text)
