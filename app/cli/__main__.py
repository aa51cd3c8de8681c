"""`python -m app.cli COMMAND ...`: exit 0 on success, 2 for bad input, 1 for anything else."""

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from typing import Any

from pydantic import ValidationError

from app.core.config import Settings
from app.core.errors import SegmentationError
from app.core.setting_errors import settings_problems
from app.utils.memory import STREAMING_REUSE_BYTES, reuse_freed_blocks
from app.utils.redact import scrub_credentials
from app.utils.text import escape_controls

# Each command's module (app.cli.<name>) adds its sub-commands and sets `handler` (a function of the parsed args
# returning an exit code). Only the module of the command being run is imported: `db upgrade` never loads the
# model, scoring or metrics code the others need. The help here is what `python -m app.cli --help` lists.
COMMANDS: dict[str, str] = {
    "db": "prediction log database",
    "models": "list, inspect, activate, roll back and delete model versions",
    "rfm": "build RFM customer tables (recency, frequency, monetary) from transactions",
    "score": "label every customer of a file with its segment",
    "segmentations": "list, create, show and delete segmentations",
    "train": "train a new model version from a customer CSV",
    "users": "accounts: create users (the first admin), set a password, list them",
}
# The last line of every SQLAlchemy error: a link to its documentation, left out of the CLI's one line.
_SQLALCHEMY_LINK = "(Background on this error at:"


def _chosen_command(argv: list[str]) -> str | None:
    """The command named on the command line (the first argument that is not an option), if it is one of ours."""
    first = next((arg for arg in argv if not arg.startswith("-")), None)
    return first if first in COMMANDS else None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The top-level parser, with the full sub-commands of `command` only (the others are listed by name)."""
    parser = argparse.ArgumentParser(prog="python -m app.cli", description="Customer segmentation commands.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, text in COMMANDS.items():
        if name == command:
            importlib.import_module(f"app.cli.{name}").register(subparsers)
        else:
            subparsers.add_parser(name, help=text)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors are one line on stderr, never a traceback."""
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(_chosen_command(argv)).parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    stdout, sys.stdout = sys.stdout, CommandOutput(sys.stdout)
    try:
        code = handler(args)
        sys.stdout.flush()  # a reader that went away is told here, where it is handled, not at exit
        return code
    except ReaderGone:
        return _reader_gone(stdout)
    except SegmentationError as exc:
        print(f"error: {one_line(exc.local_message)}", file=sys.stderr)
        return 2
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            return _failed(exc)
        # A refused setting: one line each, as the server says it at start-up (a secret's value never quoted).
        for line in settings_problems(exc):
            print(f"error: {line}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        return _failed(exc)
    finally:
        sys.stdout = stdout


class ReaderGone(Exception):
    """The reader of the command's output closed it (`| head`)."""


class CommandOutput:
    """sys.stdout while a command runs: a write or flush that finds the output's reader gone raises ReaderGone, so
    that no other broken pipe (a socket, a file the command writes) is taken for it."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        """Write to the stream; ReaderGone when its reader closed it."""
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            raise ReaderGone from None

    def flush(self) -> None:
        """Flush the stream; ReaderGone when its reader closed it."""
        try:
            self._stream.flush()
        except BrokenPipeError:
            raise ReaderGone from None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


def _reader_gone(stdout: Any) -> int:
    """The output's reader closed it (`| head`): end quietly with the status of a process SIGPIPE ends, as shell
    tools do, instead of an error line."""
    try:
        descriptor = stdout.fileno()
    except (AttributeError, OSError, ValueError):  # an in-process caller's stream: nothing is flushed at exit
        return 141
    # What is still buffered for the closed pipe would fail again at exit: the rest goes nowhere.
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, descriptor)
    finally:
        os.close(devnull)
    return 141  # 128 + SIGPIPE's number (13), named here: Windows has no signal.SIGPIPE


def _failed(exc: Exception) -> int:
    """The CLI's contract whatever went wrong: one line, exit 1."""
    print(f"error: {type(exc).__name__}: {one_line(str(exc))}", file=sys.stderr)
    return 1


def one_line(text: str) -> str:
    """`text` on one line: its lines joined, SQLAlchemy's link to its error pages left out, passwords hidden."""
    # A database error is three lines (the driver's message, its hint, SQLAlchemy's link), and a driver may quote the
    # connection string it was given.
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith(_SQLALCHEMY_LINK)]
    return escape_controls(scrub_credentials(" ".join(lines)))


if __name__ == "__main__":
    # Run as its own process, a command streams files in equal chunks: their buffers are reused, not remapped.
    reuse_freed_blocks(STREAMING_REUSE_BYTES)
    sys.exit(main())
