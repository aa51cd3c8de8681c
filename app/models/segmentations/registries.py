"""The model registry of every segmentation: `default`'s is opened at start-up, the others when first asked for."""

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.errors import SegmentationError
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import DEFAULT_NAME, SegmentationSpec
from app.models.versions.registry import ModelRegistry
from app.models.versions.store import VersionStore

logger = logging.getLogger(__name__)


@dataclass
class Segmentations:
    """Each segmentation's spec and registry; a segmentation deleted by another process disappears here too."""

    catalog: SegmentationCatalog
    default: ModelRegistry
    signing_key: bytes | None = None
    # Told of every change of a segmentation's served model: (segmentation, version, previous, load seconds).
    on_change: Callable[[str, str | None, str | None, float | None], None] | None = None
    _others: dict[str, ModelRegistry] = field(default_factory=dict)
    _specs: dict[str, SegmentationSpec] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def names(self) -> list[str]:
        """Every segmentation's name, `default` first."""
        return self.catalog.names()

    def spec(self, name: str) -> SegmentationSpec:
        """A segmentation's spec (cached: a spec never changes once created); UnknownSegmentation otherwise."""
        spec = self._specs.get(name)
        if spec is None:
            spec = self.catalog.get(name)
            self._specs[name] = spec
        return spec

    def registry(self, name: str) -> ModelRegistry:
        """A segmentation's registry, opened (and its active version loaded) the first time it is asked for."""
        if name == DEFAULT_NAME:
            return self.default
        registry = self._others.get(name)
        if registry is not None:
            return registry
        self.spec(name)  # UnknownSegmentation before any folder is touched
        with self._lock:
            registry = self._others.get(name)
            if registry is None:
                store = VersionStore(self.catalog.folder(name), signing_key=self.signing_key)
                try:
                    store.prepare()
                except OSError as exc:
                    logger.warning("housekeeping of segmentation %s was skipped: %s", name, exc)
                hint = (
                    f"train one with POST /api/v1/segmentations/{name}/models or "
                    f"`python -m app.cli train --segmentation {name}`"
                )
                activate = (
                    f"activate one on the Models page (/models?segmentation={name}) or with "
                    f"POST /api/v1/segmentations/{name}/models/{{version}}/activate"
                )
                publish = self.on_change
                registry = ModelRegistry(
                    store,
                    train_hint=hint,
                    activate_hint=activate,
                    empty_is_normal=True,
                    segmentation=name,
                    on_change=(lambda *change, name=name: publish(name, *change)) if publish else None,
                ).load()
                self._others[name] = registry
        return registry

    def opened(self) -> dict[str, ModelRegistry]:
        """Every registry opened so far, `default` included."""
        return {DEFAULT_NAME: self.default, **self._others}

    def forget(self, name: str) -> None:
        """Drop a deleted segmentation's registry and spec; what it served is published as served no more."""
        with self._lock:
            registry = self._others.pop(name, None)
            self._specs.pop(name, None)
        if registry is not None and registry.active is not None and self.on_change is not None:
            self.on_change(name, None, registry.active.version, None)

    def refresh(self) -> bool:
        """Poll every opened registry's ACTIVE pointer; drop segmentations deleted meanwhile. True if any changed."""
        changed = self.default.refresh()
        for name in {*self._others, *self._specs} - {DEFAULT_NAME}:
            if not self._same(name):
                self.forget(name)
                changed = True
            elif (registry := self._others.get(name)) is not None:
                changed = registry.refresh() or changed
        return changed

    def _same(self, name: str) -> bool:
        """Whether a known segmentation is still the one on disk: not deleted, nor deleted and created again."""
        known = self._specs.get(name)
        try:
            current = self.catalog.get(name)
        except SegmentationError:
            return False
        return known is None or current.created_at == known.created_at

    def require(self, name: str) -> SegmentationSpec:
        """The spec of a segmentation that exists: no disk access once known (the poll drops deleted ones)."""
        return self.spec(name)
