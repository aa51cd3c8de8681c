"""Set, show, stop and promote a segmentation's challenger; each change is written to the challenger history.

The setting lives beside the versions (app/models/versions/challenger.py), so every worker and host sees it at its
next poll; the API's functions also update this worker's registry at once.
"""

import logging
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import SQLAlchemyError

from app.core.errors import DatabaseUnavailable, InvalidRequest, VersionConflict
from app.models.model import SegmentationModel
from app.models.versions import challenger as challengers
from app.models.versions.registry import ModelRegistry
from app.services.lifecycle import MAX_REASON_LENGTH, activate_locked
from app.services.notifications.events import CHALLENGER_REPORT, emit_on

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

logger = logging.getLogger(__name__)

# What a change of the challenger is called in its history.
SET, STOPPED, PROMOTED = "set", "stopped", "promoted"


def show(*, registry: ModelRegistry, segmentation: str) -> dict[str, Any]:
    """The challenger setting (None when there is none), the champion, and the challenger history."""
    setting = challengers.read_setting(registry.store.root)
    served = registry.challenger
    return {
        "segmentation": segmentation,
        "champion": registry.active.version if registry.active else None,
        "challenger": None
        if setting is None
        else {key: setting.get(key) for key in ("version", "mode", "share", "set_at")},
        # False while this worker could not load it (the champion then takes every request).
        "served": served is not None and setting is not None and served.version == setting["version"],
        "history": challengers.read_history(registry.store.root)[-20:],
    }


def set_challenger(
    *, registry: ModelRegistry, segmentation: str, version: str, mode: str, share: float | None, key: str | None
) -> dict[str, Any]:
    """Make `version` the segmentation's challenger (404 unknown, 409 the champion or unusable, 422 bad share)."""
    if mode not in challengers.MODES:
        raise InvalidRequest(f"mode must be one of {', '.join(challengers.MODES)}, got {mode[:20]!r}")
    if mode == "split" and share is None:
        raise InvalidRequest("share is needed in split mode: the part of traffic the challenger takes, in (0, 1)")
    if share is not None and not 0 < share < 1:
        raise InvalidRequest(f"share must lie strictly between 0 and 1, got {share}")
    registry.store.folder(version)  # 404 for an unknown version
    registry.get()  # 503 when nothing is served: no champion to challenge
    candidate = registry.get(version)  # loaded and verified, before the lock: 409 when it is unusable
    with registry.store.lock():
        # Against the folder under its lock, not this worker's champion: another worker may have activated a version
        # (this one, even) or deleted this one since this worker last polled; an activation clears an equal
        # challenger under this lock, so one that comes after this write clears it.
        registry.store.folder(version)
        champion = _champion_in_folder(registry)
        _refuse_against(version=version, candidate=candidate, champion=champion)
        setting = {
            "version": version,
            "mode": mode,
            "share": 1.0 if share is None else share,
            "set_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "key_id": key,
        }
        challengers.write_setting(
            registry.store.root, setting, event=SET, reason=f"{mode} against {champion.version}", key=key
        )
    registry.refresh_challenger()
    return show(registry=registry, segmentation=segmentation)


def _champion_in_folder(registry: ModelRegistry) -> SegmentationModel:
    """The version ACTIVE names now (under the folder's lock), which this worker may not have loaded yet."""
    active = registry.store.active_version()
    if active is None:
        raise VersionConflict("no version is active any more: there is no champion to challenge")
    return registry.get(active)


def _refuse_against(*, version: str, candidate: SegmentationModel, champion: SegmentationModel) -> None:
    """409 when `version` is the champion, or answers other features than the champion."""
    if version == champion.version:
        raise VersionConflict(f"version {version} is the champion (the active version): choose another version")
    if candidate.features != champion.features:
        raise VersionConflict(
            f"version {version} uses the features {', '.join(candidate.features)} and the champion "
            f"{', '.join(champion.features)}: a challenger must answer the same requests"
        )


