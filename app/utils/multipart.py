"""What went wrong in a multipart form that could not be read, said so the sender can fix it."""

from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import DEFAULT_MAX_HEADER_SIZE
from starlette.formparsers import MultiPartException

# A part's header line is `Content-Disposition: form-data; name="file"; filename="..."`: what is left for the name.
MAX_FILENAME_CHARS = DEFAULT_MAX_HEADER_SIZE - 128


def multipart_problem(exc: MultiPartException) -> str:
    """The reason a form could not be read: a too long part header (a file name, most often) named as such."""
    cause = exc.__cause__
    if isinstance(cause, MultipartParseError) and "header size" in str(cause):
        return (
            f"a header of one of the form's parts is longer than {DEFAULT_MAX_HEADER_SIZE:,} bytes, most likely "
            f"because the file's name is too long: rename the file to at most {MAX_FILENAME_CHARS:,} characters"
        )
    return exc.message
