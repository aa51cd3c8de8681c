"""The home page: the customer form (sliders and number boxes, with or without JavaScript), its result and the map."""

import math
from typing import Any

from pydantic import ValidationError

from app.models.features import FEATURES
from app.models.versions.registry import ModelRegistry
from app.schemas.prediction import CustomerIn, CustomerValidator
from app.services import prediction
from app.utils.numbers import DECIMAL_OR_NON_FINITE
from app.web.charts.segment_map import map_position
from app.web.pages.common import segment_context

DEFAULT_CUSTOMER = {"annual_income": "60", "spending_score": "50"}


def parse_customer(values: dict[str, str | None]) -> tuple[CustomerIn | None, dict[str, str]]:
    """Validate form text with the API's own schema; return the customer or a message per field."""
    numbers: dict[str, float] = {}
    errors: dict[str, str] = {}
    for field in ("annual_income", "spending_score"):
        text = (values.get(field) or "").strip()
        if not text:
            errors[field] = "Enter a number."
            continue
        if not DECIMAL_OR_NON_FINITE.fullmatch(text):
            errors[field] = f"'{text[:20]}' is not a number."
            continue
        numbers[field] = float(text)
    if errors:
        return None, errors
    try:
        return CustomerValidator.validate_python(numbers), {}
    except ValidationError as exc:
        for error in exc.errors():
            errors[str(error["loc"][0])] = _friendly(str(error["loc"][0]), error)
        return None, errors


def _friendly(field: str, error: dict[str, Any]) -> str:
    bounds = FEATURES[field].range_text()
    if error["type"] == "finite_number":
        return f"Enter a finite number {bounds}."
    return f"Enter a value {bounds}."


# The form's fields: labels and accepted ranges from the feature definitions; slider ends are a display choice.
FORM_FIELDS = [
    {"name": name, "label": label, "feature": FEATURES[name], "slider_min": low, "slider_max": high}
    for name, label, low, high in (
        ("annual_income", "Annual income", 0, 150),
        ("spending_score", "Spending score", 1, 100),
    )
]
_FIELDS = {field["name"]: field for field in FORM_FIELDS}


def slider_value(field: str, text: str) -> str:
    """Where a field's slider stands for a typed value: clamped to the slider's ends, whole numbers, as browsers do."""
    spec = _FIELDS[field]
    try:
        value = float(text)
    except ValueError:
        return str(spec["slider_min"])
    if value != value:  # NaN
        return str(spec["slider_min"])
    return str(round(min(max(value, spec["slider_min"]), spec["slider_max"])))


def _accepted(field: str, text: str | None) -> bool:
    """Whether a field's text is a finite number in the field's accepted range."""
    text = (text or "").strip()
    if not DECIMAL_OR_NON_FINITE.fullmatch(text):
        return False
    value, feature = float(text), FEATURES[field]
    return math.isfinite(value) and feature.minimum <= value <= feature.maximum


def slider_position(field: str, text: str | None, last: str | None) -> str:
    """Where the page puts a field's slider: at the box's value when it is valid, else at the last valid one.

    An invalid box leaves the slider where it was rather than at an end: 500 would clamp it to the maximum and
    "abc" to the minimum, neither of which the user chose.
    """
    for candidate in (text, last, DEFAULT_CUSTOMER[field]):
        if _accepted(field, candidate):
            return slider_value(field, (candidate or "").strip())
    return slider_value(field, DEFAULT_CUSTOMER[field])


def submitted_form(values: dict[str, str | None]) -> dict[str, str | None]:
    """The value of each field the user set in the no-JavaScript form: the number box, or the slider if only it moved.

    Both controls submit (the slider as `<field>_slider`), with `<field>_was`, the box's value as the page showed it,
    and `<field>_last`, the last valid value. A changed box wins; otherwise a slider moved away from where the page
    put it wins; otherwise the box.
    """
    form: dict[str, str | None] = {}
    for field in DEFAULT_CUSTOMER:
        number, slider, was = values.get(field), values.get(f"{field}_slider"), values.get(f"{field}_was")
        number_changed = was is None or (number or "").strip() != was.strip()
        placed = slider_position(field, was, values.get(f"{field}_last"))
        slider_moved = slider is not None and was is not None and slider.strip() != placed
        form[field] = slider.strip() if slider_moved and not number_changed else number
    return form


def _number_text(value: float) -> str:
    """A number as the page prints it: grouped thousands, at most one decimal."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def out_of_range_notes(result: dict[str, Any]) -> list[str]:
    """One sentence per value outside the training range, as the result card shows them (app.js words them alike)."""
    notes = []
    for item in result.get("out_of_range", []):
        feature = FEATURES[item["feature"]]
        unit = f" {feature.short_unit}" if feature.short_unit else ""
        notes.append(
            f"{feature.noun} {_number_text(item['value'])}{unit} is outside the {feature.plural} this model was "
            f"trained on ({_number_text(item['training_min'])}–{_number_text(item['training_max'])}{unit}): "
            "treat the segment as an extrapolation."
        )
    return notes


def home_page(
    registry: ModelRegistry, values: dict[str, str | None]
) -> tuple[dict[str, Any], prediction.Answer | None]:
    """Context for the home page (the form, its result or errors, the segment map), and the prediction to record.

    The default customer shown on a plain visit is a preview, not a prediction: only values the user sent (the
    form without JavaScript) give an answer to record, which the caller does once the page is built.
    """
    submitted = any(values.get(field) is not None for field in DEFAULT_CUSTOMER)
    chosen = submitted_form(values)
    form = {field: (chosen.get(field) if submitted else DEFAULT_CUSTOMER[field]) or "" for field in DEFAULT_CUSTOMER}
    last = {field: values.get(f"{field}_last") or "" for field in DEFAULT_CUSTOMER}
    context: dict[str, Any] = {
        "fields": FORM_FIELDS,
        "form": form,
        "sliders": {field: slider_position(field, text, last[field]) for field, text in form.items()},
        "errors": {},
        "result": None,
        "stale": False,
        "last": None,
        "notes": [],
        "marker": None,
        "model": registry.active,
    }
    if registry.active is None:
        return context, None
    model = registry.active
    customer, errors = parse_customer(form)
    context["errors"] = errors
    context.update(segment_context(model))
    shown = customer
    if customer is None:
        # The last good result stays, marked out of date, as it does with JavaScript: the page carries its values.
        shown = parse_customer(last)[0] if submitted else None
        context["stale"] = shown is not None
    if shown is None:
        return context, None
    context["last"] = form if customer is not None else last
    answer = prediction.predict_customer(model, shown)
    context["result"] = answer.body
    context["notes"] = out_of_range_notes(answer.body)
    if context["segment_map"]:
        context["marker"] = map_position(context["segment_map"], shown["annual_income"], shown["spending_score"])
    # Only values the user sent and that were valid are a prediction; a kept result was recorded when it was made.
    return context, answer if submitted and customer is not None else None
