"""An RFM version trained on a messy export says the transaction lines it left out: on /about, in its notes, on a
run's page and in the reports. Before, 60% of a file dropped for "€12.50" amounts read as "Customers 37"."""

import re
from pathlib import Path

import pytest

from app.cli.train import summary
from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.segmentations.spec import SegmentationSpec
from app.models.segmentations.training import train_segmentation

HTML = {"accept": "text/html"}
NOTE = (
    f"182 of the 300 transaction lines were left out: 176 with an amount that is not a number ({PLAIN_AMOUNTS}), "
    "5 without a customer id, 1 dated after tomorrow"
)


def messy_transactions(path: Path) -> Path:
    """300 lines of 37 customers: 3 in 5 amounts written with a euro sign, 5 guests' lines, one date in 2031."""
    lines = ["InvoiceNo,CustomerID,InvoiceDate,Amount"]
    for line in range(300):
        customer = "" if line < 5 else f"{line % 37 + 1}.0"
        amount = f"{(line * 37) % 400 + 5}.{line % 100:02d}"
        date = "2031-01-01" if line == 7 else f"2026-{line % 3 + 1:02d}-{line % 28 + 1:02d}"
        lines.append(f"INV{line},{customer},{date},{'€' + amount if line % 5 < 3 else amount}")
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def messy_root(model_dir, tmp_path_factory) -> tuple[Path, Path]:
    """A models folder whose `rfm` version was trained on `messy_transactions`, and that file."""
    import shutil

    folder = tmp_path_factory.mktemp("rfm-left-out")
    root = folder / "models_artifacts"
    shutil.copytree(model_dir, root)
    catalog = SegmentationCatalog(root)
    catalog.create(SegmentationSpec.from_dict({"name": "rfm", "kind": "rfm"}))
    data = messy_transactions(folder / "export.csv")
    result = train_segmentation(catalog.get("rfm"), data, models_root=root, k=3, activate=True)
    # The CLI's training summary warns of them too.
    assert f"Warning: {NOTE}" in summary(result).splitlines()
    return root, data


@pytest.fixture
def messy(messy_root, client_for, tmp_path):
    return client_for(model_dir=messy_root[0], jobs_dir=tmp_path / "jobs", score_results_dir=tmp_path / "results")


def _text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", "", html).split())


def test_the_model_card_says_the_lines_an_rfm_version_left_out(messy):
    page = messy.get("/about?segmentation=rfm", headers=HTML)
    assert page.status_code == 200
    facts = _text(re.search(r'<dd data-fact="n_samples">(.*?)</dd>', page.text, re.S).group(1))
    assert facts == (
        "37, built from 300 transaction lines; 182 lines left out: 5 without a customer id; 1 dated after tomorrow; "
        f"176 with an amount that is not a number ({PLAIN_AMOUNTS})"
    )
    notice = _text(re.search(r'<p class="notice notice-page" id="mostly-left-out">(.*?)</p>', page.text, re.S).group(1))
    assert "182 of its 300 transaction lines did not pass cleaning" in notice
    assert "describe the 37 customers built from the rest" in notice


def test_the_versions_notes_say_the_lines_left_out(messy):
    info = messy.get("/api/v1/segmentations/rfm/model/info")
    assert info.status_code == 200
    assert NOTE in info.json()["notes"]
    report = messy.get("/api/v1/segmentations/rfm/models/active/report?format=html")
    assert report.status_code == 200
    assert "Transaction lines left out</th><td>182</td>" in report.text


def test_a_runs_page_and_report_say_the_lines_left_out(messy, messy_root):
    scored = messy.post(
        "/api/v1/segmentations/rfm/predict/csv",
        files={"file": ("export.csv", messy_root[1].read_bytes(), "text/csv")},
        headers={"Accept": "application/json"},
    )
    assert scored.status_code == 200, scored.text
    run_id = scored.json()["run_id"]
    page = messy.get(f"/runs/{run_id}", headers=HTML)
    assert page.status_code == 200
    said = re.search(r'<dd id="run-left-out">(.*?)</dd>', page.text)
    assert said is not None
    assert said.group(1) == (
        f"182: 176 with an amount that is not a number ({PLAIN_AMOUNTS}), 5 without a customer id, 1 dated after "
        "tomorrow"
    )
    report = messy.get(f"/api/v1/runs/{run_id}/report?format=html")
    assert report.status_code == 200
    assert "Transaction lines left out</th><td>182</td>" in report.text


def test_a_clean_files_run_says_nothing_left_out(segmented):
    data = "InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-01-02,12\n3,A,2025-01-03,4\n"
    scored = segmented.post(
        "/api/v1/segmentations/rfm/predict/csv",
        files={"file": ("clean.csv", data.encode(), "text/csv")},
        headers={"Accept": "application/json"},
    )
    assert scored.status_code == 200, scored.text
    page = segmented.get(f"/runs/{scored.json()['run_id']}", headers=HTML)
    assert page.status_code == 200
    assert 'id="run-left-out"' not in page.text
