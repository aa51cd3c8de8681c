"""The /models page's retraining proposals: reason, state, the comparison's summary, and buttons for admins only."""

from app.db.session import create_db_engine, session_factory
from app.services.proposals import records

KEY = "models-proposals-key"
SUMMARY = {
    "customers": 1234,
    "agreement": 0.875,
    "silhouette_active": 0.512,
    "silhouette_candidate": 0.534,
    "grown": ["Savers"],
    "shrunk": [],
    "lost": ["Spenders"],
    "new": [],
    "promotable": False,
    "not_promotable_because": ["segment(s) lost: Spenders"],
}


def _ready(url: str, version: str) -> str:
    engine = create_db_engine(url)
    with session_factory(engine)() as session:
        row = records.create(
            session, segmentation="default", trigger=records.DRIFT, reason="drift in income since then",
            base_version=version,
        )  # fmt: skip
        row.state, row.candidate_version, row.comparison = records.READY, "cand-1", {"summary": SUMMARY}
        session.commit()
        proposal_id = row.id
    engine.dispose()
    return proposal_id


def test_models_page_lists_a_proposal_with_its_summary_and_buttons(client_for, fresh_dir, tmp_path, model):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url, admin_api_keys=[KEY])
    proposal_id = _ready(url, model.version)
    page = client.get("/models")
    assert page.status_code == 200
    item = page.text.split(f'<li data-proposal="{proposal_id}"')[1].split("</li>")[0]
    assert "drift in income since then" in item and 'data-role="proposal-state">ready<' in item
    assert "1,234 recent customers: agreement 87.5%, silhouette 0.512 → 0.534; grown: Savers; lost: Spenders." in item
    assert 'data-decision="accept"' in item and 'data-decision="dismiss"' in item


def test_models_page_without_admin_shows_no_buttons(client_for, fresh_dir, tmp_path, model):
    url = f"sqlite:///{tmp_path / 'log.sqlite3'}"
    client = client_for(model_dir=fresh_dir, database_url=url)
    assert 'data-role="no-proposals"' in client.get("/models").text
    _ready(url, model.version)
    page = client.get("/models").text
    assert "drift in income since then" in page and 'data-action="proposal"' not in page
