"""What several commands share: the models folder, a segmentation's store, progress bars and keeping pandas out."""

import argparse
import contextlib
import importlib.abc
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.core.config import get_settings

# The catalog, stores and tqdm are imported when a command uses them: building a parser loads none of them.
if TYPE_CHECKING:
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.versions.registry import ModelRegistry


@contextlib.contextmanager
def disk_full_names(*places: tuple[str, Path]) -> Iterator[None]:
    """Turn a full disk (ENOSPC, EDQUOT) while the block writes into StorageFull naming what could not be written:
    `places` are (what it is, its path), the one holding the failed file's name when the error gives it. Exit 2, as
    the model folder's full disk and every refusal: one line that says what to do."""
    from app.core.errors import StorageFull, is_no_space

    try:
        yield
    except OSError as exc:
        if not is_no_space(exc):
            raise
        written = " or ".join(f"{what} '{path}'" for what, path in places)
        for what, path in places:
            if exc.filename and _inside(Path(exc.filename), path):
                file = Path(exc.filename)
                written = f"{what} '{path}'" if file == path else f"'{file}' in {what} '{path}'"
                break
        raise StorageFull(
            f"the disk is full: could not write {written}; free some space there or write elsewhere"
        ) from None


def _inside(path: Path, place: Path) -> bool:
    """Whether `path` is `place` or under it."""
    return path.resolve().is_relative_to(place.resolve())


def reason_text(text: str) -> str:
    """An argparse type: a reason as the API takes one, one line of visible text, for the histories it goes into."""
    from app.schemas.common import one_line

    try:
        return one_line(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_model_dir(parser: argparse.ArgumentParser, *, help: str = "models folder (default: MODEL_DIR)") -> None:
    """The `--model-dir` option: the models folder that holds every segmentation."""
    parser.add_argument("--model-dir", type=Path, default=None, help=help)


def model_dir_after_actions(actions: argparse._SubParsersAction, *, help: str) -> None:
    """`--model-dir` after a group's action too (`segmentations list --model-dir X`), where `score` takes it."""
    for parser in actions.choices.values():
        # SUPPRESS: left out after the action, the group's own --model-dir (or its default) stands.
        parser.add_argument("--model-dir", type=Path, default=argparse.SUPPRESS, help=help)


def models_folder(model_dir: Path | None) -> Path:
    """The models folder given (`--model-dir`) or MODEL_DIR, which must be a folder that exists."""
    from app.core.errors import InvalidRequest

    root = model_dir or get_settings().model_dir
    # A mistyped folder must not read as one with no versions or segmentations, nor be created by a change.
    if not root.is_dir():
        given = "--model-dir" if model_dir else "MODEL_DIR"
        state = "is not a folder" if root.exists() else "does not exist"
        raise InvalidRequest(f"the models folder '{root}' ({given}) {state}")
    return root


def catalog(model_dir: Path | None, *, creating: bool = False) -> "SegmentationCatalog":
    """The segmentations of the models folder given, or of MODEL_DIR; unless `creating`, the folder must exist."""
    from app.models.segmentations.catalog import SegmentationCatalog

    return SegmentationCatalog(model_dir or get_settings().model_dir if creating else models_folder(model_dir))


def registry(model_dir: Path | None, name: str) -> "ModelRegistry":
    """A segmentation's registry, its active version loaded (UnknownSegmentation when there is none by that name)."""
    from app.models.segmentations.spec import DEFAULT_NAME
    from app.models.versions.registry import ModelRegistry
    from app.models.versions.store import VersionStore

    segmentations = catalog(model_dir)
    segmentations.get(name)
    hint = f"train one with `python -m app.cli train --segmentation {name} --data FILE`"
    store = VersionStore(segmentations.folder(name), signing_key=get_settings().signing_key)
    activate = f"activate one with `python -m app.cli models --model-dir {store.root} activate VERSION`"
    # Named, so that an error says which segmentation has nothing to serve (the default's registry is unnamed).
    named = None if name == DEFAULT_NAME else name
    return ModelRegistry(store, train_hint=hint, activate_hint=activate, segmentation=named, log_not_ready=False).load()


def show_progress(quiet: bool) -> bool:
    """Progress bars on stderr unless --quiet: a log file or a CI job shows their last state too, as it always did."""
    return not quiet


# Stages over in a moment: the bar opens at the first long one (the RFM build, the k sweep, fitting).
QUICK_STAGES = frozenset({"reading", "cleaning"})


class TrainingBar:
    """A tqdm bar fed by training's progress events: the stage as its title, the k sweep (or rows) as its count."""

    def __init__(self, *, enabled: bool) -> None:
        self.enabled = enabled
        self._bar: Any = None

    def __call__(self, event: dict[str, Any]) -> None:
        if not self.enabled:
            return
        if self._bar is None and event.get("stage") in QUICK_STAGES:
            return  # a file refused while being read leaves one line of error, not a bar above it
        if self._bar is None:
            from tqdm import tqdm

            self._bar = tqdm(file=sys.stderr, desc="training", leave=False)
        stage = str(event.get("stage", ""))
        self._bar.set_description(stage.replace("_", " "))
        if "of" in event and "step" in event:
            self._bar.total = event["of"]
            self._bar.n = event["step"]
        elif "rows_read" in event:
            self._bar.total, self._bar.n = None, event["rows_read"]
        if "k" in event:
            self._bar.set_postfix(k=event["k"], refresh=False)
        self._bar.refresh()

    def close(self) -> None:
        """Remove the bar before the summary is printed."""
        if self._bar is not None:
            self._bar.close()


class _RefusePandas(importlib.abc.MetaPathFinder):
    """An import hook that makes `import pandas` fail."""

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"pandas is not loaded while scoring or building locally: {name}")


