"""Small statistics helpers with no business knowledge."""

import numpy as np


def iqr_outliers(values: np.ndarray, factor: float = 1.5) -> np.ndarray:
    """Boolean mask of values outside [Q1 - factor*IQR, Q3 + factor*IQR] (Tukey's fences)."""
    values = np.asarray(values, dtype=np.float64)
    q1, q3 = np.percentile(values, [25, 75])
    spread = q3 - q1
    return (values < q1 - factor * spread) | (values > q3 + factor * spread)
