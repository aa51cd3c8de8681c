"""`python -m app.cli segmentations ...`, `train --segmentation` and `score --segmentation`, on a temporary folder."""

import csv
import json
import subprocess
import sys

import pytest
from sklearn.metrics import adjusted_rand_score

from app.cli.shared import TrainingBar, show_progress
from app.core.config import PROJECT_ROOT, get_settings
from app.models.segmentations.catalog import SegmentationCatalog
from app.models.synthetic_crm import generate_crm, write_crm
from app.models.synthetic_transactions import generate_transactions, write_transactions
from app.models.versions.store import VersionStore
from tests.semicolon_csv import excel_style

# tenure_years is read from the Tenure column: a feature's name need not be its column's.
FEATURES = (
    *("--feature", "income:Income:Income:$"),
    *("--feature", "visits:Visits"),
    *("--feature", "tenure_years:Tenure::years"),
)


@pytest.fixture
def crm(tmp_path):
    """The generated CRM export: CustomerID, Income (dollars), Visits, Tenure."""
    return write_crm(tmp_path / "crm.csv")


@pytest.fixture
def root(tmp_path):
    """An empty models folder."""
    return tmp_path / "models"


@pytest.fixture
def seg(run_cli, root):
    """`python -m app.cli segmentations --model-dir ROOT ARGS`."""
    return lambda *args: run_cli("segmentations", "--model-dir", root, *args)


@pytest.fixture
def loyalty(run_cli, seg, root, crm):
    """A columns segmentation over Income, Visits and Tenure, with one trained (active) version."""
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, out, err = run_cli(
        "train", "--segmentation", "loyalty", "--data", crm, "--output-dir", root, "--k", "3", "--no-sweep", "--quiet"
    )
    assert code == 0, err
    return out


def test_create_list_show_a_columns_segmentation(seg, root):
    code, out, err = seg("create", "--name", "loyalty", *FEATURES, "--description", "CRM export")
    assert code == 0, err
    assert "created segmentation loyalty" in out and "train --segmentation loyalty" in out
    spec = SegmentationCatalog(root).get("loyalty")
    assert spec.kind == "columns" and spec.feature_names == ["income", "visits", "tenure_years"]
    assert [f.source_column for f in spec.features] == ["Income", "Visits", "Tenure"]
    assert spec.feature("income").unit == "$" and spec.feature("tenure_years").unit == "years"

    code, out, _ = seg("list")
    lines = {line.split()[0]: line.split() for line in out.splitlines()[1:]}
    assert code == 0 and list(lines) == ["default", "loyalty"]
    assert lines["loyalty"][:3] == ["loyalty", "columns", "-"] and "tenure" in lines["loyalty"][-1]

    code, out, _ = seg("show", "loyalty")
    shown = json.loads(out)
    assert code == 0 and shown["name"] == "loyalty" and shown["description"] == "CRM export"
    assert shown["active_version"] is None and shown["ready"] is False
    assert [f["column"] for f in shown["features"]] == ["Income", "Visits", "Tenure"]


def test_create_from_a_spec_file_equals_the_flags(seg, root, tmp_path):
    spec_file = tmp_path / "spec.json"
    body = {
        "name": "from-file",
        "kind": "columns",
        "features": [
            {"name": "income", "column": "Income", "label": "Income", "unit": "$", "transform": "log1p"},
            {"name": "visits", "column": "Visits", "label": "Visits", "unit": "", "transform": "none", "max": 100},
        ],
    }
    spec_file.write_text(json.dumps(body))
    assert seg("create", "--spec", spec_file)[0] == 0
    assert seg("create", "--name", "from-flags", "--feature", "income:Income:Income:$:log1p",
               "--feature", "visits:Visits:Visits")[0] == 0  # fmt: skip
    catalog = SegmentationCatalog(root)
    from_file, from_flags = catalog.get("from-file"), catalog.get("from-flags")
    assert from_file.feature("income") == from_flags.feature("income")
    assert from_file.feature("income").transform == "log1p"
    assert from_file.feature("visits").maximum == 100


