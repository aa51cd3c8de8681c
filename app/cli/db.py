"""`python -m app.cli db upgrade`: migrate the prediction log database to the latest revision."""

import argparse

from app.core.config import get_settings


def _upgrade(args: argparse.Namespace) -> int:
    # Imported when the command runs: every other command (score above all) starts without Alembic.
    from app.db.migrate import upgrade_database

    revision = upgrade_database(get_settings().database_url.get_secret_value(), args.revision)
    print(f"database at revision {revision}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `db` command group."""
    db = subparsers.add_parser("db", help="prediction log database", description=__doc__)
    commands = db.add_subparsers(dest="db_command", required=True, metavar="SUBCOMMAND")
    upgrade = commands.add_parser(
        "upgrade", help="migrate to the latest revision (idempotent, safe with several workers)"
    )
    upgrade.add_argument("revision", nargs="?", default="head", help="target revision (default: head)")
    upgrade.set_defaults(handler=_upgrade)
