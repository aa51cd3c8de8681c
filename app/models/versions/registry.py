"""The models the service can serve: the versions on disk, the active one, and why none is ready.

Once a verified model is loaded, a worker keeps serving it until another one is loaded and verified: a pointer
that names an unknown, empty, malformed or tampered version, or a read that fails, leaves the worker serving the
last verified model, degraded (`degraded` says why). It tries again when the pointer changes, and at every poll
after a read error (which may be transient: a network volume's hiccup).
"""

import asyncio
import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from app.core.errors import (
    ArtifactError,
    ModelNotReady,
    NoActiveVersion,
    NotTrainedYet,
    SegmentationError,
    UnknownModelVersion,
    VersionConflict,
)
from app.models.model import SegmentationModel
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.versions import challenger as challengers
from app.models.versions.challenger import Challenger
from app.models.versions.segment_edits import apply_edits, edits_stamp, read_edits
from app.models.versions.store import VersionStore
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

# Non-active versions kept loaded for `?model_version=` requests.
CACHED_VERSIONS = 4


@dataclass
class ModelRegistry:
    """Knows the versions folder and the active model; hands out the active model or a requested version."""

    store: VersionStore
    active: SegmentationModel | None = None
    reason: str | None = None
    # Why the active pointer is not what is served, while the last verified model is served instead.
    degraded: str | None = None
    load_seconds: float | None = None
    started_at: float = field(default_factory=time.monotonic)
    # Told of every change of the served model, in order: (version, the previous version, load seconds). The app
    # publishes it as metrics; this layer knows nothing of them.
    on_change: Callable[[str | None, str | None, float | None], None] | None = None
    # Told when serving the last verified model starts (with why) and ends (None), for the same purpose.
    on_fallback: Callable[[str | None], None] | None = None
    # What to do when there is no version at all, for the not-ready reason.
    train_hint: str = "run `python train_model.py` to create one"
    # What to do when versions exist but none is active, for NoActiveVersion.
    activate_hint: str = "activate one on the Models page (/models) or with POST /api/v1/models/{version}/activate"
    # A segmentation created a moment ago has no version yet: not an error to log, only a reason to give.
    empty_is_normal: bool = False
    # The not-ready line is the server's: a one-off reader (the CLI) says the reason itself, as its one error line.
    log_not_ready: bool = True
    # The name of a segmentation other than `default`: never trained, it says so by name (NotTrainedYet).
    segmentation: str | None = None
    # The version taking part of the traffic (or scoring beside it), loaded and verified; None on the hot path's
    # one check when there is none.
    challenger: Challenger | None = None
    _stamp: tuple[int, int, int] | None = None
    # The team's segment text (segment_edits.json) as last applied, and the active model as trained, without it.
    _edits_stamp: tuple[int, int, int] | None = None
    _generated: SegmentationModel | None = None
    _challenger_stamp: tuple[int, int, int] | None = None
    # The last load failed to read the folder: the next poll tries again though the pointer has not changed.
    _read_failed: bool = False
    _cache: "OrderedDict[str, SegmentationModel]" = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def model_dir(self) -> Path:
        """The versions folder."""
        return self.store.root

    @property
    def ready(self) -> bool:
        """True when predictions can be served."""
        return self.active is not None

    def get(self, version: str | None = None) -> SegmentationModel:
        """The active model, or the given version; ModelNotReady or UnknownModelVersion otherwise."""
        active = self.active  # read once: a swap may replace it while this request runs
        if version is None or (active is not None and version == active.version):
            if active is None:
                raise self._not_ready_error()
            return active
        cached = self._cache.get(version)
        if cached is not None:
            return cached
        try:
            model = apply_edits(self.store.load(version), read_edits(self.store.root))
        except UnknownModelVersion:
            raise UnknownModelVersion(f"no model version {version[:64]!r}") from None
        except ArtifactError as exc:
            raise VersionConflict(f"version {version} is unusable: {exc.message}") from None
        with self._lock:
            self._cache[version] = model
            while len(self._cache) > CACHED_VERSIONS:
                self._cache.popitem(last=False)
        return model

    def _not_ready_error(self) -> ModelNotReady:
        """Why nothing is served: a segmentation never trained, or trained with no version active, says so by name
        and how to fix it; anything else gives its reason."""
        versions = self.store.versions()
        if self.segmentation is not None and not versions:
            return NotTrainedYet(self.segmentation, self.train_hint)
        if versions and self.store.active_version() is None:
            return NoActiveVersion(self.segmentation or DEFAULT_NAME, self.activate_hint)
        return ModelNotReady(f"the model is not loaded: {self.reason}")

    def forget(self, version: str) -> None:
        """Drop a version from the cache (after it was deleted)."""
        with self._lock:
            self._cache.pop(version, None)

    def versions(self) -> list[dict[str, Any]]:
        """Every version on disk, newest first: its info, whether it is active, and why it is unusable if so."""
        active = self.store.active_version()
        entries = []
        for version in reversed(self.store.versions()):
            problem = self.store.check(version)
            try:
                info = self.store.info(version)
            except SegmentationError as exc:
                info, problem = {}, problem or exc.message
            entries.append(
                {
                    "version": version,
                    "info": info,
                    "active": version == active,
                    "usable": problem is None,
                    "reason": problem,
                }
            )
        return entries

    @classmethod
    def open(
        cls,
        model_dir: Path,
        *,
        auto_train: bool,
        data_path: Path,
        processed_dir: Path,
        signing_key: bytes | None = None,
        on_change: Callable[[str | None, str | None, float | None], None] | None = None,
        on_fallback: Callable[[str | None], None] | None = None,
    ) -> "ModelRegistry":
        """Start-up: migrate and tidy the folder, train the bundled-data model on a first run if allowed, load."""
        registry = cls(VersionStore(model_dir, signing_key=signing_key), on_change=on_change, on_fallback=on_fallback)
        store = registry.store
        try:
            store.prepare()
        except OSError as exc:
            # A read-only folder can still be served from; only housekeeping and migration need writes.
            logger.warning(
                "the model folder %s is not writable, so start-up housekeeping was skipped: %s", model_dir, exc
            )
            if (store.root / "model_info.json").is_file() and not store.versions():
                registry._not_ready(
                    f"the model folder '{store.root.name}' holds a model in the old single-folder layout but is "
                    f"read-only ({exc.strerror or type(exc).__name__}): make it writable once so it can be migrated"
                )
                return registry
        try:
            if auto_train and not store.ever_had_model():
                train_default_model(store, data_path=data_path, processed_dir=processed_dir)
        except SegmentationError as exc:
            if exc.local_message != exc.message:  # a path the readiness reason does not say: the log does
                logger.error("the default model could not be trained: %s", exc.local_message)
            message = exc.message.replace(str(data_path), data_path.name).replace(str(store.root), store.root.name)
            registry._not_ready(f"the default model could not be trained: {message}")
            return registry
        except OSError as exc:
            logger.error("the default model could not be saved in %s: %s", model_dir, exc)
            registry._not_ready(f"the default model could not be saved: {exc.strerror or type(exc).__name__}")
            return registry
        return registry.load()

    def load(self) -> "ModelRegistry":
        """Load the active version; on failure keep the last verified model, or the reason (never raises)."""
        with self._lock:
            self._stamp = self.store.pointer_stamp()
            self._read_failed = False
            model, problem = self._read_active()
            if model is None:
                self._failed(problem)
                return self
            previous = self.active.version if self.active else None
            self._generated, self.reason = model, None
            self._apply_edits_locked()
            # Under the lock, so two loads at once report their changes in the order they made them.
            if self.on_change is not None and model.version != previous:
                self.on_change(model.version, previous, self.load_seconds)
            if self.degraded is not None:
                self.degraded = None
                logger.warning("model %s loaded from the ACTIVE pointer: no longer serving a fallback", model.version)
                if self.on_fallback is not None:
                    self.on_fallback(None)
        # Again after every load: a challenger equal to the new champion is no challenger.
        self.refresh_challenger(force=True)
        if model.info.get("auto_trained"):
            logger.warning("serving model %s, trained automatically on the bundled synthetic data", model.version)
        logger.info("model %s loaded in %.3f s (%d segments)", model.version, self.load_seconds, model.n_clusters)
        return self

    def _read_active(self) -> tuple[SegmentationModel | None, str]:
        """The verified model the pointer names, or None and why not."""
        try:
            version = self.store.active_version()
            if version is None:
                hint = "" if self.store.versions() else f": {self.train_hint}"
                return None, f"no model version is active{hint}"
            started = time.perf_counter()
            model = self.store.load(version)
            self.load_seconds = time.perf_counter() - started
        except UnknownModelVersion:
            return None, f"the active version {version[:64]!r} is not on disk"
        except SegmentationError as exc:
            return None, exc.message
        except OSError as exc:
            self._read_failed = True
            logger.error("the active model version could not be read: %s", exc)
            return None, f"the active model version could not be read: {exc.strerror or type(exc).__name__}"
        return model, ""

    @property
    def generated(self) -> SegmentationModel | None:
        """The active model with the text training gave its segments, without the team's edits."""
        return self._generated

    def _apply_edits_locked(self) -> None:
        """Serve the active model with the team's current segment text (read after its stamp, so none is missed)."""
        stamp = edits_stamp(self.store.root)
        if stamp != self._edits_stamp:
            self._cache.clear()  # loaded with the previous edits; an activation alone keeps them
        self._edits_stamp = stamp
        edits = read_edits(self.store.root)
        # A registry given its model directly (tests, tools) has no generated one yet: that model is it.
        self._generated = self._generated or self.active
        if self._generated is not None:
            self.active = apply_edits(self._generated, edits)

    def refresh(self) -> bool:
        """Load the active version again when the pointer changed or a read failed (a stat otherwise); True if so.

        A change of the segment edits alone is applied to the model already loaded: nothing is read but that file.
        """
        if self.store.pointer_stamp() == self._stamp and not self._read_failed:
            edited = edits_stamp(self.store.root) != self._edits_stamp
            if edited:
                with self._lock:
                    self._apply_edits_locked()
            # New text reaches the challenger's answers too: it is taken again from the (cleared) cache.
            return self.refresh_challenger(force=edited) or edited
        previous = self.active.version if self.active else None
        self.load()
        if self.active is not None and self.active.version != previous:
            logger.info("switched the active model from %s to %s", previous, self.active.version)
        return True

    def refresh_challenger(self, *, force: bool = False) -> bool:
        """Load the challenger setting again when its file changed (a stat otherwise); True when what is served changed.

        A challenger that cannot be loaded and verified, or equals the champion, is not served: the champion takes
        every request, and the reason is logged.
        """
        current = challengers.stamp(self.store.root)
        if current == self._challenger_stamp and not force:
            return False
        self._challenger_stamp = current
        setting = challengers.read_setting(self.store.root)
        served, active = self.challenger, self.active
        if setting is None or active is None or setting["version"] == active.version:
            self.challenger = None
            return served is not None
        try:
            same = served is not None and served.version == setting["version"] and not force
            model = served.model if same else self.get(setting["version"])
        except SegmentationError as exc:
            logger.error("the challenger %s cannot be served; the champion takes every request: %s", setting, exc)
            self.challenger = None
            return served is not None
        self.challenger = Challenger(
            version=model.version,
            mode=setting["mode"],
            share=float(setting["share"]),
            set_at=str(setting.get("set_at") or ""),
            model=model,
            key_id=setting.get("key_id"),
        )
        logger.info("challenger %s (%s, share %g) loaded", model.version, setting["mode"], setting["share"])
        return served != self.challenger

    def _failed(self, problem: str) -> None:
        """Keep serving the last verified model (degraded) when there is one; else not ready, with the reason."""
        if self.active is None:
            self._not_ready(problem)
            return
        degraded = f"{problem}; serving the last verified version {self.active.version}"
        if degraded != self.degraded:
            # Once per problem, not once per poll: a read error is tried again every poll until it loads.
            logger.error("the ACTIVE pointer cannot be served: %s", degraded)
            if self.degraded is None and self.on_fallback is not None:
                self.on_fallback(degraded)
        self.degraded = degraded

    def _not_ready(self, reason: str) -> None:
        self.reason = reason
        if not self.log_not_ready:
            return
        if self.empty_is_normal and not self.store.versions():
            logger.info("no version to serve in %s yet: %s", self.store.root.name, reason)
            return
        logger.error("model not loaded, the service is not ready: %s", reason)


