"""The served model's metadata: what it is, how it was trained and how good it is."""

from pydantic import BaseModel, Field

from app.schemas.common import example_config
from app.schemas.prediction import PREDICTION_EXAMPLE
from app.schemas.rules import IMPORTANCE_EXAMPLE, FeatureImportance

_VERSION = PREDICTION_EXAMPLE["model_version"]


# The default model's quality, shown by every example that describes a version.
METRICS_EXAMPLE = {
    "inertia": 50.48,
    "silhouette": 0.6026,
    "davies_bouldin": 0.4921,
    "calinski_harabasz": 337.57,
    "silhouette_sample_size": 200,
}


K_SELECTION_EXAMPLE = [{"k": 4, "inertia": 95.44, "silhouette": 0.535}, {"k": 5, "inertia": 50.48, "silhouette": 0.603}]


class KSelectionEntry(BaseModel):
    """Evidence for one candidate number of segments."""

    k: int = Field(description="A number of segments tried.")
    inertia: float = Field(description="Sum of squared distances to the nearest centroid with that k.")
    silhouette: float = Field(description="-1 to 1; higher means tighter, better separated segments.")


class Metrics(BaseModel):
    """Clustering quality on the training data."""

    inertia: float = Field(description="Sum of squared distances to the nearest centroid (standardized units).")
    silhouette: float = Field(description="-1 to 1; higher means tighter, better separated segments.")
    davies_bouldin: float = Field(description="0 and up; lower means better separated segments.")
    calinski_harabasz: float = Field(description="0 and up; higher means denser, better separated segments.")
    silhouette_sample_size: int = Field(description="Rows the silhouette was computed on.")


class ModelInfo(BaseModel):
    """Metadata of the loaded model."""

    model_config = example_config(
        {
            "algorithm": "KMeans",
            "scaling": "StandardScaler",
            "n_clusters": 5,
            "features": ["annual_income", "spending_score"],
            "feature_labels": {
                "annual_income": "Annual Income (k$)",
                "spending_score": "Spending Score (1-100)",
            },
            "version": _VERSION,
            "trained_at": "2026-11-26T16:51:10+00:00",
            "n_samples": 200,
            "n_input_rows": 200,
            "dropped_rows": {},
            "random_state": 42,
            "metrics": METRICS_EXAMPLE,
            "k_selection": K_SELECTION_EXAMPLE,
            "k_selection_sample_size": 200,
            "sweep": True,
            "k_requested": "5",
            "data_file": "mall_customers.csv",
            "data_sha256": "95dfbc16" + "0" * 56,
            "sklearn_version": "1.9.1",
            "auto_trained": False,
            "signed": True,
            "importance": IMPORTANCE_EXAMPLE,
            "rules_fidelity": 0.985,
            "notes": [],
        }
    )

    algorithm: str = Field(description="The clustering algorithm.", examples=["KMeans"])
    scaling: str = Field(description="How features are scaled before clustering.", examples=["StandardScaler"])
    n_clusters: int = Field(description="Number of segments.")
    features: list[str] = Field(description="The features the model takes, in its order.")
    feature_labels: dict[str, str] = Field(description="How pages and charts name each feature.")
    version: str = Field(description="The version's name: training time and the data's hash.")
    trained_at: str = Field(description="When it was trained (UTC, ISO 8601).")
    n_samples: int = Field(description="Training rows kept after cleaning.")
    n_input_rows: int = Field(description="Rows the training file had.")
    dropped_rows: dict[str, int] = Field(description="Rows dropped while cleaning, by reason.")
    random_state: int = Field(description="The KMeans seed.")
    metrics: Metrics = Field(description="This version's clustering quality on its training data.")
    k_selection: list[KSelectionEntry] = Field(description="Every k of the sweep with its evidence.")
    k_selection_sample_size: int = Field(description="Rows the sweep's silhouettes were computed on.")
    sweep: bool = Field(
        True,
        description="False when only the requested k was fitted, without the k = 2..10 sweep (`k_selection` is "
        "then empty); versions trained before this flag existed all swept.",
    )
    k_requested: str = Field(description="The k asked for: a number, or `auto` (chosen by silhouette).")
    data_file: str = Field(description="The training file's name.")
    data_sha256: str = Field(description="SHA-256 of the training file.")
    sklearn_version: str | None = Field(
        None, description="scikit-learn version the model was trained with: only with an admin key in X-API-Key."
    )
    auto_trained: bool = Field(
        False, description="True when the service trained this model by itself on the bundled synthetic data."
    )
    signed: bool = Field(
        description="True when the artifacts carry an HMAC signature checked with MODEL_SIGNING_KEY at load; "
        "false means sha256 checksums only (unsigned)."
    )
    importance: FeatureImportance | None = Field(
        None, description="What drives the segments overall; null for a version trained before it was recorded."
    )
    rules_fidelity: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Share of training customers the segment rules (GET /clusters/{id}/rules) put in the model's own "
        "segment; null for a version trained before rules were recorded.",
    )
    notes: list[str] = Field(default_factory=list, description="Plain-language warnings about this model.")
