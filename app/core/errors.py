"""Domain errors: raised by models and services, mapped to HTTP in one handler."""

import errno
from collections.abc import Iterator
from contextlib import contextmanager


class SegmentationError(Exception):
    """Base class of every error this project raises on purpose."""

    status_code = 500
    error_type = "segmentation_error"
    # What an HTML error page says instead of `message`, when that speaks of API routes a page reader has no use for.
    page_message: str | None = None
    # Words of `page_message` to link, and the name of the page route they name ("Runs page", "runs_page").
    page_link: tuple[str, str] | None = None

    def __init__(self, message: str, *, local_message: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        # What this machine's own user is told (the CLI, a job's log, the server's log): it may name paths that
        # `message`, which can reach API clients, must not.
        self.local_message = local_message or message

    @property
    def headers(self) -> dict[str, str] | None:
        """Response headers this error calls for (none by default)."""
        return None


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


class NotTrainedYet(ModelNotReady):
    """A segmentation created but never trained: nothing to serve until its first version is trained."""

    def __init__(self, segmentation: str, hint: str) -> None:
        super().__init__(f"segmentation {segmentation} has no trained version yet: {hint}")
        self.segmentation = segmentation


class NoActiveVersion(ModelNotReady):
    """A segmentation with trained versions, none of them active: nothing to serve until one is activated."""

    def __init__(self, segmentation: str, hint: str) -> None:
        super().__init__(f"segmentation {segmentation} has versions, but no model version is active: {hint}")
        self.segmentation = segmentation


class UnknownSegment(SegmentationError):
    """A segment id that the loaded model does not have."""

    status_code = 404
    error_type = "unknown_segment"


class UnknownModelVersion(SegmentationError):
    """A model version that the registry does not have."""

    status_code = 404
    error_type = "unknown_model_version"


class MalformedBody(SegmentationError):
    """A request body that cannot be read as JSON: bad encoding, too deep, a huge number, a repeated key."""

    status_code = 400
    error_type = "malformed_json"


class UnsupportedMediaType(SegmentationError):
    """A body of a media type the endpoint does not take: not JSON for a JSON endpoint, not CSV for an upload."""

    status_code = 415
    error_type = "unsupported_media_type"


class UploadTooLarge(SegmentationError):
    """An uploaded file over the configured size limit."""

    status_code = 413
    error_type = "body_too_large"


class ModelStoreError(SegmentationError):
    """The versions folder cannot be written or holds something it should not."""

    status_code = 503
    error_type = "model_store_error"


class VersionConflict(SegmentationError):
    """The request conflicts with the state of the versions: the active one, an unusable one, a busy trainer."""

    status_code = 409
    error_type = "conflict"


class UnknownSegmentation(SegmentationError):
    """No segmentation has that name."""

    status_code = 404
    error_type = "unknown_segmentation"


class UnknownCampaign(SegmentationError):
    """No outcomes were reported for that campaign."""

    status_code = 404
    error_type = "unknown_campaign"


class SegmentationConflict(SegmentationError):
    """A segmentation with that name exists, or one cannot be deleted while it serves a version."""

    status_code = 409
    error_type = "segmentation_conflict"


class AdminKeyMissing(SegmentationError):
    """An admin route was called without an X-API-Key header."""

    status_code = 401
    error_type = "admin_key_missing"


class RepeatedCredential(SegmentationError):
    """A request carrying X-API-Key or Authorization more than once: which identity it means is unknowable."""

    status_code = 400
    error_type = "repeated_credential"


class AdminKeyRefused(SegmentationError):
    """The X-API-Key is not an admin key, or no admin keys are configured."""

    status_code = 403
    error_type = "admin_key_refused"


class UnknownJob(SegmentationError):
    """A training job id that is not on disk."""

    status_code = 404
    error_type = "unknown_job"


class UploadAborted(SegmentationError):
    """The client went away before its upload was complete."""

    status_code = 400
    error_type = "upload_aborted"


class UnknownResult(SegmentationError):
    """A labelled file that is not (or no longer) kept for download."""

    status_code = 404
    error_type = "not_found"


class AccessDenied(SegmentationError):
    """The caller may not use this endpoint from where it is, or without a valid key."""

    status_code = 403
    error_type = "forbidden"


class RateLimited(SegmentationError):
    """The caller sent more requests than its limit allows; it may try again after `retry_after` seconds."""

    status_code = 429
    error_type = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after

    @property
    def headers(self) -> dict[str, str]:
        """Retry-After, in whole seconds."""
        return {"Retry-After": str(self.retry_after)}


class DatabaseUnavailable(SegmentationError):
    """The prediction log database cannot be read right now."""

    status_code = 503
    error_type = "database_unavailable"


class StorageFull(SegmentationError):
    """The disk holding uploads or scored files is full: nothing was kept, and the request can be sent again."""

    status_code = 503
    error_type = "storage_full"


class TrainerUnavailable(SegmentationError):
    """A training job's process could not be started (no memory, too many processes): no job was started, and the
    request can be sent again."""

    status_code = 503
    error_type = "trainer_unavailable"


class ResultsFull(SegmentationError):
    """A labelled file larger than the space the /score page keeps for downloads (RESULTS_MAX_BYTES)."""

    status_code = 503
    error_type = "results_full"


def is_no_space(exc: BaseException) -> bool:
    """Whether an error is a full disk or an exhausted quota."""
    return isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT)


@contextmanager
def no_space_as(message: str, error: type[SegmentationError] = StorageFull) -> Iterator[None]:
    """Turn a full disk (ENOSPC, EDQUOT) inside the block into `error(message)`; other OS errors pass."""
    try:
        yield
    except OSError as exc:
        if not is_no_space(exc):
            raise
        raise error(message) from None


class UnknownSubscription(SegmentationError):
    """No notification subscription has this id."""

    status_code = 404
    error_type = "not_found"


class UnknownProposal(SegmentationError):
    """No retraining proposal has this id."""

    status_code = 404
    error_type = "not_found"
