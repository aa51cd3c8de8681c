"""Who may do what: admin keys checked in constant time, and who may read operational endpoints."""

import hashlib
import hmac
from ipaddress import ip_address

from app.core.config import Settings
from app.core.errors import AccessDenied, AdminKeyMissing, AdminKeyRefused


def is_admin_key(settings: Settings, key: str | None) -> bool:
    """Whether `key` is one of the configured admin keys (never true when none are configured)."""
    offered = (key or "").encode()
    # Compare with every key, in constant time, so timing tells nothing about which (or whether one) matched.
    matched = False
    for candidate in settings.admin_api_keys:
        matched |= hmac.compare_digest(offered, candidate.get_secret_value().encode())
    return bool(key) and matched


def key_id(key: str | None) -> str | None:
    """A short public id of an admin key (a hash prefix), for the history and logs; never the key itself."""
    if not key:
        return None
    return "key-" + hashlib.sha256(key.encode()).hexdigest()[:10]


def check_admin_key(settings: Settings, key: str | None) -> str:
    """The caller's key id when `key` is a configured admin key; 401 when missing, 403 when wrong or none set."""
    if not settings.admin_api_keys:
        raise AdminKeyRefused(
            "admin endpoints are disabled because no admin keys are configured: set ADMIN_API_KEYS "
            "(comma-separated) in the environment or .env and restart to enable them"
        )
    if not key:
        raise AdminKeyMissing("this endpoint needs an admin key in the X-API-Key header")
    if not is_admin_key(settings, key):
        raise AdminKeyRefused("the X-API-Key header does not hold an admin key")
    return key_id(key) or ""


def _in_allowed_network(client: str, settings: Settings) -> bool:
    try:
        address = ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allowed_networks)


def require_metrics_access(*, client: str, api_key: str | None, settings: Settings) -> None:
    """Allow a client in METRICS_ALLOWED_NETWORKS or holding an admin key; refuse anyone else with 403."""
    if _in_allowed_network(client, settings) or is_admin_key(settings, api_key):
        return
    raise AccessDenied(
        "metrics are only served to the networks in METRICS_ALLOWED_NETWORKS or with an admin key in X-API-Key"
    )


# What a browser says in Sec-Fetch-Site about a request from this site: its own pages, a sibling subdomain, or
# the user (the address bar, a bookmark).
_SAME_SITE_FETCHES = frozenset({"same-origin", "same-site", "none"})


def is_cross_site(*, origin: str | None, fetch_site: str | None, own_origin: str, allowed: list[str]) -> bool:
    """Whether a browser sent this request from another site (an origin in CORS_ORIGINS is trusted).

    Browsers set both headers themselves and a page cannot forge them; tools such as curl send neither, and pass.
    Sec-Fetch-Site is read first: behind a proxy that ends TLS, Origin says https while the app sees http.
    """
    if origin is not None and origin in allowed:
        return False
    if fetch_site is not None:
        return fetch_site.lower() not in _SAME_SITE_FETCHES
    return origin is not None and origin.lower() != own_origin.lower()
