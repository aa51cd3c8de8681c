"""How pages write a file's column names: a blank header as "(column 3, no name)", a very long one shortened."""

# Past this many characters a name is cut where a select's option or a list shows it: a 200-character header
# would otherwise widen the control, and the page with it, to its whole length.
SHORT_NAME = 60


def column_labels(names: list[str]) -> dict[str, str]:
    """What the page calls each column of the file: its header, or "(column 3, no name)" for a blank one."""
    return {name: name if name.strip() else f"(column {position}, no name)" for position, name in enumerate(names, 1)}


def short_name(text: str, limit: int = SHORT_NAME) -> str:
    """`text` cut to `limit` characters with an ellipsis when longer (the full name stays in the value sent)."""
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"