def test_create_an_rfm_segmentation_with_its_options(seg, root):
    code, _, err = seg(
        "create", "--name", "rfm", "--kind", "rfm", "--column", "customer_id=Customer ID",
        "--column", "date=InvoiceDate", "--monetary", "average", "--non-positive", "drop", "--date-format", "%d/%m/%Y",
    )  # fmt: skip
    assert code == 0, err
    spec = SegmentationCatalog(root).get("rfm")
    assert spec.kind == "rfm" and spec.feature_names == ["recency_days", "frequency", "monetary"]
    assert spec.rfm.columns == {"customer_id": "Customer ID", "date": "InvoiceDate"}
    assert (spec.rfm.monetary, spec.rfm.non_positive, spec.rfm.date_format) == ("average", "drop", "%d/%m/%Y")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--name", "Bad_Name", *FEATURES), "a segmentation name is 2 to 40 characters"),
        (("--name", "default", *FEATURES), "cannot be created again"),
        (("--name", "one", "--feature", "income:Income"), "needs 2 to 8 features"),
        (("--name", "one", "--feature", "income", "--feature", "visits:Visits"), "--feature takes name:Column"),
        (("--name", "one", "--feature", "a:A:a:u:sqrt", "--feature", "b:B"), "transform (a) must be one of"),
        (("--name", "one", *FEATURES, "--monetary", "total"), "--monetary only apply to --kind rfm"),
        (("--name", "one", "--kind", "rfm", "--column", "customer_id"), "--column takes ROLE=HEADER"),
        (("--name", "one", "--kind", "rfm", "--column", "shop=Store"), "unknown RFM column role(s): shop"),
        (("--name", "one", "--kind", "rfm", "--monetary", "median"), "monetary must be one of"),
        (("--name", "one", "--kind", "cohort", *FEATURES), "kind must be one of"),
        ((*FEATURES,), "give --spec FILE.json, or --name"),
        (("--spec", "missing.json"), "spec file not found"),
        (("--spec", "missing.json", "--name", "one"), "give --spec or flags, not both"),
    ],
)
def test_create_refuses_bad_input_in_one_line(seg, root, args, message):
    code, out, err = seg("create", *args)
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and err.startswith("error: ") and message in err
    assert SegmentationCatalog(root).names() == ["default"]  # nothing half-created


def test_create_refuses_a_spec_file_that_is_not_a_json_object(seg, tmp_path):
    broken, listed = tmp_path / "broken.json", tmp_path / "list.json"
    broken.write_text('{"name": "x",')
    listed.write_text("[]")
    assert "is not JSON" in seg("create", "--spec", broken)[2]
    assert "must hold one JSON object" in seg("create", "--spec", listed)[2]


def test_create_refuses_a_name_taken(seg):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, _, err = seg("create", "--name", "loyalty", *FEATURES)
    assert code == 2 and "already exists" in err


def test_train_score_show_and_delete_a_columns_segmentation(run_cli, seg, root, crm, tmp_path, loyalty):
    folder = SegmentationCatalog(root).folder("loyalty")
    [version] = VersionStore(folder).versions()
    assert folder == root / "segmentations" / "loyalty"
    assert VersionStore(folder).active_version() == version  # the first version becomes active
    assert VersionStore(root).versions() == []  # the default's line is untouched
    assert f"Version {version} written to {folder / version} and activated" in loyalty

    code, out, _ = seg("list")
    assert code == 0 and out.splitlines()[2].split()[:3] == ["loyalty", "columns", version]
    shown = json.loads(seg("show", "loyalty")[1])
    assert shown["active_version"] == version and shown["ready"] is True and len(shown["segments"]) == 3

    output = tmp_path / "scored.csv"
    code, out, err = run_cli("score", "--segmentation", "loyalty", "--model-dir", root, crm, output, "--quiet")
    assert code == 0, err
    assert f"scored 600 of 600 rows with model {version}" in out and "visits" in out and "tenure" in out
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [row["CustomerID"] for row in rows] == [str(i) for i in range(1, 601)]
    assert {row["segment_name"] for row in rows} == {segment["name"] for segment in shown["segments"]}
    # The planted groups come back as the segments.
    _, plan = generate_crm()
    assert adjusted_rand_score(plan, [row["segment_id"] for row in rows]) >= 0.9

    code, _, err = seg("delete", "loyalty")
    assert code == 2 and err.count("\n") == 1 and "has an active version" in err and "--force" in err
    assert folder.is_dir()
    code, out, _ = seg("delete", "loyalty", "--force")
    assert code == 0 and "deleted segmentation loyalty" in out
    assert not folder.exists() and SegmentationCatalog(root).names() == ["default"]


