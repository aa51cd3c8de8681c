"""`python -m app.cli segmentations list|create|show|delete`: the segmentations API on the local models folder."""

import argparse
import json
from pathlib import Path
from typing import Any

from app.cli.shared import add_model_dir, audit_change, catalog, database_session, model_dir_after_actions, registry
from app.core.config import get_settings
from app.core.errors import InvalidRequest, SegmentationConflict

FEATURE_FORMAT = "name:Column[:label[:unit[:transform]]]"


def _list(args: argparse.Namespace) -> int:
    from app.models.versions.store import VersionStore

    segmentations = catalog(args.model_dir)
    rows = [("name", "kind", "active", "features")]
    for name in segmentations.names():
        try:
            spec = segmentations.get(name)
        except InvalidRequest as exc:  # a spec another version of the app wrote: listed, not fatal
            rows.append((name, "?", "-", f"unreadable spec: {exc.message}"))
            continue
        active = VersionStore(segmentations.folder(name)).active_version() or "-"
        rows.append((name, spec.kind, active, ", ".join(spec.feature_names)))
    widths = [max(len(row[column]) for row in rows) + 2 for column in range(3)]
    for row in rows:
        print("".join(f"{cell:<{width}}" for cell, width in zip(row, widths, strict=False)) + row[3])
    return 0


def _feature(text: str) -> dict[str, Any]:
    """One `--feature name:Column[:label[:unit[:transform]]]` as a spec's feature item."""
    parts = text.split(":")
    if len(parts) < 2 or len(parts) > 5 or not all(parts[:2]):
        raise InvalidRequest(f"--feature takes {FEATURE_FORMAT}, got {text!r}")
    item = dict(zip(("name", "column", "label", "unit", "transform"), parts, strict=False))
    return {key: value for key, value in item.items() if value or key == "unit"}


def _roles(items: list[str]) -> dict[str, str]:
    """`--column role=Header` items as the RFM options' columns."""
    columns = {}
    for item in items:
        role, sep, header = item.partition("=")
        if not sep or not role.strip() or not header.strip():
            raise InvalidRequest(f"--column takes ROLE=HEADER, got {item!r}")
        columns[role.strip()] = header.strip()
    return columns


