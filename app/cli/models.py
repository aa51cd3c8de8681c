"""`python -m app.cli models list|show|activate|rollback|delete|history`: the version API on the local folder."""

import argparse
import errno
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from app.cli.shared import add_model_dir, audit_change, model_dir_after_actions, models_folder, reason_text
from app.core.config import Settings, get_settings
from app.services.training.runner import JobRunner

# The store, registry and lifecycle (numpy with them) are imported by the commands that use them: `run-job`, a
# training job's process, needs none of them to record that it is running.
if TYPE_CHECKING:
    from app.models.versions.registry import ModelRegistry
    from app.models.versions.store import VersionStore

VERSIONS_FOLDER = "versions folder (default: MODEL_DIR)"


def _store(args: argparse.Namespace, *, reading: bool = False) -> "VersionStore":
    from app.models.versions.store import VersionStore

    store = VersionStore(models_folder(args.model_dir), signing_key=get_settings().signing_key)
    try:
        store.prepare()
    except OSError as exc:
        # A listing reads a folder this user cannot write (a read-only mount, the server's files seen by another
        # user): its housekeeping, which takes the folder's lock, waits for a command that changes something.
        if not reading or exc.errno not in (errno.EACCES, errno.EPERM, errno.EROFS):
            raise
    return store


def _registry(args: argparse.Namespace) -> "ModelRegistry":
    from app.models.versions.registry import ModelRegistry

    # Not loaded: listings read the folder, and nothing is served from this process.
    return ModelRegistry(_store(args, reading=True))


def _list(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    listing = lifecycle.list_versions(registry=_registry(args))
    if not listing["versions"]:
        print("no model versions")
    for entry in listing["versions"]:
        metrics = entry["metrics"] or {}
        mark = "*" if entry["active"] else " "
        state = "" if entry["usable"] else f"  UNUSABLE: {entry['reason']}"
        silhouette = metrics.get("silhouette")
        print(
            f"{mark} {entry['version']}  k={entry['k']}  n={entry['n_samples']}  "
            f"silhouette={silhouette if silhouette is None else round(silhouette, 4)}  {entry['created']}{state}"
        )
    return 0


def _show(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    print(json.dumps(lifecycle.version_detail(registry=_registry(args), version=args.version), indent=2))
    return 0


def _activate(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    entry = lifecycle.activate_in_store(
        store=_store(args), version=args.version, reason=args.reason or "activated from the CLI", key="cli"
    )
    audit_change("version.activate", entry["to"], {"from": entry["from"], "model_dir": str(_store(args).root)})
    print(f"active: {entry['to']} (was {entry['from'] or 'none'})")
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    entry = lifecycle.rollback_in_store(store=_store(args), reason=args.reason, key="cli")
    audit_change("version.rollback", entry["to"], {"from": entry["from"], "model_dir": str(_store(args).root)})
    print(f"rolled back: {entry['to']} (was {entry['from'] or 'none'})")
    return 0


def _delete(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    lifecycle.delete_from_store(store=_store(args), version=args.version)
    audit_change("version.delete", args.version, {"model_dir": str(_store(args).root)})
    print(f"deleted {args.version}")
    return 0


def _history(args: argparse.Namespace) -> int:
    from app.services import lifecycle

    for entry in lifecycle.history(registry=_registry(args))["entries"]:
        # A first activation has no version before it, and one made without a key (CLI training) no key_id.
        key = f"  key={entry['key_id']}" if entry["key_id"] else ""
        print(f"{entry['at']}  {entry['from'] or '(none)'} -> {entry['to']}{key}  {entry['reason']}")
    return 0


def _run_job(args: argparse.Namespace) -> int:
    # Settings() from the environment the server built for this job (launch.job_environment), not a cached copy.
    runner = JobRunner(Path(args.job_dir), settings=Settings())
    code = runner.run()
    if code:
        print(f"error: {runner.job.get('error')}", file=sys.stderr)
    return code


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `models` command group."""
    parser = subparsers.add_parser("models", help="list, inspect, activate, roll back and delete model versions")
    add_model_dir(parser, help=VERSIONS_FOLDER)
    commands = parser.add_subparsers(dest="models_command", required=True, metavar="ACTION")
    commands.add_parser("list", help="every version, newest first; * marks the active one").set_defaults(handler=_list)
    for name, handler, text in (
        ("show", _show, "one version with its segments, as JSON"),
        ("activate", _activate, "make a version the active one"),
        ("delete", _delete, "delete a version that is not active"),
    ):
        command = commands.add_parser(name, help=text)
        command.add_argument("version", help="the version's name, as `models list` shows it")
        if name == "activate":
            command.add_argument("--reason", default="", type=reason_text, help="why, for the history")
        command.set_defaults(handler=handler)
    rollback = commands.add_parser("rollback", help="go back to the previously active version")
    rollback.add_argument("--reason", default="", type=reason_text, help="why, for the history")
    rollback.set_defaults(handler=_rollback)
    commands.add_parser("history", help="every activation, oldest first").set_defaults(handler=_history)
    # A training job's own process (app/services/training/launch.py), not a command to type: without `help` argparse
    # leaves it out of the list (help=SUPPRESS would list it as "==SUPPRESS==").
    job = commands.add_parser("run-job")
    job.add_argument("job_dir")
    job.set_defaults(handler=_run_job)
    model_dir_after_actions(commands, help=VERSIONS_FOLDER)
