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
