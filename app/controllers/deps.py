"""Dependencies that hand the loaded model and its state to routes."""

from typing import Annotated

from fastapi import Depends, Request

from app.models.segmenter import SegmentationModel
from app.services.model_state import ModelState, require_model


async def get_model_state(request: Request) -> ModelState:
    """The model state the lifespan loaded (async: attribute access needs no thread)."""
    return request.app.state.model_state


ModelStateDep = Annotated[ModelState, Depends(get_model_state)]


async def get_segmenter(state: ModelStateDep) -> SegmentationModel:
    """The loaded model, or a 503 ModelNotReady with the reason."""
    return require_model(state)


SegmenterDep = Annotated[SegmentationModel, Depends(get_segmenter)]
