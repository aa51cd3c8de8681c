"""Shared fixtures: the default dataset and a model trained on it in a temporary folder."""

import os
from pathlib import Path

import pytest

from app.core.config import PROJECT_ROOT
from app.models.artifacts import load_model
from app.models.segmenter import SegmentationModel
from app.models.synthetic import write_customers
from app.models.training import train

# Five points whose segment every correct model agrees on: (income k$, score) -> name.
KNOWN_POINTS: dict[tuple[float, float], str] = {
    (120, 90): "VIP / Whale",
    (20, 10): "Budget Conscious",
    (55, 50): "Average Customer",
    (20, 90): "Young Trendsetter",
    (120, 10): "High Earner Saver",
}


@pytest.fixture(scope="session")
def default_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The synthetic default dataset, generated fresh from code."""
    return write_customers(tmp_path_factory.mktemp("data") / "mall_customers.csv")


@pytest.fixture(scope="session")
def model_dir(default_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding a default model trained on the default data."""
    output = tmp_path_factory.mktemp("model") / "models_artifacts"
    train(default_data, output_dir=output, processed_dir=output.parent / "processed")
    return output


@pytest.fixture(scope="session")
def model(model_dir: Path) -> SegmentationModel:
    """The default model, loaded back from its verified artifacts."""
    return load_model(model_dir)


@pytest.fixture(scope="session")
def public_mall_csv() -> Path:
    """The public Mall Customers CSV, when the environment provides one (it is not shipped)."""
    candidates = [os.environ.get("MALL_CUSTOMERS_PUBLIC_CSV"), PROJECT_ROOT / "data" / "raw" / "Mall_Customers.csv"]
    for candidate in candidates:
        if candidate and Path(candidate).is_file():
            return Path(candidate)
    pytest.skip("the public Mall Customers CSV is not shipped; set MALL_CUSTOMERS_PUBLIC_CSV to check against it")
