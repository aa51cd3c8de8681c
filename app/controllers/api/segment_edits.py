"""The team's segment text: rename a segment, edit its description and strategy, read its history, revert."""

from typing import Annotated

from annotated_types import Ge
from fastapi import APIRouter, Path, Request
from starlette.convertors import Convertor, register_url_convertor

from app.controllers.admin_route import AdminKeyFirstRoute
from app.controllers.audit import audit
from app.controllers.deps import EditorDep, RegistryDep, reason_query, segmentation_of
from app.schemas.common import DIGITS_ONLY, ErrorResponse, error_responses
from app.schemas.segment_edits import SegmentEditIn, SegmentEditResult, SegmentHistory
from app.services import segment_edits


class DigitsConvertor(Convertor[str]):
    """A path segment of the digits 0-9, passed on as text for the route's own validation to read as a number.

    Starlette's `int` convertor parses while routing, where an id past Python's 4300-digit limit for reading an int
    raised a ValueError (a 500); read by the route's validation instead, it is the 422 of GET /clusters/{id}.
    """

    regex = "[0-9]+"

    def convert(self, value: str) -> str:
        """The segment as it came."""
        return value

    def to_string(self, value: str) -> str:
        """The value as a path segment."""
        return str(value)


# Before the routes below are declared: a route's path is compiled as it is declared.
register_url_convertor("digits", DigitsConvertor())

ReasonQuery = reason_query("segment's")
# AdminKeyFirstRoute: a caller who may not edit is refused before the body is read.
router = APIRouter(
    prefix="/clusters", tags=["segments"], route_class=AdminKeyFirstRoute, responses=error_responses(503)
)

SegmentIdPath = Annotated[int, Ge(0), DIGITS_ONLY, Path(description="Stable segment id.", examples=[1])]
# The routes take whole-number ids only (`:digits`), so `PATCH /clusters/info` is the 405 it should be, not a 415 (the
# reads of /clusters answer that path). Any other path with an id that is no whole number matches no route: a 404.
NOT_AN_ID = {405: {"model": ErrorResponse, "description": "The segment id is not a whole number."}}
_ADMIN_ERRORS = error_responses(401, 403, 404, 409, 422, 429)


@router.patch(
    "/{segment_id:digits}",
    response_model=SegmentEditResult,
    summary="Rename a segment, or edit its description or strategy",
    description="Gives a segment of the active model the team's own name (1-60 characters, unique within the "
    "model), description or marketing strategy. The text is kept beside the versions, so signatures stay valid, "
    "and it follows the segment into later versions through its stable id. Every surface (predictions, files, "
    "pages, drift messages) shows it within a second; metrics keep the generated name. Each changed field is "
    "recorded in the segment's history with the admin key's id and the reason. Sending only text the segment "
    "already shows is a 422.",
    responses={**_ADMIN_ERRORS, **NOT_AN_ID, **error_responses(400, 413, 415)},
)
def edit_segment(
    request: Request, segment_id: SegmentIdPath, body: SegmentEditIn, registry: RegistryDep, key: EditorDep
) -> dict:
    """Change a segment's text (plain def: it writes a file under the folder's lock)."""
    result = segment_edits.edit_segment(
        registry=registry,
        segment_id=segment_id,
        name=body.name,
        description=body.description,
        marketing_strategy=body.marketing_strategy,
        reason=body.reason,
        key=key,
    )
    changed = [field for field in ("name", "description", "marketing_strategy") if getattr(body, field) is not None]
    detail = {"segmentation": segmentation_of(request), "fields": ",".join(changed), "reason": body.reason}
    audit(request, who=key, action="segment.edit", target=str(segment_id), detail=detail)
    return result


@router.get(
    "/{segment_id:digits}/history",
    response_model=SegmentHistory,
    response_model_exclude_none=True,
    summary="A segment's history",
    description="Every change of the segment's text (who by key id, when, old and new, why) and every activation "
    "of a version holding the segment, with the name it was shown under, oldest first.",
    responses=error_responses(404, 422),
)
def segment_history(segment_id: SegmentIdPath, registry: RegistryDep) -> dict:
    """The segment's text now and its history (plain def: it reads files)."""
    return segment_edits.segment_history(registry=registry, segment_id=segment_id)


@router.post(
    "/{segment_id:digits}/history/{entry_id:digits}/revert",
    response_model=SegmentEditResult,
    summary="Revert a change of a segment's text",
    description="Puts back the text a change replaced: the team's earlier text, or the generated text when the "
    "change replaced that. Recorded in the history as a change of its own.",
    responses=_ADMIN_ERRORS,
)
def revert_change(
    request: Request,
    segment_id: SegmentIdPath,
    entry_id: Annotated[int, Ge(1), DIGITS_ONLY, Path(description="The change's id, from the history.")],
    registry: RegistryDep,
    key: EditorDep,
    reason: ReasonQuery = "",
) -> dict:
    """Revert one change."""
    result = segment_edits.revert_edit(
        registry=registry, segment_id=segment_id, entry_id=entry_id, reason=reason, key=key
    )
    detail = {"segmentation": segmentation_of(request), "change": entry_id, "reason": reason}
    audit(request, who=key, action="segment.revert", target=str(segment_id), detail=detail)
    return result
