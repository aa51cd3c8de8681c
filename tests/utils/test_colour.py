"""The WCAG contrast ratio against values the WCAG definition gives by hand."""

import pytest

from app.utils.colour import contrast_ratio, relative_luminance


def test_luminance_runs_from_black_to_white():
    assert relative_luminance("#000000") == 0
    assert relative_luminance("#ffffff") == pytest.approx(1)
    # Green weighs most, blue least (0.7152 and 0.0722 of the linear channels).
    assert relative_luminance("#00ff00") == pytest.approx(0.7152)
    assert relative_luminance("#0000ff") == pytest.approx(0.0722)


def test_contrast_of_known_pairs_in_either_order():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    # #777777 on white is the classic grey that just fails AA.
    assert contrast_ratio("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast_ratio("#ffffff", "#777777") == contrast_ratio("#777777", "#ffffff")
