"""Admin keys are checked in one place, the same way for admin routes and for /metrics."""

import pytest

from app.core.errors import AccessDenied, AdminKeyMissing, AdminKeyRefused
from app.core.security import check_admin_key, is_admin_key, key_id, require_metrics_access


def test_no_configured_key_closes_every_admin_route(make_settings):
    settings = make_settings(admin_api_keys=[])
    assert not is_admin_key(settings, "anything")
    assert not is_admin_key(settings, "")
    with pytest.raises(AdminKeyRefused, match="no admin keys are configured"):
        check_admin_key(settings, "anything")


def test_a_configured_key_is_accepted_and_named_by_its_id_only(make_settings):
    settings = make_settings(admin_api_keys=["first-admin-key-0123", "second-admin-key-0123"])
    assert is_admin_key(settings, "second-admin-key-0123")
    assert not is_admin_key(settings, "second-admin-key-012")
    assert not is_admin_key(settings, None)
    assert check_admin_key(settings, "first-admin-key-0123") == key_id("first-admin-key-0123")
    assert key_id("first-admin-key-0123").startswith("key-") and "first-admin" not in key_id("first-admin-key-0123")
    with pytest.raises(AdminKeyMissing):
        check_admin_key(settings, None)
    with pytest.raises(AdminKeyRefused, match="does not hold an admin key"):
        check_admin_key(settings, "wrong")


def test_metrics_are_for_allowed_networks_or_an_admin_key(make_settings):
    settings = make_settings(admin_api_keys=["ops-admin-key-0123"], metrics_allowed_networks=["10.0.0.0/8"])
    require_metrics_access(client="10.1.2.3", api_key=None, settings=settings)
    require_metrics_access(client="192.0.2.1", api_key="ops-admin-key-0123", settings=settings)
    for client, key in [("192.0.2.1", None), ("192.0.2.1", "wrong"), ("not-an-address", None)]:
        with pytest.raises(AccessDenied):
            require_metrics_access(client=client, api_key=key, settings=settings)
