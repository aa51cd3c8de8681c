"""The loaded model and its readiness, as the app holds it between requests."""

import logging
import time
from dataclasses import dataclass, field

from app.core.config import Settings
from app.core.errors import ModelNotReady, SegmentationError
from app.models.artifacts import load_model, model_exists
from app.models.segmenter import SegmentationModel
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)


@dataclass
class ModelState:
    """A loaded model, or the reason there is none."""

    model: SegmentationModel | None = None
    reason: str | None = None
    load_seconds: float | None = None
    started_at: float = field(default_factory=time.monotonic)

    @property
    def ready(self) -> bool:
        """True when predictions can be served."""
        return self.model is not None


def _train_default(settings: Settings) -> None:
    # Several workers may start at once: one trains, the others wait and then find the model.
    from app.models.training import train  # training pulls in pandas and scikit-learn; serving does not

    lock = settings.model_dir.parent / f".{settings.model_dir.name}.lock"
    with exclusive_lock(lock):
        if model_exists(settings.model_dir):
            return
        logger.info("no model in %s: training the default model from %s", settings.model_dir, settings.data_path)
        started = time.perf_counter()
        train(settings.data_path, output_dir=settings.model_dir, processed_dir=settings.processed_dir)
        logger.info("default model trained in %.2f s", time.perf_counter() - started)


def load_model_state(settings: Settings) -> ModelState:
    """Load the model (training the default first when allowed); never raises, so the app always starts."""
    state = ModelState()
    try:
        if settings.auto_train and not model_exists(settings.model_dir):
            _train_default(settings)
        started = time.perf_counter()
        state.model = load_model(settings.model_dir)
        state.load_seconds = time.perf_counter() - started
    except SegmentationError as exc:
        state.reason = exc.message
        logger.error("model not loaded, the service is not ready: %s", exc.message)
        return state
    except OSError as exc:
        state.reason = f"model folder {settings.model_dir} could not be read: {exc.strerror or exc}"
        logger.error("model not loaded, the service is not ready: %s", state.reason)
        return state
    logger.info(
        "model %s loaded in %.3f s (%d segments)", state.model.version, state.load_seconds, state.model.n_clusters
    )
    return state


def require_model(state: ModelState) -> SegmentationModel:
    """The loaded model, or ModelNotReady with the reason."""
    if state.model is None:
        raise ModelNotReady(f"the model is not loaded: {state.reason}")
    return state.model