def test_delete_without_a_version_needs_no_force(seg, root):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    assert seg("delete", "loyalty")[0] == 0
    assert SegmentationCatalog(root).names() == ["default"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("show", "nope"), "no segmentation named 'nope'"),
        (("show", "Not A Name"), "no segmentation named"),
        (("delete", "nope", "--force"), "no segmentation named 'nope'"),
        (("delete", "default", "--force"), "the default segmentation cannot be deleted"),
    ],
)
def test_show_and_delete_refuse_in_one_line(seg, root, args, message):
    root.mkdir()
    code, out, err = seg(*args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err


def test_list_shows_the_default_segmentation_of_model_dir(run_cli, model_dir):
    code, out, _ = run_cli("segmentations", "list")  # MODEL_DIR: the session's trained default model
    assert code == 0
    assert out.splitlines()[1].split() == [
        "default", "columns", VersionStore(model_dir).active_version(), "annual_income,", "spending_score",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--segmentation", "nope", "--data", "x.csv"), "no segmentation named 'nope'"),
        (("--segmentation", "loyalty"), "needs --data FILE"),
        (("--segmentation", "loyalty", "--data", "x.csv", "--features", "age", "annual_income"), "--features is for"),
    ],
)
def test_train_segmentation_refuses_in_one_line(run_cli, seg, root, args, message):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, out, err = run_cli("train", "--output-dir", root, "--quiet", *args)
    assert code == 2 and out == "" and err.count("\n") == 1 and message in err
    assert VersionStore(SegmentationCatalog(root).folder("loyalty")).versions() == []


def test_train_segmentation_names_a_missing_column(run_cli, seg, root, default_data):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, _, err = run_cli("train", "--segmentation", "loyalty", "--data", default_data, "--output-dir", root)
    assert code == 2 and err.count("\n") == 1 and "Income" in err


def test_score_segmentation_refuses_in_one_line(run_cli, seg, root, crm, tmp_path):
    output = tmp_path / "out.csv"
    root.mkdir()
    code, _, err = run_cli("score", "--segmentation", "nope", "--model-dir", root, crm, output, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "no segmentation named 'nope'" in err
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, _, err = run_cli("score", "--segmentation", "loyalty", "--model-dir", root, crm, output, "--quiet")
    assert code == 2 and err.count("\n") == 1 and "train --segmentation loyalty" in err
    code, _, err = run_cli(
        "score", "--segmentation", "loyalty", "--model-dir", root, crm, output, "--income-column", "Income"
    )
    assert code == 2 and "default segmentation's columns" in err
    assert not output.exists()


def test_score_reads_a_segmentations_features_from_the_columns_named_with_column(run_cli, root, crm, tmp_path, loyalty):
    renamed = {"Income": "Revenu annuel (€)", "Visits": "Visits: per month", "Tenure": "Ancienneté"}
    header, _, rows = crm.read_text().partition("\n")
    export = tmp_path / "export.csv"
    export.write_text(",".join(renamed.get(name, name) for name in header.split(",")) + "\n" + rows)
    named, mapped = tmp_path / "named.csv", tmp_path / "mapped.csv"
    score = ("score", "--segmentation", "loyalty", "--model-dir", root, "--quiet")
    assert run_cli(*score, crm, named)[0] == 0
    flags = ("--column", "income=Revenu annuel (€)", "--column", "visits=Visits: per month")
    code, out, err = run_cli(*score, export, mapped, *flags, "--column", "tenure_years=Ancienneté")
    assert code == 0, err
    assert "scored 600 of 600 rows" in out
    assert mapped.read_text().splitlines()[1:] == named.read_text().splitlines()[1:]


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (("--column", "visits"), "--column takes FEATURE=COLUMN, such as 'visits=Visits per month', not 'visits'"),
        (("--column", "=Visits"), "--column takes FEATURE=COLUMN"),
        (
            ("--column", "tenure=Tenure"),
            "--column names 'tenure': not a feature of this segmentation, whose features are 'income', 'visits', "
            "'tenure_years'",
        ),
        (("--column", "visits=Calls"), "names 'Calls' for visits, which the file does not have; found: 'CustomerID'"),
        (("--column", "visits=Tenure"), "visits and tenure_years would both be read from 'Tenure'"),
    ],
)
def test_score_refuses_a_bad_column_in_one_line(run_cli, root, crm, tmp_path, loyalty, flags, message):
    output = tmp_path / "out.csv"
    code, _, err = run_cli("score", "--segmentation", "loyalty", "--model-dir", root, crm, output, "--quiet", *flags)
    assert code == 2 and err.count("\n") == 1 and message in err
    assert not output.exists()


