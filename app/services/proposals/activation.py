"""Activating a proposal's candidate, only over the version it was trained from."""

from typing import Any

from app.core.errors import VersionConflict
from app.models.versions.store import VersionStore
from app.services.lifecycle import activate_locked


def activate_over_base(
    *, store: VersionStore, version: str, base_version: str, reason: str, key: str | None
) -> dict[str, Any]:
    """Activate `version` only while `base_version` is still the active one, under the versions folder's lock (so no
    activation can come between the check and the switch); VersionConflict (409) otherwise. Returns the history
    entry."""
    # The store's lock is not re-entrant, so its locked steps are used here rather than store.activate.
    with store.changing():
        active = store.active_version()
        if active != base_version:
            raise VersionConflict(f"version {active} was activated since this candidate was trained")
        return activate_locked(store=store, version=version, reason=reason, key=key)
