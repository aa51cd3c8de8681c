"""The home page's customer form for any model: one slider and number box per feature, read with or without JS."""

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import ValidationError

from app.models.features import DEFAULT_FEATURES, FEATURES, Feature
from app.models.model import SegmentationModel
from app.schemas.prediction import CustomerValidator
from app.utils.numbers import DECIMAL_OR_NON_FINITE

DEFAULT_CUSTOMER = {"annual_income": "60", "spending_score": "50"}
# Form text longer than this is not a number anyone typed (the default fields' query limit, for every field).
MAX_TEXT = 50
# Steps across a slider: fine enough to reach any segment, coarse enough to move with the keyboard.
SLIDER_STEPS = 100


@dataclass(frozen=True)
class FormField:
    """One feature's controls: label, accepted range (from the feature), slider ends and step, and default value."""

    name: str
    label: str
    feature: Feature
    slider_min: float
    slider_max: float
    step: float = 1
    default: str = ""

    @property
    def differs(self) -> bool:
        """Whether the box accepts more than the slider covers (then the page says so)."""
        return self.slider_min != self.feature.minimum or self.slider_max != self.feature.maximum

    @property
    def min_text(self) -> str | None:
        """The number box's min attribute (None when unbounded): browsers and app.js refuse values below it."""
        return _bound_text(self.feature.minimum)

    @property
    def max_text(self) -> str | None:
        """The number box's max attribute (None when unbounded)."""
        return _bound_text(self.feature.maximum)

    @property
    def step_text(self) -> str:
        """The slider's step attribute."""
        return number_text(self.step, self.step)

    @property
    def hint(self) -> str:
        """What the slider covers and what the box takes."""
        feature = self.feature
        takes = "any number" if feature.range_text() == "any finite number" else f"any value {feature.range_text()}"
        ends = f"{_grouped(self.slider_min, self.step)}–{_grouped(self.slider_max, self.step)}"
        return f"The slider covers {ends}; type {takes} in the box."


# The default model's fields: labels and accepted ranges from the feature definitions; slider ends a display choice.
FORM_FIELDS = [
    FormField(name, label, FEATURES[name], low, high, 1, DEFAULT_CUSTOMER[name])
    for name, label, low, high in (
        ("annual_income", "Annual income", 0, 150),
        ("spending_score", "Spending score", 1, 100),
    )
]


def _bound_text(value: float) -> str | None:
    if not math.isfinite(value):
        return None
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _decimals(step: float) -> int:
    return max(0, -math.floor(math.log10(step))) if step > 0 and not float(step).is_integer() else 0


def number_text(value: float, step: float = 1) -> str:
    """A number as a form shows it: no grouping, as many decimals as the step has (whole numbers as integers)."""
    decimals = _decimals(step)
    if decimals == 0:
        return str(round(value))
    return f"{value:.{decimals}f}"


def _grouped(value: float, step: float) -> str:
    """A number for sentences: grouped thousands ("184,000"), as many decimals as the step has."""
    return f"{value:,.{_decimals(step)}f}"


def _nice_step(span: float) -> float:
    """A round slider step giving about SLIDER_STEPS steps over `span`."""
    raw = span / SLIDER_STEPS if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw * (1 - 1e-9))
    return float(step) if step < 1 else float(round(step))


def _snap(value: float, step: float) -> float:
    return round(round(value / step) * step, _decimals(step))


def fields_for(model: SegmentationModel | None) -> list[FormField]:
    """The form of a model's features: the default two as ever, any others from their spec and training range."""
    if model is None or model.features == list(DEFAULT_FEATURES):
        return FORM_FIELDS
    stats = model.info.get("data_stats") or {}
    sample = np.asarray(model.info.get("map_sample") or [], dtype=np.float64).reshape(-1, len(model.features))
    fields = []
    for f, spec in enumerate(model.feature_specs):
        low = float(stats.get(spec.name, {}).get("min", 0.0))
        high = float(stats.get(spec.name, {}).get("max", low + 100.0))
        step = _nice_step(high - low)
        slider_min = max(math.floor(low / step) * step, spec.minimum)
        slider_max = min(math.ceil(high / step) * step, spec.maximum)
        if slider_max <= slider_min:
            slider_max = slider_min + step
        typical = float(np.median(sample[:, f])) if len(sample) else float(stats.get(spec.name, {}).get("mean", low))
        typical = min(max(_snap(typical, step), slider_min), slider_max)
        slider_min, slider_max = _snap(slider_min, step), _snap(slider_max, step)
        if _decimals(step) == 0:
            slider_min, slider_max = int(slider_min), int(slider_max)
        fields.append(FormField(spec.name, spec.label, spec, slider_min, slider_max, step, number_text(typical, step)))
    return fields


def _is_default(fields: Sequence[FormField]) -> bool:
    return [field.name for field in fields] == list(DEFAULT_FEATURES)


