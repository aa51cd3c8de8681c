"""Receive an uploaded customer file: stream it to a temporary file, enforcing the size limit as it arrives."""

import os
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from starlette.datastructures import Headers, UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import ClientDisconnect

from app.core.errors import InvalidRequest, UnsupportedMediaType, UploadAborted, UploadTooLarge, no_space_as
from app.utils.downloads import safe_name
from app.utils.multipart import multipart_problem
from app.web.form_fields import refuse_repeated_fields

_COPY_BYTES = 1024 * 1024
# The /score form's fields: its token, its options and a column field per feature (at most 8) fit with room to spare.
MAX_FORM_FIELDS = 20


@dataclass
class Upload:
    """An uploaded file on disk, its base name and any plain form fields that came with it."""

    path: Path
    name: str
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        """Delete the temporary file (safe to call twice)."""
        self.path.unlink(missing_ok=True)


def download_name(filename: str | None, default: str = "customers") -> str:
    """A safe base name for `<name>_segmented.csv`: the upload's name without folders or extension, any script."""
    stem = Path((filename or "").replace("\\", "/")).stem
    return safe_name(stem) or default


def _header_text(value: str | None) -> str | None:
    """A header's text as sent: headers arrive read as latin-1, and a client sending a name sends it as UTF-8."""
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"the upload is larger than the {limit:,} byte limit (MAX_UPLOAD_BYTES); split the file")


async def _counted(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    received = 0
    try:
        async for chunk in stream:
            received += len(chunk)
            if received > limit:
                raise _too_large(limit)
            yield chunk
    except ClientDisconnect:
        raise UploadAborted("the client disconnected before the upload was complete") from None


NO_SPACE_FOR_UPLOAD = "no space left on the server to receive the file; nothing was kept, try again later"


def _temporary() -> tuple[IO[bytes], Path]:
    with no_space_as(NO_SPACE_FOR_UPLOAD):
        handle, name = tempfile.mkstemp(prefix="upload-", suffix=".csv")
    return os.fdopen(handle, "wb"), Path(name)


async def receive_upload(headers: Headers, stream: AsyncIterator[bytes], *, limit: int) -> Upload:
    """Spool a text/csv body, or the `file` field of a multipart form, to a temporary file."""
    declared = headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    content_type = headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        return await _receive_form(headers, _counted(stream, limit))
    if content_type not in {"text/csv", "application/csv", "text/plain", "application/octet-stream"}:
        raise UnsupportedMediaType(
            "send the file as a text/csv body or as the 'file' field of a multipart form, "
            f"not '{content_type or 'none'}'"
        )
    file, path = _temporary()
    try:
        with no_space_as(NO_SPACE_FOR_UPLOAD), file:
            async for chunk in _counted(stream, limit):
                file.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Upload(path=path, name=download_name(_header_text(headers.get("x-filename"))))


async def _receive_form(headers: Headers, stream: AsyncIterator[bytes]) -> Upload:
    try:
        with no_space_as(NO_SPACE_FOR_UPLOAD):  # the parser spools the file to disk past 1 MB
            form = await MultiPartParser(headers, stream, max_files=1, max_fields=MAX_FORM_FIELDS).parse()
    except MultiPartException as exc:
        raise InvalidRequest(f"the multipart form could not be read: {multipart_problem(exc)}") from None
    try:
        refuse_repeated_fields(name for name, _ in form.multi_items())
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            found = ", ".join(f"'{key}'" for key in form) or "none"
            raise InvalidRequest(f"the form has no file in a field named 'file'; fields found: {found}")
        fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
        file, path = _temporary()
        try:
            with no_space_as(NO_SPACE_FOR_UPLOAD), file:
                upload.file.seek(0)
                while chunk := upload.file.read(_COPY_BYTES):
                    file.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        return Upload(path=path, name=download_name(upload.filename), fields=fields)
    finally:
        await form.close()
