"""The team's segment names on pages: the /about edit form and history, and HTML in a name shown as text."""

import re
from html.parser import HTMLParser

import pytest

from app.models.versions.store import VersionStore

KEY = "about-edits-admin-key"
ADMIN = {"X-API-Key": KEY}
HTML = {"accept": "text/html"}
EVIL = '<script>alert("x")</script><b>Top</b>'
ESCAPED = "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;&lt;b&gt;Top&lt;/b&gt;"


def _vip(client) -> tuple[int, dict[str, float]]:
    segments = client.get("/api/v1/clusters/info").json()["segments"]
    vip = next(s["segment_id"] for s in segments if s["segment_name"] == "VIP / Whale")
    return vip, client.get(f"/api/v1/clusters/{vip}").json()["centroid"]


@pytest.fixture
def admin(client_for, two_versions):
    return client_for(model_dir=two_versions[0], admin_api_keys=[KEY])


def _rename(client, segment_id: int, name: str, reason: str = "") -> None:
    response = client.patch(f"/api/v1/clusters/{segment_id}", json={"name": name, "reason": reason}, headers=ADMIN)
    assert response.status_code == 200, response.text


def test_html_in_a_name_is_text_on_about_the_home_card_and_models(admin, two_versions):
    _, _, second = two_versions
    vip, centre = _vip(admin)
    _rename(admin, vip, EVIL, reason="<i>why</i>")
    about = admin.get("/about", headers=HTML)
    assert about.status_code == 200
    assert EVIL not in about.text and "<i>why</i>" not in about.text
    card = re.search(rf'<article class="card segment-card" data-segment-id="{vip}">.*?</article>', about.text, re.S)
    assert f'<span data-role="segment-name">{ESCAPED}</span>' in card.group(0)
    assert "generated as “VIP / Whale”" in card.group(0) and "&lt;i&gt;why&lt;/i&gt;" in card.group(0)
    assert f'value="{ESCAPED}"' in card.group(0)  # the edit form starts from the current name

    home = admin.get("/", params=centre, headers=HTML)
    assert home.status_code == 200 and EVIL not in home.text
    assert f'data-field="segment_name">{ESCAPED}<' in home.text

    models = admin.get("/models", params={"compare": second, "with": "active"}, headers=HTML)
    assert models.status_code == 200 and EVIL not in models.text
    row = re.search(rf'<tr data-segment-id="{vip}">.*?</tr>', models.text, re.S).group(0)
    assert ESCAPED in row


def test_a_name_a_spreadsheet_would_run_is_made_inert_in_the_labelled_csv(admin):
    vip, centre = _vip(admin)
    _rename(admin, vip, "=HYPERLINK(1)")
    csv = f"annual_income,spending_score\n{centre['annual_income']},{centre['spending_score']}\n"
    scored = admin.post("/api/v1/predict/csv?output=csv", files={"file": ("c.csv", csv, "text/csv")})
    assert scored.status_code == 200
    assert "'=HYPERLINK(1)" in scored.text and ",=HYPERLINK" not in scored.text


class _Forms(HTMLParser):
    """Each input and textarea with the id of the form holding it (None outside every form)."""

    def __init__(self) -> None:
        super().__init__()
        self.form: dict | None = None
        self.controls: list[tuple[dict, dict | None]] = []

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "form":
            self.form = dict(attrs)
        elif tag in ("input", "textarea"):
            self.controls.append((dict(attrs), self.form))

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.form = None


def test_about_offers_the_edit_form_with_the_key_outside_every_form_and_shows_changes(admin):
    vip, _ = _vip(admin)
    _rename(admin, vip, "Top spenders", reason="team word")
    admin.patch(f"/api/v1/clusters/{vip}", json={"marketing_strategy": ["Call them", "Thank them"]}, headers=ADMIN)
    html = admin.get("/about", headers=HTML).text
    parser = _Forms()
    parser.feed(html)
    key_field, holder = next((a, f) for a, f in parser.controls if a.get("id") == "admin-key")
    assert holder is None and "name" not in key_field
    names = {a.get("name") for a, f in parser.controls if f and f.get("data-segment-id") == str(vip)}
    assert names == {"name", "description", "marketing_strategy", "reason"}
    strategy = re.search(rf'<textarea id="strategy-{vip}"[^>]*>(.*?)</textarea>', html, re.S).group(1)
    assert strategy.split("\n") == ["Call them", "Thank them"]
    history = re.search(rf'data-segment-id="{vip}">.*?<details class="segment-history".*?</details>', html, re.S)
    text = history.group(0)
    assert "“VIP / Whale” → “Top spenders” (team word)" in text and "Call them; Thank them" in text
    assert text.count('data-action="revert"') == 2 and "about.js" in html


def test_without_admin_keys_the_changes_show_but_nothing_offers_to_edit(client_for, two_versions, admin):
    vip, _ = _vip(admin)
    _rename(admin, vip, "Top spenders")
    closed = client_for(model_dir=two_versions[0]).get("/about", headers=HTML).text
    assert "Top spenders" in closed and 'data-role="segment-history"' in closed
    assert 'id="admin-key"' not in closed and "segment-edit-form" not in closed and 'data-action="revert"' not in closed


def test_a_version_asked_for_by_id_shows_the_team_name_too(admin, two_versions):
    root, _, second = two_versions
    vip, _ = _vip(admin)
    _rename(admin, vip, "Top spenders")
    # The second version was trained against the first, so its VIP cluster kept the id.
    centre = VersionStore(root).load(second).segment(vip).centroid
    answer = admin.post(f"/api/v1/predict?model_version={second}", json=centre)
    assert answer.status_code == 200
    assert (answer.json()["model_version"], answer.json()["segment_id"]) == (second, vip)
    assert answer.json()["segment_name"] == "Top spenders"
