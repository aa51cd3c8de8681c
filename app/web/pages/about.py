"""The model card: facts, metrics with their meanings, the k chart, segment statistics and an API example."""

import json
from typing import Any

from app.models.model import SegmentationModel
from app.models.rfm.left_out import left_out_lines
from app.models.segmentations.spec import DEFAULT_NAME
from app.models.small_segments import small_segment_notes
from app.models.synthetic import BUNDLED_SHA256
from app.services import rules, segments
from app.services.segmentations import example_features
from app.web.charts.importance import importance_chart
from app.web.charts.k_chart import k_selection_chart
from app.web.pages.common import segment_context

METRIC_MEANINGS = {
    "silhouette": (
        "Silhouette",
        "From -1 to 1: how much closer customers are to their own segment than to the next one; above 0.5 is a "
        "clear structure.",
    ),
    "davies_bouldin": (
        "Davies-Bouldin index",
        "From 0 up: how much segments overlap relative to their size; lower is better, below 1 is well separated.",
    ),
    "calinski_harabasz": (
        "Calinski-Harabasz index",
        "From 0 up: spread between segments divided by spread within them; higher means denser, more distinct groups.",
    ),
    "inertia": (
        "Inertia",
        "Sum of squared distances from each customer to its segment centre (standardized units); it always falls as k "
        "grows, so look for the elbow.",
    ),
}


def training_data(info: dict[str, Any]) -> dict[str, Any]:
    """The file a model was trained on, how many rows it had, and whether it is the bundled synthetic data.

    Synthetic means the very bytes the project generates (by hash), whatever the file is called: a real file
    dropped in as data/raw/mall_customers.csv is not synthetic, and the synthetic data under another name is.
    """
    dropped = info.get("dropped_rows") or {}
    rows = info.get("n_input_rows") or info.get("n_samples")
    # An RFM version's rows were built from transaction lines: the file's lines are what was read and left out.
    lines = (info.get("rfm_summary") or {}).get("rows_read")
    if isinstance(lines, int):
        rows, dropped = lines, left_out_lines(info["rfm_summary"])
    left_out = sum(dropped.values())
    return {
        "file": info.get("data_file"),
        "rows": rows,
        "transaction_lines": isinstance(lines, int),
        "synthetic": info.get("data_sha256") == BUNDLED_SHA256,
        "auto_trained": bool(info.get("auto_trained")),
        # Rows cleaning left out, by reason: a bound that drops most of a file must not pass unseen.
        "dropped": dropped,
        "left_out": left_out,
        "mostly_left_out": bool(rows) and left_out * 2 > rows,
    }


def curl_example(model: SegmentationModel, *, base_url: str, segmentation: str) -> str:
    """A predict request for the page's segmentation: the flat body of /predict for the default, else its features."""
    if segmentation == DEFAULT_NAME:
        return (
            f"curl -s -X POST {base_url}/api/v1/predict -H 'Content-Type: application/json' "
            '-d \'{"annual_income": 120, "spending_score": 90}\''
        )
    body = json.dumps({"features": example_features(model.feature_specs, model)})
    return (
        f"curl -s -X POST {base_url}/api/v1/segmentations/{segmentation}/predict "
        f"-H 'Content-Type: application/json' -d '{body}'"
    )


def about_page(
    model: SegmentationModel,
    *,
    base_url: str,
    segmentation: str = DEFAULT_NAME,
    changes: dict[int, list[dict[str, Any]]] | None = None,
    admin_enabled: bool = False,
) -> dict[str, Any]:
    """Context for the model card: facts, metrics with meanings, k chart, statistics, segments, API example.

    `changes` are each segment's latest text changes (the team's names); with `admin_enabled` the page offers to
    edit them with the admin key, sent as a header by about.js as on /models.
    """
    facts = segments.model_facts(model, include_sklearn_version=False)
    statistics = segments.segment_statistics(model)["segments"]
    descriptions = segments.segment_descriptions(model)["segments"]
    return {
        "model": model,
        "facts": facts,
        "data": training_data(model.info),
        "metrics": [
            {"key": key, "label": label, "meaning": meaning, "value": facts["metrics"][key]}
            for key, (label, meaning) in METRIC_MEANINGS.items()
        ],
        "k_chart": k_selection_chart(model),
        # Versions trained before the flag existed all swept.
        "swept": model.info.get("sweep", True),
        "segments": [
            {
                **stats,
                **info,
                "profile_text": profile_text(stats.get("profile")),
                "generated_name": segment.metric_name,
                "changes": (changes or {}).get(segment.segment_id, []),
            }
            for stats, info, segment in zip(statistics, descriptions, model.segments, strict=True)
        ],
        "small_segments": small_segment_notes(model.segments),
        "admin_enabled": admin_enabled,
        "api_base": "/api/v1" if segmentation == DEFAULT_NAME else f"/api/v1/segmentations/{segmentation}",
        "segment_columns": grid_columns(len(statistics)),
        "curl_example": curl_example(model, base_url=base_url, segmentation=segmentation),
        "styles": segment_context(model)["styles"],
        **rules_context(model),
    }


def grid_columns(count: int) -> int:
    """Columns for a grid of `count` cards that never leaves one card alone on the last row (5 -> 3 + 2)."""
    for columns in (3, 4, 2):
        if count <= columns or count % columns == 0 or count % columns >= columns - 1:
            return min(columns, count) if count > 1 else 1
    return 2


def profile_text(profile: dict[str, Any] | None) -> str:
    """One sentence about a segment's ages and genders, or '' when the training data had neither."""
    if not profile:
        return ""
    parts = []
    if age := profile.get("age"):
        parts.append(
            f"Average age {age['mean']:.1f} (median {age['median']:.0f}; half are {age['q1']:.0f}–{age['q3']:.0f})"
        )
    if gender := profile.get("gender"):
        shares = sorted(gender.items(), key=lambda item: -item[1])
        parts.append(", ".join(f"{share * 100:.0f}% {name.lower()}" for name, share in shares))
    return "; ".join(parts) + "." if parts else ""


# A centroid this many standard deviations from the mean stands out on a feature (as segment names count it).
STANDS_OUT = 0.5


def drivers_text(model: SegmentationModel, segment_id: int) -> str:
    """What sets a segment apart, strongest first: "Spending Score (1-100) +1.3 sd, Annual Income (k$) +1.0 sd"."""
    position = rules.standardized_centroid(model, segment_id)
    if not position:
        return ""
    labels = {spec.name: spec.label for spec in model.feature_specs}
    strongest = sorted(
        ((name, value) for name, value in position.items() if abs(value) >= STANDS_OUT), key=lambda item: -abs(item[1])
    )
    if not strongest:
        return "close to the average customer on every feature"
    return ", ".join(f"{labels[name]} {value:+.1f} sd" for name, value in strongest) + " from the average customer"


def rules_context(model: SegmentationModel) -> dict[str, Any]:
    """The segment rules with their fidelity and SQL, and the feature-importance chart, as the version recorded them."""
    return {
        "rules": [
            {**segment_rules, "drivers": drivers_text(model, segment_rules["segment_id"])}
            for segment_rules in rules.all_rules(model)
        ],
        "rules_fidelity": rules.overall_fidelity(model),
        "rules_depth": (model.info.get("segment_rules") or {}).get("max_depth"),
        "importance_chart": importance_chart(rules.feature_importance(model)),
        "no_rules_note": rules.NO_RULES_NOTE,
    }
