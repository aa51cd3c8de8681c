"""The `python -m app.cli` command: one sub-command module per resource, each with `register(subparsers)`."""
