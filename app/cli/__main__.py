"""`python -m app.cli COMMAND ...`: exit 0 on success, 2 for bad input, 1 for anything else."""

import argparse
import sys
from collections.abc import Callable

from app.core.errors import SegmentationError

# Each module adds its sub-commands and sets `handler` (a function of the parsed args returning an exit code).
COMMAND_MODULES: tuple[str, ...] = ("db", "models", "score", "train")


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every command module's sub-commands."""
    import importlib

    parser = argparse.ArgumentParser(prog="python -m app.cli", description="Customer segmentation commands.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"app.cli.{name}").register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; errors are one line on stderr, never a traceback."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except SegmentationError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the CLI's contract: one line, exit 1, whatever went wrong
        print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
