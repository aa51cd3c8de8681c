"""The A/B report's per-segment rows and their warnings, without a database."""

from app.services.experiments.report import _Cell, _segment


def test_a_small_arm_warning_counts_one_customer_in_the_singular():
    cells = {
        "champion": _Cell(customers=1, conversions=1, values=[5.0]),
        "challenger": _Cell(customers=2, values=[0.0, 0.0]),
    }
    row = _segment("VIP / Whale", cells, has_values=True, alpha=0.05, min_customers=30)
    assert "only 1 customer in the champion arm: fewer than 30, too few to trust a test" in row["warnings"]
    assert "only 2 customers in the challenger arm: fewer than 30, too few to trust a test" in row["warnings"]
