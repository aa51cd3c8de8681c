"""An uploaded file kept between the two steps of creating a segmentation on /models: profile, then create.

Each upload sits in its own folder under a private (0700) root, named by a random token and bound to the browser
that sent it (a digest of its form cookie) and to the admin key id that was checked when it arrived. Uploads are
deleted once used, when they expire, and oldest first past a count, so the folder never grows without bound.
"""

import hashlib
import hmac
import json
import os
import re
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from app.core.errors import AccessDenied, no_space_as
from app.web.uploads import NO_SPACE_FOR_UPLOAD, Upload

# Beside the training jobs (Settings.job_root): shared by every worker that shares the model folder, so step 2 finds
# step 1's upload on any of them, and not a fixed name in the system temporary folder that another user could claim.
FOLDER = "pending-uploads"
DATA_FILE = "upload.csv"
META_FILE = "meta.json"
# A few admins at a time create segmentations; past this many, the oldest upload goes.
MAX_KEPT = 20
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
EXPIRED = "this upload has expired or belongs to another browser: upload the file again"


@dataclass(frozen=True, slots=True)
class PendingUpload:
    """A kept upload: its token, file, original base name and the admin key id that sent it."""

    token: str
    path: Path
    name: str
    key_id: str


def _owner(cookie: str) -> str:
    return hashlib.sha256(cookie.encode()).hexdigest()


def root_of(job_root: Path) -> Path:
    """Where pending uploads live for a jobs folder (the job store's pruning skips it: not a job id)."""
    return job_root / FOLDER


def _root(root: Path) -> Path:
    """The root folder, created private to this user (other users of the host cannot list or read it)."""
    with no_space_as(NO_SPACE_FOR_UPLOAD):
        root.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(root, 0o700)
    return root


def purge(root: Path, *, max_age_seconds: int, keep_at_most: int = MAX_KEPT) -> None:
    """Delete expired uploads, then the oldest past `keep_at_most`."""
    if not root.is_dir():
        return
    now = time.time()
    folders = []
    for folder in root.iterdir():
        try:
            modified = folder.stat().st_mtime
        except OSError:
            continue
        if now - modified > max_age_seconds:
            shutil.rmtree(folder, ignore_errors=True)
        else:
            folders.append((modified, folder))
    for _, folder in sorted(folders)[: max(0, len(folders) - keep_at_most)]:
        shutil.rmtree(folder, ignore_errors=True)


def keep(upload: Upload, *, root: Path, cookie: str, key_id: str, max_age_seconds: int) -> str:
    """Move an upload into its own folder and return its token (the upload's temporary file is consumed)."""
    purge(root, max_age_seconds=max_age_seconds, keep_at_most=MAX_KEPT - 1)
    token = secrets.token_urlsafe(24)
    folder = _root(root) / token
    try:
        with no_space_as(NO_SPACE_FOR_UPLOAD):
            folder.mkdir(mode=0o700)
            shutil.move(upload.path, folder / DATA_FILE)
            meta = {"owner": _owner(cookie), "key_id": key_id, "name": upload.name}
            (folder / META_FILE).write_text(json.dumps(meta), encoding="utf-8")
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        upload.discard()
        raise
    return token


def find(root: Path, token: str | None, *, cookie: str, max_age_seconds: int) -> PendingUpload:
    """The upload kept under `token` for this browser; AccessDenied when there is none, or it is not theirs."""
    if token is None or not _TOKEN.match(token):
        raise AccessDenied(EXPIRED)
    folder = root / token
    try:
        meta = json.loads((folder / META_FILE).read_text(encoding="utf-8"))
        fresh = time.time() - folder.stat().st_mtime <= max_age_seconds
    except (OSError, ValueError):
        raise AccessDenied(EXPIRED) from None
    if not fresh or not hmac.compare_digest(str(meta.get("owner", "")), _owner(cookie)):
        raise AccessDenied(EXPIRED)
    path = folder / DATA_FILE
    if not path.is_file():
        raise AccessDenied(EXPIRED)
    return PendingUpload(token=token, path=path, name=str(meta.get("name") or "customers"), key_id=str(meta["key_id"]))


def discard(root: Path, token: str) -> None:
    """Delete a kept upload (safe to call twice)."""
    if _TOKEN.match(token):
        shutil.rmtree(root / token, ignore_errors=True)
