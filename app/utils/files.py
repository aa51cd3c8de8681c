"""Files replaced whole: a reader sees the old content or the new one, never half of either."""

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO


@contextmanager
def atomic_replace(target: Path, *, fsync: bool = False) -> Iterator[BinaryIO]:
    """A binary handle on a temporary file beside `target`, renamed over it when the block ends without an error.

    On any error (a full disk included) the temporary file is removed and `target` is left as it was.
    """
    handle, name = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    partial = Path(name)
    try:
        with os.fdopen(handle, "wb") as sink:
            yield sink
            if fsync:
                sink.flush()
                os.fsync(sink.fileno())
        os.replace(partial, target)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        if exc.filename is None and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            # A failed write names no file: the one it was for is the target, which the caller's message can name.
            raise OSError(exc.errno, exc.strerror, str(target)) from None
        raise
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
