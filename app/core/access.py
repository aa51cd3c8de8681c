"""Who may read operational endpoints: a client network from settings, or a valid admin key."""

import hmac
from ipaddress import ip_address

from app.core.config import Settings
from app.core.errors import AccessDenied


def _in_allowed_network(client: str, settings: Settings) -> bool:
    try:
        address = ip_address(client)
    except ValueError:
        return False
    return any(address in network for network in settings.metrics_allowed_networks)


def _valid_admin_key(api_key: str | None, settings: Settings) -> bool:
    # Compare against every key in constant time, so timing does not tell which prefix matched.
    offered = (api_key or "").encode()
    matches = [hmac.compare_digest(offered, key.get_secret_value().encode()) for key in settings.admin_api_keys]
    return bool(api_key) and any(matches)


def require_metrics_access(*, client: str, api_key: str | None, settings: Settings) -> None:
    """Allow a client in METRICS_ALLOWED_NETWORKS or holding an admin key; refuse anyone else with 403."""
    if _in_allowed_network(client, settings) or _valid_admin_key(api_key, settings):
        return
    raise AccessDenied(
        "metrics are only served to the networks in METRICS_ALLOWED_NETWORKS or with an admin key in X-API-Key"
    )