@contextlib.contextmanager
def without_pandas() -> Iterator[None]:
    """Keep pandas out of a local score or RFM build: pyarrow imports it (about 40 MB of the peak RSS, ~0.5 s) only
    to check whether the arrays it builds come from pandas, and the local engines never hand it any."""
    if "pandas" in sys.modules:  # already loaded (an in-process caller): nothing to save
        yield
        return
    finder = _RefusePandas()
    sys.meta_path.insert(0, finder)
    try:
        yield
    finally:
        sys.meta_path.remove(finder)


@contextlib.contextmanager
def database_session() -> Iterator[Any]:
    """A session on the configured database, brought up to date first as the server does at start; one that cannot
    be reached is DatabaseUnavailable (exit 2, said in one line)."""
    from sqlalchemy.exc import SQLAlchemyError

    from app.core.errors import DatabaseUnavailable
    from app.db.errors import db_error_reason
    from app.db.migrate import upgrade_database
    from app.db.session import create_db_engine, session_factory

    url = get_settings().database_url.get_secret_value()
    try:
        upgrade_database(url)
    except SQLAlchemyError as exc:
        raise DatabaseUnavailable(
            f"the database cannot be reached ({db_error_reason(exc)}); nothing was changed"
        ) from None
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def audit_change(action: str, target: str, detail: dict[str, Any] | None = None) -> None:
    """Put a change made from the command line in the audit trail, as `cli:<login>`; never fails the command.

    The database is brought up to date first, as the server does at start; one that cannot be reached costs a
    warning on stderr, not the change already made.
    """
    import getpass
    import logging

    from app.db.migrate import upgrade_database
    from app.db.session import create_db_engine, session_factory
    from app.services import audit

    try:
        login = getpass.getuser()
    except (KeyError, OSError):  # a container user with no name
        login = "unknown"
    url = get_settings().database_url.get_secret_value()
    try:
        upgrade_database(url)
    except Exception as exc:  # the change is made; only its record is lost, and said so
        logging.getLogger(__name__).warning("not in the audit trail (%s): %s on %s", type(exc).__name__, action, target)
        return
    engine = create_db_engine(url)
    try:
        audit.record(sessions=session_factory(engine), who=f"cli:{login}", action=action, target=target, detail=detail)
    finally:
        engine.dispose()
