"""`python -m app.cli users create --email … --role admin`: add a user (the first admin, say) from the server;
`users set-password EMAIL`: give one a new password."""

import argparse
import getpass
import re
import sys
import warnings

from app.cli.shared import audit_change
from app.core.config import get_settings
from app.core.errors import InvalidRequest


def _password(args: argparse.Namespace, *, nothing_done: str = "nothing was created") -> str:
    if args.password_stdin:
        # One line: what `echo "$PASSWORD" | …` or a secrets file gives, without its line end.
        return sys.stdin.readline().rstrip("\r\n")
    first = _ask("Password: ", nothing_done)
    if _ask("Password again: ", nothing_done) != first:
        raise InvalidRequest(f"the two passwords differ: {nothing_done}")
    return first


def _ask(prompt: str, nothing_done: str) -> str:
    """One password typed at the terminal; InvalidRequest when there is none to ask on."""
    # Without a terminal (`kubectl exec` without -t, cron, a pipe) getpass warned that the password would be echoed,
    # read standard input and ended in "EOFError": the answer is --password-stdin.
    with warnings.catch_warnings():
        warnings.simplefilter("error", getpass.GetPassWarning)
        try:
            return getpass.getpass(prompt)
        except (getpass.GetPassWarning, EOFError):
            raise InvalidRequest(
                f"no terminal to type the password on: pipe it in with --password-stdin; {nothing_done}"
            ) from None


def _create(args: argparse.Namespace) -> int:
    # Imported when the command runs, like `db upgrade`: other commands start without Alembic or SQLAlchemy.
    from app.core.roles import Role
    from app.db.migrate import upgrade_database
    from app.db.session import create_db_engine, session_factory
    from app.services.accounts.users import create_user

    password = _password(args)
    url = get_settings().database_url.get_secret_value()
    upgrade_database(url)  # as the server does at start: the tables exist before the first user goes in
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            user = create_user(
                session=session, email=args.email, password=password, role=Role[args.role], display_name=args.name
            )
    except InvalidRequest as exc:
        # The service names the API's field; here it is the --name option.
        exc.local_message = re.sub(r"^display_name: ", "--name: ", exc.local_message)
        raise
    finally:
        engine.dispose()
    audit_change("user.create", user.email, {"role": str(user.role)})
    print(f"created {user.role} {user.email} (id {user.id})")
    return 0


def _set_password(args: argparse.Namespace) -> int:
    from app.db.migrate import upgrade_database
    from app.db.session import create_db_engine, session_factory
    from app.services.accounts.passwords import set_password_by_email

    password = _password(args, nothing_done="the password is unchanged")
    url = get_settings().database_url.get_secret_value()
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            user = set_password_by_email(session=session, email=args.email, password=password)
    finally:
        engine.dispose()
    audit_change("user.password_set", user.email, {"id": user.id})
    print(f"new password set for {user.email}: their sessions ended, and tokens issued before no longer work")
    return 0


def _list(args: argparse.Namespace) -> int:
    from app.db.migrate import upgrade_database
    from app.db.session import create_db_engine, session_factory
    from app.services.accounts.users import list_users

    url = get_settings().database_url.get_secret_value()
    upgrade_database(url)
    engine = create_db_engine(url)
    try:
        with session_factory(engine)() as session:
            for user in list_users(session=session):
                state = "disabled" if user.disabled else "active"
                print(f"{user.id}\t{user.email}\t{user.role}\t{state}")
    finally:
        engine.dispose()
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the `users` command group."""
    users = subparsers.add_parser(
        "users", help="accounts: create users, set a password, list them", description=__doc__
    )
    commands = users.add_subparsers(dest="users_command", required=True, metavar="SUBCOMMAND")
    create = commands.add_parser("create", help="add a user; prompts for the password")
    create.add_argument("--email", required=True, help="what the user signs in with (stored lower-cased)")
    create.add_argument(
        "--role",
        choices=("viewer", "analyst", "admin"),
        default="viewer",
        help="viewer reads, analyst also scores files and edits segments, admin also manages (default: viewer)",
    )
    create.add_argument("--name", default="", help="display name (default: the part of the email before @)")
    create.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    create.set_defaults(handler=_create)
    reset = commands.add_parser("set-password", help="give a user a new password; prompts for it")
    reset.add_argument("email", metavar="EMAIL", help="the user's email")
    reset.add_argument(
        "--password-stdin", action="store_true", help="read the password from the first line of standard input"
    )
    reset.set_defaults(handler=_set_password)
    listing = commands.add_parser("list", help="every user, with its role")
    listing.set_defaults(handler=_list)
