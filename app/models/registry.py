"""The models the service can serve: the versions on disk, the active one, and why none is ready."""

import logging
import time
from dataclasses import dataclass, field
from pathlib import Path

from app.core.errors import ModelNotReady, SegmentationError, UnknownModelVersion
from app.models.artifacts import load_model, model_exists
from app.models.model import SegmentationModel
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)


@dataclass
class ModelRegistry:
    """Knows the model folder and the active model; hands out the active model or a requested version."""

    model_dir: Path
    active: SegmentationModel | None = None
    reason: str | None = None
    load_seconds: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def ready(self) -> bool:
        """True when predictions can be served."""
        return self.active is not None

    def get(self, version: str | None = None) -> SegmentationModel:
        """The active model, or the given version; ModelNotReady or UnknownModelVersion otherwise."""
        if self.active is None:
            raise ModelNotReady(f"the model is not loaded: {self.reason}")
        if version is not None and version != self.active.version:
            raise UnknownModelVersion(f"no model version {version!r}; the active version is {self.active.version}")
        return self.active

    def versions(self) -> list[SegmentationModel]:
        """Every loadable version, newest first."""
        return [self.active] if self.active is not None else []

    @classmethod
    def open(cls, model_dir: Path, *, auto_train: bool, data_path: Path, processed_dir: Path) -> "ModelRegistry":
        """Start-up: train the bundled-data model first when none exists and that is allowed, then load."""
        registry = cls(model_dir)
        if auto_train and not model_exists(model_dir):
            try:
                train_default_model(model_dir, data_path=data_path, processed_dir=processed_dir)
            except SegmentationError as exc:
                registry._not_ready(f"the default model could not be trained: {exc.message}")
                return registry
            except OSError as exc:
                registry._not_ready(f"the default model could not be saved: {exc.strerror or exc}")
                return registry
        return registry.load()

    def load(self) -> "ModelRegistry":
        """Load the active model; on failure keep the reason (never raises, so the app always starts)."""
        try:
            started = time.perf_counter()
            model = load_model(self.model_dir)
            self.load_seconds = time.perf_counter() - started
        except SegmentationError as exc:
            self._not_ready(exc.message)
            return self
        except OSError as exc:
            self._not_ready(f"the model folder could not be read: {exc.strerror or exc}")
            return self
        self.active, self.reason = model, None
        logger.info("model %s loaded in %.3f s (%d segments)", model.version, self.load_seconds, model.n_clusters)
        return self

    def _not_ready(self, reason: str) -> None:
        self.active, self.reason = None, reason
        logger.error("model not loaded, the service is not ready: %s", reason)


def train_default_model(model_dir: Path, *, data_path: Path, processed_dir: Path) -> None:
    """Train the bundled-data model once, even when several workers start at the same moment."""
    from app.models.training import train  # training pulls in pandas and scikit-learn; serving does not

    with exclusive_lock(model_dir.parent / f".{model_dir.name}.lock"):
        if model_exists(model_dir):
            return
        logger.info("no model in %s: training the default model from %s", model_dir, data_path)
        started = time.perf_counter()
        train(data_path, output_dir=model_dir, processed_dir=processed_dir)
        logger.info("default model trained in %.2f s", time.perf_counter() - started)