def train_default_model(store: VersionStore, *, data_path: Path, processed_dir: Path) -> None:
    """Train the bundled-data model on a first run, once, even when several workers start at the same moment."""
    from app.models.training import train  # training pulls in pandas and scikit-learn; serving does not

    store.root.mkdir(parents=True, exist_ok=True)
    # Its own lock: training takes the folder lock itself to activate, and flock does not nest.
    with exclusive_lock(store.root / ".first-run.lock"):
        if store.ever_had_model():
            return
        logger.warning(
            "no model has ever existed in %s: training one automatically on the bundled synthetic data %s",
            store.root,
            data_path,
        )
        started = time.perf_counter()
        result = train(
            data_path,
            output_dir=store.root,
            processed_dir=processed_dir,
            signing_key=store.signing_key,
            auto_trained=True,
        )
        logger.warning("default model %s trained in %.2f s", result.model.version, time.perf_counter() - started)


class Refreshable(Protocol):
    """A registry, or every segmentation's registries: something whose ACTIVE pointers can be polled."""

    def refresh(self) -> bool: ...


async def watch_active_pointer(registry: Refreshable, interval: float) -> None:
    """Poll the ACTIVE pointer(s) and swap in a newly activated version (loading runs in a thread)."""
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(registry.refresh)
        except Exception:  # a poller that dies would leave this worker on an old model forever
            logger.exception("checking the active model version failed; retrying")
