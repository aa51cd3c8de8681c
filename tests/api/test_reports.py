"""GET /api/v1/models/{version}/report: HTML or PDF by `format` or Accept, at the top level and per segmentation."""

import base64
import hashlib
import re
import subprocess
import sys

import pytest

from app.core.config import PROJECT_ROOT
from app.web.reports import pick_format

REPORT = "/api/v1/models/{version}/report"


def _style_hash(html: str) -> str:
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    return base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()


def test_the_html_report_has_every_segment_table_and_chart(client, model):
    response = client.get(REPORT.format(version=model.version), headers={"Accept": "text/html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert model.version in html and model.info["data_file"] in html
    # The drift part names its window: a span of time in which each customer counts once.
    assert re.search(r"customers this version scored from \d{4}-\d\d-\d\d \d\d:\d\d to .* UTC, each counted once", html)
    for segment in model.segments:
        section = re.search(
            rf'<section class="segment" data-segment-id="{segment.segment_id}".*?</section>', html, re.S
        )
        assert section is not None, segment.name
        body = section.group(0)
        assert segment.name in body and segment.description in body
        assert all(step in body for step in segment.strategy)
        assert body.count('<table class="profile">') == 1
        for spec in model.feature_specs:
            assert f'<th scope="row">{spec.label}' in body
        assert "Gender:" in body
        assert body.count('src="data:image/png;base64,') == 1
    # The sizes chart and the feature importance chart too, and every image is a real PNG.
    images = re.findall(r'src="data:image/png;base64,([^"]+)"', html)
    assert len(images) == 2 + len(model.segments)
    assert all(base64.b64decode(image).startswith(b"\x89PNG") for image in images)


def test_the_html_report_allows_its_own_style_and_nothing_else(client, model):
    response = client.get(REPORT.format(version="active"))
    policies = response.headers.get_list("content-security-policy")
    assert len(policies) == 1  # the page policy is not added beside it: a second one would refuse the style
    assert f"'sha256-{_style_hash(response.text)}'" in policies[0]
    assert "script-src" not in policies[0] and "default-src 'none'" in policies[0]


@pytest.mark.parametrize(
    ("query", "accept", "media_type"),
    [
        ("", "application/pdf", "application/pdf"),
        ("", "text/html,application/pdf;q=0.5", "text/html"),
        ("", "*/*", "text/html"),
        ("?format=pdf", "text/html", "application/pdf"),
        ("?format=html", "application/pdf", "text/html"),
        ("?format=pdf&paper=letter", "", "application/pdf"),
    ],
)
def test_the_format_follows_the_parameter_then_the_accept_header(client, query, accept, media_type):
    response = client.get(REPORT.format(version="active") + query, headers={"Accept": accept} if accept else {})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(media_type)
    if media_type == "application/pdf":
        assert response.content.startswith(b"%PDF-")
        assert "inline" in response.headers["content-disposition"]


def test_paper_sizes_differ(client):
    sizes = {}
    for paper in ("a4", "letter"):
        pdf = client.get(REPORT.format(version="active") + f"?format=pdf&paper={paper}").content
        sizes[paper] = re.search(rb"/MediaBox \[\s*0 0 ([\d.]+) ([\d.]+)", pdf).groups()
    assert tuple(round(float(v)) for v in sizes["a4"]) == (595, 842)
    assert tuple(round(float(v)) for v in sizes["letter"]) == (612, 792)


def test_download_sends_an_attachment(client, model):
    response = client.get(REPORT.format(version="active") + "?format=pdf&download=true")
    assert response.status_code == 200
    assert response.headers["content-disposition"] == (
        f'attachment; filename="segment-report-default-{model.version}.pdf"'
    )


@pytest.mark.parametrize(
    ("path", "status"),
    [
        (REPORT.format(version="20990101.000000.000000-0000000000"), 404),
        ("/api/v1/segmentations/nosuch/models/active/report", 404),
        (REPORT.format(version="active") + "?format=docx", 422),
        (REPORT.format(version="active") + "?paper=a3", 422),
        (REPORT.format(version="x" * 65), 422),
    ],
)
def test_bad_requests_are_refused(client, path, status):
    response = client.get(path, headers={"Accept": "application/pdf"})
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/json")


def test_the_report_is_served_per_segmentation_too(client, model):
    response = client.get(f"/api/v1/segmentations/default/models/{model.version}/report?format=html")
    assert response.status_code == 200
    assert f"version {model.version}" in response.text


def test_the_drift_status_is_the_monitoring_one(client_for, model, model_dir, tmp_path):
    from tests.api.test_monitoring import customers

    # A log of its own: on the shared one, other tests' predictions land between the two reads.
    client = client_for(model_dir=model_dir, database_url=f"sqlite:///{tmp_path / 'log.sqlite3'}")
    shifted = customers(300, 7, income_shift=model.info["data_stats"]["annual_income"]["std"])
    assert client.post("/api/v1/predict/batch", json={"customers": shifted}).status_code == 200
    assert client.app.state.prediction_log.flush()
    drift = client.get("/api/v1/monitoring/drift").json()
    assert drift["status"] == "drift"  # a verdict, not the "insufficient data" of an empty log
    html = client.get(REPORT.format(version="active")).text
    assert f'data-drift-status="{drift["status"]}"' in html


def test_a_later_version_shows_its_migration(client_for, two_versions):
    root, first, second = two_versions
    client = client_for(model_dir=root)
    comparison = client.get(f"/api/v1/models/{second}/compare?with={first}").json()
    html = client.get(REPORT.format(version=second)).text
    moved = sum(
        count
        for i, row in enumerate(comparison["migration_matrix"])
        for j, count in enumerate(row)
        if comparison["old_segments"][i]["name"] != comparison["new_segments"][j]["name"]
    )
    assert f"Against version {first}" in html
    assert f"{moved:,} of {comparison['n_customers']:,}" in html


@pytest.mark.parametrize(
    ("asked", "accept", "chosen"),
    [
        (None, None, "html"),
        (None, "application/pdf, text/html", "html"),  # equally wanted: HTML, the default
        (None, "text/html;q=0.4, application/pdf", "pdf"),
        (None, "application/pdf;q=0.1, text/html;q=0.9", "html"),
        (None, "application/pdf;q=oops", "html"),
        ("html", "application/pdf", "html"),
        ("pdf", "text/html", "pdf"),
    ],
)
def test_pick_format(asked, accept, chosen):
    assert pick_format(asked, accept) == chosen


@pytest.mark.slow  # another Python process
def test_starting_the_server_loads_no_chart_pdf_data_or_cluster_library():
    code = (
        "import sys\n"
        "import main\n"
        "from app.core.config import Settings\n"
        "from app.main import create_app\n"
        "create_app(Settings(_env_file=None, auto_train=False))\n"
        "heavy = {'matplotlib', 'reportlab', 'PIL', 'pandas', 'pyarrow', 'scipy', 'sklearn', 'dask'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"


def test_a_segmentation_of_other_columns_reports_its_own_features(client_for, fresh_dir, tmp_path):
    from app.models.segmentations.catalog import SegmentationCatalog
    from app.models.segmentations.spec import SegmentationSpec
    from app.models.segmentations.training import train_segmentation
    from app.models.synthetic_crm import write_crm
    from tests.api.test_segmentations import LOYALTY

    spec = SegmentationCatalog(fresh_dir).create(SegmentationSpec.from_dict(LOYALTY))
    train_segmentation(spec, write_crm(tmp_path / "crm.csv"), models_root=fresh_dir, k=3)
    client = client_for(model_dir=fresh_dir)
    response = client.get("/api/v1/segmentations/loyalty/models/active/report?format=html")
    assert response.status_code == 200
    model = client.app.state.segmentations.registry("loyalty").get()
    sections = re.findall(r'<section class="segment".*?</section>', response.text, re.S)
    assert len(sections) == len(model.segments) == 3
    for section in sections:
        for feature in ("Income", "Visits", "Tenure"):
            assert f'<th scope="row">{feature} (' in section
        assert "Gender:" not in section  # the CRM export has no gender column
    assert "Segment report: loyalty" in response.text
    # The default segmentation's report is another one.
    assert client.get(REPORT.format(version=model.version)).status_code == 404
