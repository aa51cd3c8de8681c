"""Domain errors: raised by models and services, mapped to HTTP in one handler."""


class SegmentationError(Exception):
    """Base class of every error this project raises on purpose."""

    status_code = 500
    error_type = "segmentation_error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidDataset(SegmentationError):
    """The customer table cannot be used for training."""

    status_code = 422
    error_type = "invalid_dataset"


class InvalidRequest(SegmentationError):
    """A request that passed schema validation but cannot be served as asked."""

    status_code = 422
    error_type = "invalid_request"


class ArtifactError(SegmentationError):
    """Saved model artifacts are missing, tampered with or unreadable."""

    status_code = 503
    error_type = "model_unavailable"


class ModelNotReady(SegmentationError):
    """No usable model is loaded, so predictions cannot be served."""

    status_code = 503
    error_type = "model_not_ready"


class UnknownSegment(SegmentationError):
    """A segment id that the loaded model does not have."""

    status_code = 404
    error_type = "unknown_segment"


class UnknownModelVersion(SegmentationError):
    """A model version that the registry does not have."""

    status_code = 404
    error_type = "unknown_model_version"


class DatabaseUnavailable(SegmentationError):
    """The prediction log database cannot be read right now."""

    status_code = 503
    error_type = "database_unavailable"
