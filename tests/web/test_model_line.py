"""The footer's line on what a segmentation clusters on, for labels written as column headings."""

from types import SimpleNamespace

import pytest

from app.web.pages.common import model_line


def served(*labels: str) -> SimpleNamespace:
    """A stand-in for a served model: only what the footer's line reads."""
    specs = [SimpleNamespace(label=label) for label in labels]
    return SimpleNamespace(features=[f"f{i}" for i in range(len(labels))], feature_specs=specs)


@pytest.mark.parametrize(
    ("labels", "line"),
    [
        (("Alter", "Annual Income", "Spending Score"), "KMeans on alter, annual income and spending score"),
        (("Recency", "Frequency"), "KMeans on recency and frequency"),
        (("NPS score", "Visits in Berlin"), "KMeans on NPS score and visits in Berlin"),
        (("Income (k$)", "Orders"), "KMeans on income (k$) and orders"),
    ],
)
def test_model_line_writes_title_case_labels_in_lower_case(labels, line):
    assert model_line(served(*labels)) == line
