"""Where segmentations live: `default` at the top of the models folder, others under segmentations/<name>/.

Each segmentation's folder is a version store of its own (versions, ACTIVE, history.jsonl) plus segmentation.json,
its spec. Creating one stages the folder and renames it into place, and deleting renames it aside before removing
it, so a reader sees a segmentation whole or not at all; hosts that share the folder see the same catalog.
"""

import json
import logging
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from app.core.errors import SegmentationConflict, SegmentationError, UnknownSegmentation
from app.models.segmentations.spec import DEFAULT_NAME, NAME_PATTERN, SegmentationSpec, default_spec
from app.utils.files import atomic_replace
from app.utils.locking import exclusive_lock

logger = logging.getLogger(__name__)

SPEC_FILE = "segmentation.json"
FOLDER = "segmentations"
# Held while a segmentation is created or deleted, so two creators of one name (two workers, two hosts sharing the
# folder) cannot both check that it is free; a dot name is never a segmentation.
LOCK_FILE = ".lock"


class SegmentationCatalog:
    """The segmentations under one models folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @property
    def folder_of_others(self) -> Path:
        """The folder that holds every segmentation but `default`."""
        return self.root / FOLDER

    def folder(self, name: str) -> Path:
        """A segmentation's version store folder (it may not exist)."""
        if name == DEFAULT_NAME:
            return self.root
        if not NAME_PATTERN.fullmatch(name):
            raise UnknownSegmentation(f"no segmentation named {name[:40]!r}")
        return self.folder_of_others / name

    def names(self) -> list[str]:
        """`default`, then every other segmentation by name."""
        others = []
        if self.folder_of_others.is_dir():
            others = sorted(
                path.name
                for path in self.folder_of_others.iterdir()
                if NAME_PATTERN.fullmatch(path.name) and (path / SPEC_FILE).is_file()
            )
        return [DEFAULT_NAME, *(name for name in others if name != DEFAULT_NAME)]

    def get(self, name: str) -> SegmentationSpec:
        """A segmentation's spec; UnknownSegmentation when there is none by that name."""
        if name == DEFAULT_NAME:
            return default_spec()
        path = self.folder(name) / SPEC_FILE
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UnknownSegmentation(f"no segmentation named {name!r}") from None
        except (OSError, ValueError) as exc:
            raise SegmentationError(f"the spec of segmentation {name!r} cannot be read: {exc}") from None
        return SegmentationSpec.from_dict(data)

    def exists(self, name: str) -> bool:
        """Whether a segmentation has that name."""
        if name == DEFAULT_NAME:
            return True
        return NAME_PATTERN.fullmatch(name) is not None and (self.folder(name) / SPEC_FILE).is_file()

    def create(self, spec: SegmentationSpec) -> SegmentationSpec:
        """Write a new segmentation's folder whole; SegmentationConflict when the name is taken."""
        self.folder_of_others.mkdir(parents=True, exist_ok=True)
        with exclusive_lock(self.folder_of_others / LOCK_FILE):
            return self._create_locked(spec)

    def _create_locked(self, spec: SegmentationSpec) -> SegmentationSpec:
        """`create`, under the catalog's lock."""
        if self.exists(spec.name):
            raise SegmentationConflict(f"a segmentation named {spec.name!r} already exists")
        created = SegmentationSpec(
            spec.name,
            spec.kind,
            spec.features,
            spec.rfm,
            spec.description,
            datetime.now(UTC).isoformat(timespec="microseconds"),
        )
        folder = self.folder(spec.name)
        if folder.exists() and not (folder / SPEC_FILE).is_file():
            # Left without its spec (a version saved by a job of a deleted segmentation): not a segmentation. A folder
            # with a spec is one, created since the check by a server that does not take the lock: never removed.
            self._remove(folder)
        staging = Path(tempfile.mkdtemp(prefix=".creating-", dir=self.folder_of_others))
        try:
            with atomic_replace(staging / SPEC_FILE, fsync=True) as handle:
                handle.write(json.dumps(created.to_dict(), indent=2).encode())
            # rename() onto a folder that appeared meanwhile fails rather than merging: one creator wins.
            staging.rename(folder)
        except OSError as exc:
            shutil.rmtree(staging, ignore_errors=True)
            if self.exists(spec.name):
                raise SegmentationConflict(f"a segmentation named {spec.name!r} already exists") from None
            raise SegmentationError(f"the segmentation {spec.name!r} could not be created: {exc.strerror}") from None
        logger.info("created segmentation %s (%s)", spec.name, spec.kind)
        return created

    def delete(self, name: str) -> None:
        """Remove a segmentation and its versions (never `default`)."""
        if name == DEFAULT_NAME:
            raise SegmentationConflict("the default segmentation cannot be deleted")
        folder = self.folder(name)
        unknown = UnknownSegmentation(f"no segmentation named {name!r}")
        if not (folder / SPEC_FILE).is_file():
            raise unknown  # before the lock, which a read-only models folder could not take
        with exclusive_lock(self.folder_of_others / LOCK_FILE):
            # Checked again under the lock: of two deletes of one name, the second finds nothing, not a failed rename.
            if not (folder / SPEC_FILE).is_file():
                raise unknown
            self._remove(folder)
        logger.info("deleted segmentation %s", name)

    def _remove(self, folder: Path) -> None:
        """Rename a folder aside, then remove it: no reader sees it half gone."""
        trash = Path(tempfile.mkdtemp(prefix=".deleted-", dir=self.folder_of_others))
        folder.rename(trash / folder.name)
        shutil.rmtree(trash, ignore_errors=True)

    def tidy(self) -> None:
        """Start-up housekeeping: remove half-created and half-deleted folders left by a killed process."""
        if not self.folder_of_others.is_dir():
            return
        for path in self.folder_of_others.iterdir():
            if path.name.startswith((".creating-", ".deleted-")):
                shutil.rmtree(path, ignore_errors=True)
