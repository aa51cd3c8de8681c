"""Checks of single setting values that need more than a type: URLs, addresses and folders, read without quoting them.

Apart from app/core/config.py so that the settings class stays one list of knobs; each function answers one question
and never raises.
"""

import os
import re
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

# A host name: dot-separated labels of letters, digits and inner hyphens (RFC 1123), and underscores, which compose
# service names may hold.
_HOST_NAME = re.compile(r"^(?!-)[A-Za-z0-9_-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9_-]{1,63}(?<!-))*$")


def hosts_with_ports(uri: str) -> bool:
    """Whether every host of a storage URL reads as host:port, as limits wants."""
    # limits parses the hosts after the credentials the same way and quotes the whole URL, password and all, when
    # one is not host:port (and urllib quotes the netloc in some of its errors): checked first, quoting nothing.
    try:
        netloc = urlsplit(uri).netloc
        listed = netloc[netloc.find("@") + 1 :]
        hosts = [urlsplit(f"redis://{host.strip()}") for host in listed.split(",")] if listed else []
        return all(host.hostname is not None and host.port is not None for host in hosts)
    except ValueError:
        return False


def writable_folder(path: Path) -> bool:
    """Whether `path` is, or can be made as, a folder this process writes: its nearest existing part decides."""
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    return existing.is_dir() and os.access(existing, os.W_OK | os.X_OK)


def listen_address(value: str) -> bool:
    """Whether `value` is an IP address or a host name a server can listen on (no scheme, port or spaces)."""
    try:
        ip_address(value)
    except ValueError:
        return bool(_HOST_NAME.match(value))
    return True


def database_url_problem(url: str) -> str | None:
    """What makes a database URL unusable (a port, a password character left unencoded), or None; never quotes it."""
    # Spaces are left alone: a SQLite file's folder may have one.
    if not url.isprintable():
        return "it holds a line break or a control character; the URL is not shown"
    if url.startswith("sqlite"):
        return None  # a file: no host or port, and no need for SQLAlchemy in every command that reads the settings
    from sqlalchemy.engine import make_url  # only a server's URL needs SQLAlchemy's parser

    try:
        parsed = make_url(url)
        port = parsed.port
    except (ValueError, TypeError):  # a port that is not a number: SQLAlchemy's message quotes it
        return "its port is not a number from 1 to 65535; the URL is not shown"
    if port is not None and not 1 <= port <= 65_535:
        return "its port is not a number from 1 to 65535; the URL is not shown"
    if parsed.host and not listen_address(parsed.host):
        # An @ in the password leaves the rest of it in the host, which the driver then quotes in its errors.
        return "its host is not a host name (in the password, write @ as %40, : as %3A, / as %2F); the URL is not shown"
    return None


def with_password(url: str, password: str) -> str:
    """A server's database `url` with `password` quoted in; ValueError, naming DATABASE_PASSWORD, where it cannot go."""
    if url.startswith("sqlite"):
        raise ValueError("DATABASE_PASSWORD is for a PostgreSQL DATABASE_URL: a SQLite file takes none")
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    # The same password in both is one password: a training job's process inherits DATABASE_PASSWORD beside the URL
    # the server passes it, which already holds it.
    if parsed.password is not None and parsed.password != password:
        raise ValueError("DATABASE_URL holds another password: give it there or in DATABASE_PASSWORD, not both")
    # SQLAlchemy writes a password only after a user name: without one it would drop the password without a word.
    if not parsed.username:
        raise ValueError("DATABASE_URL names no user for DATABASE_PASSWORD: write postgresql+psycopg://user@host/db")
    return parsed.set(password=password).render_as_string(hide_password=False)