def parse_customer(
    values: Mapping[str, str | None], fields: Sequence[FormField] = FORM_FIELDS
) -> tuple[dict[str, float] | None, dict[str, str]]:
    """Validate form text (the default form with the API's own schema); return the customer or a message per field."""
    numbers: dict[str, float] = {}
    errors: dict[str, str] = {}
    for field in fields:
        text = (values.get(field.name) or "").strip()
        if not text:
            errors[field.name] = "Enter a number."
            continue
        if len(text) > MAX_TEXT or not DECIMAL_OR_NON_FINITE.fullmatch(text):
            errors[field.name] = f"'{text[:20]}' is not a number."
            continue
        numbers[field.name] = float(text)
    if _is_default(fields):
        if errors:
            return None, errors
        try:
            return dict(CustomerValidator.validate_python(numbers)), {}
        except ValidationError as exc:
            for error in exc.errors():
                name = str(error["loc"][0])
                errors[name] = _friendly(FEATURES[name], finite=error["type"] != "finite_number")
            return None, errors
    for field in fields:
        if field.name not in numbers:
            continue
        value, feature = numbers[field.name], field.feature
        if not math.isfinite(value):
            errors[field.name] = _friendly(feature, finite=False)
        elif not feature.minimum <= value <= feature.maximum:
            errors[field.name] = _friendly(feature, finite=True)
    return (None, errors) if errors else (numbers, {})


def _friendly(feature: Feature, *, finite: bool) -> str:
    bounds = feature.range_text()
    if bounds == "any finite number":
        return "Enter a finite number."
    return f"Enter a value {bounds}." if finite else f"Enter a finite number {bounds}."


def slider_value(field: FormField, text: str) -> str:
    """Where a field's slider stands for a typed value: clamped to the slider's ends, on its steps, as browsers do."""
    try:
        value = float(text)
    except ValueError:
        return str(field.slider_min)
    if value != value:  # NaN
        return str(field.slider_min)
    clamped = min(max(value, field.slider_min), field.slider_max)
    if _decimals(field.step) == 0 and float(field.step) == 1 and float(field.slider_min).is_integer():
        return str(round(clamped))  # the default sliders: whole numbers, as they always were
    return number_text(field.slider_min + _snap(clamped - field.slider_min, field.step), field.step)


def _accepted(field: FormField, text: str | None) -> bool:
    """Whether a field's text is a finite number in the field's accepted range."""
    text = (text or "").strip()
    if len(text) > MAX_TEXT or not DECIMAL_OR_NON_FINITE.fullmatch(text):
        return False
    value, feature = float(text), field.feature
    return math.isfinite(value) and feature.minimum <= value <= feature.maximum


def slider_position(field: FormField, text: str | None, last: str | None) -> str:
    """Where the page puts a field's slider: at the box's value when it is valid, else at the last valid one.

    An invalid box leaves the slider where it was rather than at an end: 500 would clamp it to the maximum and
    "abc" to the minimum, neither of which the user chose.
    """
    for candidate in (text, last, field.default):
        if _accepted(field, candidate):
            return slider_value(field, (candidate or "").strip())
    return slider_value(field, field.default)


def submitted_form(values: Mapping[str, str | None], fields: Sequence[FormField]) -> dict[str, str | None]:
    """The value of each field the user set in the no-JavaScript form: the number box, or the slider if only it moved.

    Both controls submit (the slider as `<field>_slider`), with `<field>_was`, the box's value as the page showed it,
    and `<field>_last`, the last valid value. A changed box wins; otherwise a slider moved away from where the page
    put it wins; otherwise the box.
    """
    form: dict[str, str | None] = {}
    for field in fields:
        name = field.name
        number, slider, was = values.get(name), values.get(f"{name}_slider"), values.get(f"{name}_was")
        number_changed = was is None or (number or "").strip() != was.strip()
        placed = slider_position(field, was, values.get(f"{name}_last"))
        slider_moved = slider is not None and was is not None and slider.strip() != placed
        form[name] = slider.strip() if slider_moved and not number_changed else number
    return form


def _note_number(value: float) -> str:
    """A number as the page prints it: grouped thousands, at most one decimal."""
    text = f"{value:,.1f}"
    return text[:-2] if text.endswith(".0") else text


def out_of_range_notes(result: dict[str, Any], specs: Sequence[Feature] | None = None) -> list[str]:
    """One sentence per value outside the training range, as the result card shows them (app.js words them alike)."""
    by_name = {spec.name: spec for spec in specs} if specs is not None else FEATURES
    notes = []
    for item in result.get("out_of_range", []):
        feature = by_name[item["feature"]]
        unit = f" {feature.short_unit}" if feature.short_unit else ""
        notes.append(
            f"{feature.noun} {_note_number(item['value'])}{unit} is outside the {feature.plural} this model was "
            f"trained on ({_note_number(item['training_min'])}–{_note_number(item['training_max'])}{unit}): "
            "treat the segment as an extrapolation."
        )
    return notes