def test_transactions_become_rfm_segments_from_the_cli(run_cli, seg, root, tmp_path):
    transactions, _ = write_transactions(tmp_path / "online_retail.csv", customers=600, seed=9)
    _, plan = generate_transactions(customers=600, seed=9)
    assert seg("create", "--name", "rfm", "--kind", "rfm", "--column", "customer_id=CustomerID")[0] == 0
    code, _, err = run_cli(
        "train", "--segmentation", "rfm", "--data", transactions, "--output-dir", root, "--k", "4", "--quiet"
    )
    assert code == 0, err
    output = tmp_path / "scored.csv"
    code, _out, err = run_cli("score", "--segmentation", "rfm", "--model-dir", root, transactions, output, "--quiet")
    assert code == 0, err
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert {"customer_id", "recency_days", "frequency", "monetary", "segment_name"} <= set(rows[0])
    assert len(rows) == len(plan)  # one row per customer
    planted = [plan[row["customer_id"]] for row in rows]
    assert adjusted_rand_score(planted, [row["segment_id"] for row in rows]) >= 0.9
    champions = {row["segment_name"] for row, group in zip(rows, planted, strict=True) if group == "champions"}
    assert "Champions" in champions
    assert not [path for path in tmp_path.iterdir() if path.name.startswith(".rfm-")]  # the table is removed


def test_an_rfm_segmentation_refuses_a_file_without_a_date_column(run_cli, seg, root, tmp_path):
    assert seg("create", "--name", "rfm", "--kind", "rfm")[0] == 0
    transactions = tmp_path / "transactions.csv"
    transactions.write_text("InvoiceNo,Amount,CustomerID\n1,2.5,7\n")
    code, _out, err = run_cli("train", "--segmentation", "rfm", "--data", transactions, "--output-dir", root)
    assert code == 2 and err.count("\n") == 1 and "date" in err
    assert VersionStore(SegmentationCatalog(root).folder("rfm")).versions() == []


def test_training_bar_follows_the_progress_events(capsys):
    bar = TrainingBar(enabled=True)
    bar({"stage": "reading"})
    bar({"stage": "cleaning", "rows_read": 600})
    assert bar._bar is None  # quick stages open no bar: a file refused there leaves one line of error
    bar({"stage": "building_rfm", "bytes_read": 10, "of": 100})
    for step in (1, 2, 3):
        bar({"stage": "k_sweep", "step": step, "of": 9, "k": step + 1})
    assert (bar._bar.n, bar._bar.total) == (3, 9)
    bar({"stage": "fitting", "k": 5})
    bar.close()
    assert "k sweep" in capsys.readouterr().err
    silent = TrainingBar(enabled=False)
    silent({"stage": "reading"})
    assert silent._bar is None


def test_progress_shows_unless_quiet():
    assert show_progress(False) is True and show_progress(True) is False