def _running(registry: ModelRegistry) -> dict[str, Any]:
    setting = challengers.read_setting(registry.store.root)
    if setting is None:
        raise VersionConflict("no challenger is running for this segmentation")
    return setting


def _still_running(registry: ModelRegistry, setting: dict[str, Any]) -> None:
    """409 unless the experiment read before the lock still runs (call under the folder's lock): the report was built
    for it, and one that was stopped, promoted or replaced meanwhile is not ended twice."""
    now = challengers.read_setting(registry.store.root)
    if now is None:
        raise VersionConflict(
            f"the challenger {setting['version']} was stopped or promoted while this request ran: nothing was changed"
        )
    if (now["version"], now.get("set_at")) != (setting["version"], setting.get("set_at")):
        raise VersionConflict(
            f"the challenger was replaced by {now['version']} (set at {now.get('set_at')}) while this request ran: "
            "nothing was changed"
        )


def _final_report(*, session: "Session | None", registry: ModelRegistry, segmentation: str) -> dict[str, Any] | None:
    """The agreement report as the challenger ends (None without a session; its error when the log is unreadable)."""
    if session is None:
        return None
    from app.services.challenger.report import report  # the report's imports are the report's: not on set or show

    try:
        return report(session=session, registry=registry, segmentation=segmentation)
    except DatabaseUnavailable as exc:
        return {"segmentation": segmentation, "error": exc.message}


def _announce(*, session: "Session | None", final: dict[str, Any] | None, setting: dict[str, Any], event: str) -> None:
    """Queue challenger.report with the final report, keyed by the experiment so it is written once."""
    if session is None or final is None:
        return
    payload = {"outcome": event, "version": setting["version"], "mode": setting["mode"], "report": final}
    key = f"{CHALLENGER_REPORT}:{final['segmentation']}:{setting['version']}:{setting.get('set_at')}"
    try:
        emit_on(session.connection(), event=CHALLENGER_REPORT, payload=payload, key=key)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        logger.warning("challenger.report for %s not written to the outbox", final["segmentation"], exc_info=True)


def stop(
    *, registry: ModelRegistry, segmentation: str, reason: str, key: str | None, session: "Session | None" = None
) -> dict[str, Any]:
    """Stop the challenger: the champion takes every request again (409 when none runs); challenger.report tells
    subscribers how it agreed."""
    setting = _running(registry)
    final = _final_report(session=session, registry=registry, segmentation=segmentation)
    with registry.store.lock():
        _still_running(registry, setting)
        challengers.write_setting(
            registry.store.root, None, event=STOPPED, reason=reason[:MAX_REASON_LENGTH] or "stopped", key=key
        )
    registry.refresh_challenger()
    _announce(session=session, final=final, setting=setting, event=STOPPED)
    return show(registry=registry, segmentation=segmentation)


def promote(
    *, registry: ModelRegistry, segmentation: str, reason: str, key: str | None, session: "Session | None" = None
) -> dict[str, Any]:
    """Activate the challenger (an activation in the version history) and clear it (in the challenger history), as
    activating it by hand would, but recorded as a promotion; challenger.report tells subscribers how it agreed."""
    setting = _running(registry)
    version = setting["version"]
    why = (reason or f"promoted challenger {version} ({setting['mode']})")[:MAX_REASON_LENGTH]
    final = _final_report(session=session, registry=registry, segmentation=segmentation)
    with registry.store.changing():
        # Checked again under the lock the activation takes: a stop that came while the report was built wins, and a
        # stopped experiment is never promoted.
        _still_running(registry, setting)
        entry = activate_locked(store=registry.store, version=version, reason=why, key=key, challenger_event=PROMOTED)
    registry.refresh()
    _announce(session=session, final=final, setting=setting, event=PROMOTED)
    return show(registry=registry, segmentation=segmentation) | {"activation": entry}
