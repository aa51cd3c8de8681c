"""Sign-in time for an unknown email against a wrong password for a real account: the ratio should be about 1.

An unknown email is verified against a dummy Argon2 hash (app/services/accounts/login.py), so the time of an answer
tells nobody whether the account exists. Both are measured in the same run, interleaved, on a throwaway database.

    python -m benchmarks.login [--rounds 20] [--output login.json]
"""

import argparse
import contextlib
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

from app.core.account_errors import LoginFailed
from app.core.roles import Role
from app.db.migrate import upgrade_database
from app.db.session import create_db_engine, session_factory
from app.services.accounts.login import authenticate
from app.services.accounts.users import create_user


def _seconds(session, email: str) -> float:
    start = time.perf_counter()
    with contextlib.suppress(LoginFailed):
        authenticate(session=session, email=email, password="not the password")
    return time.perf_counter() - start


def measure(rounds: int) -> dict:
    """Median seconds of each failed sign-in, and their ratio."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.sqlite3'}"
        upgrade_database(url)
        engine = create_db_engine(url)
        with session_factory(engine)() as session:
            create_user(session=session, email="real@example.com", password="the real password", role=Role.viewer)
            _seconds(session, "warm@example.com")  # the dummy hash is made once per process
            unknown, wrong = [], []
            for _ in range(rounds):
                unknown.append(_seconds(session, "nobody@example.com"))
                wrong.append(_seconds(session, "real@example.com"))
        engine.dispose()
    return {
        "rounds": rounds,
        "unknown_email_median_s": statistics.median(unknown),
        "wrong_password_median_s": statistics.median(wrong),
        "unknown_over_wrong_ratio": statistics.median(unknown) / statistics.median(wrong),
    }


def main() -> int:
    """Print (and optionally save) the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    figures = measure(args.rounds)
    text = json.dumps(figures, indent=2)
    print(text)
    if args.output:
        args.output.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