def test_segmentations_command_runs_as_a_module(tmp_path):
    root = tmp_path / "models"
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "PATH": "/usr/bin:/bin"}
    run = [sys.executable, "-m", "app.cli", "segmentations"]
    created = subprocess.run(
        [*run, "create", "--name", "loyalty", *FEATURES], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True
    )
    assert created.returncode == 0, created.stderr
    listed = subprocess.run([*run, "list"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert listed.returncode == 0 and "loyalty" in listed.stdout
    refused = subprocess.run([*run, "delete", "default"], cwd=PROJECT_ROOT, env=env, capture_output=True, text=True)
    assert refused.returncode == 2 and refused.stderr == "error: the default segmentation cannot be deleted\n"
    assert (root / "segmentations" / "loyalty" / "segmentation.json").is_file()


def test_an_rfm_customer_table_is_scored_as_it_is(run_cli, seg, root, tmp_path):
    transactions, _ = write_transactions(tmp_path / "online_retail.csv", customers=300, seed=4)
    assert seg("create", "--name", "rfm", "--kind", "rfm")[0] == 0
    assert run_cli("train", "--segmentation", "rfm", "--data", transactions, "--output-dir", root, "--k", "4")[0] == 0
    table = tmp_path / "customers.csv"
    assert run_cli("rfm", "build", transactions, table, "--quiet")[0] == 0
    output = tmp_path / "scored.csv"
    code, _, err = run_cli("score", "--segmentation", "rfm", "--model-dir", root, table, output, "--quiet")
    assert code == 0, err
    with output.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 300 and all(row["segment_name"] for row in rows)


def test_bad_transaction_lines_follow_on_error_from_the_cli(run_cli, seg, root, tmp_path):
    transactions, _ = write_transactions(tmp_path / "online_retail.csv", customers=300, seed=4)
    assert seg("create", "--name", "rfm", "--kind", "rfm")[0] == 0
    assert run_cli("train", "--segmentation", "rfm", "--data", transactions, "--output-dir", root, "--k", "4")[0] == 0
    bad = tmp_path / "bad.csv"
    bad.write_text("InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10\n2,B,2025-13-45,10\n3,C,2025-01-02,\n")
    output = tmp_path / "scored.csv"
    score = ("score", "--segmentation", "rfm", "--model-dir", root, bad, output, "--quiet")

    code, _, err = run_cli(*score, "--on-error", "reject")
    assert code == 2 and "line 3 is not usable: InvoiceDate is not a readable date" in err
    assert not output.exists()

    code, out, err = run_cli(*score)
    assert code == 0, err
    with output.open(newline="") as handle:
        rows = {row["customer_id"]: row["error"] for row in csv.DictReader(handle)}
    assert rows == {
        "A": "",
        "B": "no usable transaction: InvoiceDate is not a readable date",
        "C": "no usable transaction: missing Amount",
    }
    assert "bad rows: 2 (2 flagged, 0 skipped)" in out

    code, out, err = run_cli(*score, "--on-error", "skip")
    assert code == 0, err
    with output.open(newline="") as handle:
        assert [row["customer_id"] for row in csv.DictReader(handle)] == ["A"]
    assert "bad rows: 2 (0 flagged, 2 skipped)" in out


def test_a_semicolon_transactions_file_is_labelled_as_it_was_written(run_cli, seg, root, tmp_path):
    transactions, _ = write_transactions(tmp_path / "online_retail.csv", customers=300, seed=4)
    assert seg("create", "--name", "rfm", "--kind", "rfm")[0] == 0
    assert run_cli("train", "--segmentation", "rfm", "--data", transactions, "--output-dir", root, "--k", "4")[0] == 0
    comma = tmp_path / "comma.csv"
    comma.write_text(
        "InvoiceNo,CustomerID,InvoiceDate,Amount\n1,A,2025-01-01,10.5\n2,B,2025-13-45,10\n3,A,2025-01-02,2.25\n"
    )
    semicolon = tmp_path / "semicolon.csv"
    semicolon.write_bytes(excel_style(comma.read_bytes()))
    labelled = {}
    for source in (comma, semicolon):
        labelled[source] = tmp_path / f"{source.stem}_scored.csv"
        code, _, err = run_cli(
            "score", "--segmentation", "rfm", "--model-dir", root, source, labelled[source], "--quiet"
        )
        assert code == 0, err
    written = labelled[semicolon].read_bytes()
    assert written.startswith(b"\xef\xbb\xbfcustomer_id;recency_days;frequency;monetary;") and b";12,75;" in written
    assert written == excel_style(labelled[comma].read_bytes())


def test_reading_a_segmentation_not_trained_yet_logs_no_server_warning(seg, root, tmp_path, default_data):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    env = {"MODEL_DIR": str(root), "AUTO_TRAIN": "false", "DATABASE_URL": f"sqlite:///{tmp_path / 'cli.sqlite3'}"}
    cli = [sys.executable, "-m", "app.cli"]

    def run(*args: object) -> subprocess.CompletedProcess[str]:
        command = [*cli, *map(str, args)]
        return subprocess.run(command, cwd=PROJECT_ROOT, env=env, capture_output=True, text=True, timeout=60)

    shown = run("segmentations", "show", "loyalty")
    assert shown.returncode == 0 and json.loads(shown.stdout)["ready"] is False
    assert shown.stderr == ""  # no "model not loaded, the service is not ready" line: nothing is served here
    scored = run("score", default_data, tmp_path / "out.csv", "--segmentation", "loyalty")
    assert scored.returncode == 2
    assert scored.stderr.startswith("error: segmentation loyalty has no trained version yet") and (
        scored.stderr.count("\n") == 1
    )


@pytest.mark.parametrize("action", [("list",), ("show", "default"), ("delete", "loyalty")])
def test_segmentations_cli_refuses_a_models_folder_that_does_not_exist_in_one_line(seg, root, action):
    # A typo in the folder listed `default` as if it were there, and exited 0.
    code, out, err = seg(*action)
    assert code == 2 and out == ""
    assert err == f"error: the models folder '{root}' (--model-dir) does not exist\n"
    assert not root.exists()


def test_score_refuses_a_models_folder_that_does_not_exist_in_one_line(run_cli, root, crm, tmp_path):
    code, _, err = run_cli("score", "--model-dir", root, crm, tmp_path / "out.csv")
    assert code == 2 and err == f"error: the models folder '{root}' (--model-dir) does not exist\n"
    assert not (tmp_path / "out.csv").exists()


def test_the_model_dir_may_follow_the_action_as_it_does_for_score(run_cli, seg, root):
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    code, out, err = run_cli("segmentations", "list", "--model-dir", root)
    assert code == 0, err
    assert [line.split()[0] for line in out.splitlines()[1:]] == ["default", "loyalty"]
    code, out, err = run_cli("segmentations", "show", "loyalty", "--model-dir", root)
    assert code == 0 and json.loads(out)["name"] == "loyalty"


def test_delete_forgets_the_segmentations_history_in_the_database(seg, run_cli, tmp_path):
    from datetime import UTC, datetime

    from sqlalchemy import select

    from app.db.session import create_db_engine, session_factory
    from app.db.tables import ModelActivation

    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    engine = create_db_engine(f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    sessions = session_factory(engine)
    with sessions() as session:
        for number, name in enumerate(("loyalty", "default")):
            row = ModelActivation(entry_key=f"k{number}", activated_at=datetime.now(UTC), from_version=None,
                                  to_version="v1", reason="test", key_id=None, segmentation=name)  # fmt: skip
            session.add(row)
        session.commit()
    assert seg("delete", "loyalty")[0] == 0
    with sessions() as session:
        assert session.scalars(select(ModelActivation.segmentation)).all() == ["default"]
    engine.dispose()


def test_a_delete_the_rules_refuse_never_opens_the_database(seg, monkeypatch):
    # The database is opened (and migrated) only for a delete that goes ahead: a name that does not exist, or an
    # active version without --force, is said as before, even with the database away.
    assert seg("create", "--name", "loyalty", *FEATURES)[0] == 0
    monkeypatch.setenv("DATABASE_URL", "postgresql+psycopg://segments:DBSECRET@127.0.0.1:1/segments")
    get_settings.cache_clear()
    code, _, err = seg("delete", "nosuch")
    assert code == 2 and "nosuch" in err and "database" not in err
