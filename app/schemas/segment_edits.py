"""Requests and answers for the team's segment text: renaming, editing description and strategy, history, revert."""

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from app.schemas.common import ONE_LINE, example_config

_VERSION = "20261126.165110.123456-95dfbcab12"
_WHEN = "2026-12-06T06:40:00.000+00:00"
_ENTRY = {
    "id": 1,
    "segment_id": 1,
    "field": "name",
    "old": "VIP / Whale",
    "new": "Top spenders",
    "old_edited": False,
    "new_edited": True,
    "at": _WHEN,
    "key_id": "key-1a2b3c4d5e",
    "reason": "the team's own word",
    "version": _VERSION,
    "revert_of": None,
}
_TEXT = {
    "segment_id": 1,
    "segment_name": "Top spenders",
    "generated_name": "VIP / Whale",
    "description": "High income, high spending: the most valuable customers.",
    "marketing_strategy": ["Invite to the loyalty programme's top tier"],
    "edited": ["name"],
    "model_version": _VERSION,
}


class SegmentEditIn(BaseModel):
    """New text for a segment; fields left out stay as they are."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Top spenders", "reason": "the team's own word"}]},
    )

    # The lengths below only bound the body; the service trims and checks the real limits with messages that say more.
    name: str | None = Field(
        None,
        max_length=1000,
        description="1 to 60 characters once trimmed, one line, no invisible character nor a space other than U+0020, "
        "and unique within the model (compared NFKC-normalised, spaces collapsed, in any case).",
    )
    description: str | None = Field(None, max_length=10_000, description="1 to 600 characters once trimmed.")
    marketing_strategy: list[str] | None = Field(
        None, max_length=50, description="1 to 10 actions, each 1 to 200 characters once trimmed."
    )
    reason: Annotated[str, ONE_LINE] = Field(
        "", max_length=200, description="Why, for the segment's history: one line of visible text."
    )


class SegmentChange(BaseModel):
    """One change of a segment's text."""

    model_config = example_config(_ENTRY)

    id: int = Field(description="The change's id, to revert it.")
    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    field: Literal["name", "description", "marketing_strategy"] = Field(description="The text that changed.")
    old: Any = Field(description="The text shown before (a list of actions for marketing_strategy).")
    new: Any = Field(description="The text shown after.")
    old_edited: bool = Field(description="False when the text before was the generated one.")
    new_edited: bool = Field(True, description="False when the change put the generated text back (a revert).")
    at: str = Field(description="When (UTC, ISO 8601).")
    key_id: str | None = Field(description="Short hash of the admin key used; never the key itself.")
    reason: str = Field(description="Why, as the change gave it.")
    version: str = Field(description="The version active when the change was made.")
    revert_of: int | None = Field(None, description="The change this one reverted, if any.")


class SegmentText(BaseModel):
    """A segment's text as every surface shows it, and the name training gave it."""

    model_config = example_config(_TEXT)

    segment_id: int = Field(description="Stable segment id: the same segment in every model version.")
    segment_name: str = Field(description="The name shown everywhere: the team's, or the generated one.")
    generated_name: str = Field(description="The name training gave; metrics stay labelled with it.")
    description: str = Field(description="Who the segment's customers are.")
    marketing_strategy: list[str] = Field(description="Concrete marketing actions for this segment.")
    edited: list[str] = Field(description="The fields that hold the team's text rather than the generated one.")
    model_version: str = Field(description="The model version served.")


class SegmentEditResult(SegmentText):
    """The segment's text after a change, and the history entries the change wrote."""

    model_config = example_config(_TEXT | {"entries": [_ENTRY]})

    entries: list[SegmentChange] = Field(description="The history entries this change wrote, one per field.")


class HistoryEntry(BaseModel):
    """A change of the segment's text (kind `edit`), or a version holding the segment becoming active."""

    model_config = ConfigDict(extra="allow")

    kind: Literal["edit", "activation"] = Field(description="A change of the text, or a version activated.")
    at: str = Field(description="When (UTC, ISO 8601).")
    key_id: str | None = Field(None, description="Short hash of the admin key used; absent when none was.")
    reason: str = Field(description="Why, as the change or activation gave it.")
    id: int | None = Field(None, description="An edit's id, to revert it.")
    field: str | None = Field(None, description="An edit: the text that changed.")
    old: Any = Field(None, description="An edit: the text shown before.")
    new: Any = Field(None, description="An edit: the text shown after.")
    version: str | None = Field(None, description="The version active when an edit was made, or the one activated.")
    from_version: str | None = Field(None, description="An activation: the version active before.")
    generated_name: str | None = Field(None, description="An activation: the name training gave in that version.")
    name: str | None = Field(
        None, description="An activation: the name shown once that version was active (the team's, carried over)."
    )
    carried_over: bool | None = Field(None, description="An activation: whether the team's name was carried over.")


class SegmentHistory(SegmentText):
    """A segment's text now, and every change and activation, oldest first."""

    model_config = example_config(
        _TEXT
        | {
            "entries": [
                {**_ENTRY, "kind": "edit"},
                {
                    "kind": "activation",
                    "at": "2026-12-06T07:00:00.000+00:00",
                    "version": "20261206.070000.000000-95dfbc0a1b",
                    "from_version": _VERSION,
                    "key_id": "key-1a2b3c4d5e",
                    "reason": "retrained on December's customers",
                    "generated_name": "VIP / Whale",
                    "name": "Top spenders",
                    "carried_over": True,
                },
            ]
        }
    )

    entries: list[HistoryEntry] = Field(description="Every change and activation, oldest first.")