def _read_spec(path: Path) -> dict[str, Any]:
    """A spec file: one JSON object, as POST /api/v1/segmentations takes it."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidRequest(f"spec file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidRequest(f"the spec file {path} cannot be read: {exc}") from None
    except json.JSONDecodeError as exc:
        raise InvalidRequest(f"the spec file {path} is not JSON: {exc.msg} at line {exc.lineno}") from None
    if not isinstance(data, dict):
        raise InvalidRequest(f"the spec file {path} must hold one JSON object")
    return data


def _request(args: argparse.Namespace) -> dict[str, Any]:
    """The create request the options describe: the spec file, or the flags."""
    flags = [
        flag
        for flag, given in (
            ("--name", args.name),
            ("--kind", args.kind),
            ("--feature", args.feature),
            ("--column", args.column),
            ("--monetary", args.monetary),
            ("--non-positive", args.non_positive),
            ("--date-format", args.date_format),
            ("--description", args.description),
        )
        if given
    ]
    if args.spec is not None:
        if flags:
            raise InvalidRequest(f"give --spec or flags, not both ({', '.join(flags)} with --spec)")
        return _read_spec(args.spec)
    if args.name is None:
        raise InvalidRequest("give --spec FILE.json, or --name with --kind columns --feature ... or --kind rfm")
    kind = args.kind or "columns"
    body: dict[str, Any] = {"name": args.name, "kind": kind, "description": args.description or ""}
    rfm_flags = [flag for flag in flags if flag in ("--column", "--monetary", "--non-positive", "--date-format")]
    if kind == "rfm":
        if args.feature:
            raise InvalidRequest("an rfm segmentation's features are recency, frequency and monetary: drop --feature")
        body["rfm"] = {
            "columns": _roles(args.column),
            "monetary": args.monetary,
            "non_positive": args.non_positive,
            "date_format": args.date_format,
        }
    else:
        if rfm_flags:
            raise InvalidRequest(f"{', '.join(rfm_flags)} only apply to --kind rfm")
        body["features"] = [_feature(text) for text in args.feature]
    return body


def _create(args: argparse.Namespace) -> int:
    from app.models.segmentations.spec import DEFAULT_NAME, SegmentationSpec

    spec = SegmentationSpec.from_dict(_request(args))
    if spec.name == DEFAULT_NAME:
        raise SegmentationConflict("the default segmentation exists already and cannot be created again")
    created = catalog(args.model_dir, creating=True).create(spec)
    audit_change("segmentation.create", created.name, {"kind": created.kind})
    print(
        f"created segmentation {created.name} ({created.kind}: {', '.join(created.feature_names)}); train it with "
        f"`python -m app.cli train --segmentation {created.name} --data FILE`"
    )
    return 0


def _show(args: argparse.Namespace) -> int:
    from app.services.segmentations import describe

    spec = catalog(args.model_dir).get(args.name)
    print(json.dumps(describe(spec, registry(args.model_dir, args.name)), indent=2))
    return 0


def _delete(args: argparse.Namespace) -> int:
    from app.services.segmentations import delete_in_catalog

    # The history too, so a new segmentation of this name starts afresh: the database is opened (and brought up to
    # date) only once the name exists and may be deleted.
    delete_in_catalog(
        catalog=catalog(args.model_dir),
        name=args.name,
        force=args.force,
        database=database_session,
        results_dir=get_settings().score_results_dir,
    )
    audit_change("segmentation.delete", args.name, {"force": args.force})
    print(f"deleted segmentation {args.name} and its versions")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `segmentations` command group."""
    parser = subparsers.add_parser(
        "segmentations",
        help="list, create, show and delete segmentations",
        description="Segmentations: named lines of model versions, each over its own features. Exit 0 on success, "
        "2 for bad input, 1 for anything else.",
    )
    add_model_dir(parser)
    commands = parser.add_subparsers(dest="segmentations_command", required=True, metavar="ACTION")
    commands.add_parser("list", help="every segmentation: kind, active version, features").set_defaults(handler=_list)
    create = commands.add_parser(
        "create",
        help="create a segmentation from a spec file or flags",
        description="Create a segmentation (no version yet; the first one trained becomes active). Either "
        "--spec FILE.json (the body POST /api/v1/segmentations takes), or --name with --kind columns and 2 to 8 "
        f"--feature {FEATURE_FORMAT} (transform: none or log1p), or --name with --kind rfm.",
    )
    create.add_argument("--spec", type=Path, help="JSON spec file, as the API takes it")
    create.add_argument("--name", help="lowercase letters, digits and '-', 2 to 40 characters")
    create.add_argument("--kind", help="columns (default) or rfm")
    create.add_argument(
        "--feature", action="append", default=[], metavar=FEATURE_FORMAT, help="a feature of a columns segmentation"
    )
    create.add_argument(
        "--column", action="append", default=[], metavar="ROLE=HEADER", help="rfm: the header of a role (repeat)"
    )
    create.add_argument("--monetary", help="rfm: total (default) or average order value")
    create.add_argument("--non-positive", help="rfm: flag (default) or drop customers whose net spend is <= 0")
    create.add_argument("--date-format", help="rfm: strptime format of the dates (default: inferred per file)")
    create.add_argument("--description", help="a sentence shown with the segmentation")
    create.set_defaults(handler=_create)
    show = commands.add_parser("show", help="one segmentation with its spec and served version, as JSON")
    show.add_argument("name", help="the segmentation's name, as `segmentations list` shows it")
    show.set_defaults(handler=_show)
    delete = commands.add_parser("delete", help="delete a segmentation and every version of it (never default)")
    delete.add_argument("name", help="the segmentation's name, as `segmentations list` shows it")
    delete.add_argument("--force", action="store_true", help="delete even while a version is active")
    delete.set_defaults(handler=_delete)
    model_dir_after_actions(commands, help="models folder (default: MODEL_DIR)")
