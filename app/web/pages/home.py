"""The home page: the customer form (sliders and number boxes, with or without JavaScript), its result and the map."""

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

from app.core.errors import InvalidRequest
from app.models.explanation import MEASURES as CONFIDENCE_MEASURES
from app.models.features import DEFAULT_FEATURES
from app.models.model import SegmentationModel
from app.services import prediction
from app.services.segmentations import feature_values
from app.web.charts.segment_map import View, default_view, place_on_map, valid_view
from app.web.pages.common import segment_context
from app.web.pages.home_form import (
    DEFAULT_CUSTOMER,
    FORM_FIELDS,
    FormField,
    fields_for,
    out_of_range_notes,
    parse_customer,
    slider_position,
    submitted_form,
)

__all__ = ["DEFAULT_CUSTOMER", "FORM_FIELDS", "home_page", "parse_customer"]

DEFAULT_SEGMENTATION = "default"
# The map picker's query fields: named apart from features, which are lower-case words (x and y could be features).
MAP_X, MAP_Y = "map_x", "map_y"


def _feature_list(fields: list[FormField]) -> str:
    """ "income, visits and tenure" for the page's sentences."""
    labels = [field.label for field in fields]
    return labels[0] if len(labels) == 1 else f"{', '.join(labels[:-1])} and {labels[-1]}"


def predict_endpoint(model: SegmentationModel, segmentation: str) -> dict[str, str]:
    """Where the page's script asks for a segment: the flat default API, or the segmentation's features API."""
    if segmentation == DEFAULT_SEGMENTATION and model.features == list(DEFAULT_FEATURES):
        return {"url": "/api/v1/predict", "body": "flat"}
    return {"url": f"/api/v1/segmentations/{segmentation}/predict", "body": "features"}


def _carried(form: Mapping[str, str], segmentation: str, view: View | None) -> dict[str, str]:
    """What links and the picker keep of the page: the customer's values, the segmentation and the pair shown."""
    kept = dict(form)
    if segmentation != DEFAULT_SEGMENTATION:
        kept["segmentation"] = segmentation
    if view is not None:
        kept[MAP_X], kept[MAP_Y] = view
    return kept


def map_picker(
    model: SegmentationModel, view: View | None, form: Mapping[str, str], segmentation: str
) -> dict[str, Any] | None:
    """The no-JavaScript form that shows any pair of features instead of the plane; None below three features."""
    if len(model.features) < 3:
        return None
    shown = view or default_view(model) or (model.features[0], model.features[1])
    carry = _carried(form, segmentation, None)
    plane = default_view(model) is None
    return {
        "options": [{"name": spec.name, "label": spec.label} for spec in model.feature_specs],
        "x": shown[0],
        "y": shown[1],
        "carry": carry,
        # A way back to the plane of all features, when the model has one and a pair is shown.
        "plane_query": "?" + urlencode(carry) if plane and view is not None else None,
    }


def home_page(
    model: SegmentationModel | None,
    values: Mapping[str, str | None],
    *,
    segmentation: str = DEFAULT_SEGMENTATION,
    trained: bool = True,
) -> tuple[dict[str, Any], prediction.Answer | None]:
    """Context for the home page (the form, its result or errors, the segment map), and the prediction to record.

    The default customer shown on a plain visit is a preview, not a prediction: only values the user sent (the
    form without JavaScript) give an answer to record, which the caller does once the page is built. `map_x` and
    `map_y` pick a pair of features for the map instead of the model's usual one. `trained` says whether the
    segmentation has any version, for what a page without a model says.
    """
    fields = fields_for(model)
    names = [field.name for field in fields]
    submitted = any(values.get(name) is not None for name in names)
    chosen = submitted_form(values, fields)
    form = {field.name: (chosen.get(field.name) if submitted else field.default) or "" for field in fields}
    last = {name: values.get(f"{name}_last") or "" for name in names}
    # Without a model the default is not set up (or not loaded), while another segmentation may just be new.
    unserved = None
    if model is None and segmentation != DEFAULT_SEGMENTATION:
        unserved = "inactive" if trained else "new"
    context: dict[str, Any] = {
        "fields": fields,
        "form": form,
        "sliders": {field.name: slider_position(field, form[field.name], last[field.name]) for field in fields},
        "errors": {},
        "result": None,
        "stale": False,
        "last": None,
        "notes": [],
        "marker": None,
        "model": model,
        "segmentation": segmentation,
        "default_form": fields is FORM_FIELDS,
        "feature_list": _feature_list(fields),
        "map_view": None,
        "map_picker": None,
        "unserved": unserved,
        "confidence_measures": CONFIDENCE_MEASURES + ".",
    }
    if model is None:
        return context, None
    view = valid_view(model, values.get(MAP_X), values.get(MAP_Y))
    context.update(segment_context(model, view))
    context.update(
        {
            "predict_api": predict_endpoint(model, segmentation),
            "map_view": view,
            "map_picker": map_picker(model, view, form, segmentation),
        }
    )
    customer, errors = parse_customer(form, fields)
    if customer is not None and model.features != list(DEFAULT_FEATURES):
        # The API's own check of another segmentation's values (one validation path): a value so far from the
        # training data that no distance to it is finite is refused here too.
        try:
            feature_values(model, customer)
        except InvalidRequest as exc:
            named = next((f.name for f in fields if exc.message.startswith(f"{f.name} ")), fields[0].name)
            customer, errors = None, {named: exc.message[len(named) + 1 :].capitalize() + "."}
    context["errors"] = errors
    shown = customer
    if customer is None:
        # The last good result stays, marked out of date, as it does with JavaScript: the page carries its values.
        shown = parse_customer(last, fields)[0] if submitted else None
        context["stale"] = shown is not None
    if shown is None:
        return context, None
    context["last"] = form if customer is not None else last
    answer = prediction.predict_customer(model, shown, explained=True)
    context["result"] = answer.body
    context["notes"] = out_of_range_notes(answer.body, model.feature_specs)
    if context["segment_map"]:
        context["marker"] = place_on_map(context["segment_map"], model, shown)
    # Only values the user sent and that were valid are a prediction; a kept result was recorded when it was made.
    return context, answer if submitted and customer is not None else None
