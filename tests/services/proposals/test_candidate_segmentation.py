"""A proposal for a 3-feature segmentation: its candidate learns from that segmentation's log rows only, each
customer once, and is saved beside that segmentation's versions."""

from pathlib import Path

import pandas as pd

from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation
from app.models.synthetic_crm import write_crm
from app.models.versions.store import VersionStore
from app.services.proposals import records
from app.services.proposals.candidate import train_candidate
from tests.api.test_monitoring import customers, feed
from tests.api.test_segmentations import LOYALTY
from tests.services.proposals.helpers import proposals


def test_a_segmentations_candidate_trains_on_its_own_customers_each_once(client_for, fresh_dir: Path, tmp_path: Path):
    spec = SegmentationCatalog(fresh_dir).create(SegmentationSpec.from_dict(LOYALTY))
    crm = write_crm(tmp_path / "crm.csv")
    base = train_segmentation(spec, crm, models_root=fresh_dir, k=3).model
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url)
    frame = pd.read_csv(crm).head(200)
    batch = [
        {"customer_id": int(row.CustomerID), "features": {"income": row.Income, "visits": row.Visits,
                                                          "tenure": row.Tenure}}
        for row in frame.itertuples()
    ]  # fmt: skip
    for _ in range(2):  # every customer scored twice: the candidate sees each once
        response = client.post("/api/v1/segmentations/loyalty/predict/batch", json={"customers": batch})
        assert response.status_code == 200, response.text
    feed(client, customers(300, seed=91))  # the default segmentation's traffic is not this one's
    with client.app.state.db_sessions() as session:
        row = records.create(
            session, segmentation="loyalty", trigger=records.MANUAL, reason="test", base_version=base.version
        )
        session.commit()
        proposal_id = row.id

    result = train_candidate(settings=client.app.state.settings, proposal_id=proposal_id)

    folder = SegmentationCatalog(fresh_dir).folder("loyalty")
    candidate = VersionStore(folder).load(result.model.version)
    assert candidate.features == base.features and candidate.n_clusters == 3
    assert candidate.info["segmentation"] == "loyalty" and candidate.info["n_input_rows"] == 200
    assert VersionStore(folder).active_version() == base.version
    assert result.model.version not in VersionStore(fresh_dir).versions()
    (stored,) = proposals(url)
    assert stored.state == records.READY and stored.comparison["summary"]["customers"] == 200
