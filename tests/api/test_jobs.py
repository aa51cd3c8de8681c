"""Training jobs from the API: a separate process, state on disk, clear 4xx for bad uploads, kill -9 is harmless."""

import asyncio
import json
import os
import signal
import socket
import time
import urllib.request
from urllib.parse import urlsplit

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from app.models.synthetic import write_customers
from app.models.versions.artifacts import signature_of
from app.models.versions.store import VersionStore
from app.services.training import launch
from app.services.training.store import read_job
from tests.live_server import live_server
from tests.trainers import refuse_trainers

KEY = "jobs-admin-key-0123"
ADMIN = {"X-API-Key": KEY}


@pytest.fixture
def admin(client_for, fresh_dir):
    return client_for(model_dir=fresh_dir, admin_api_keys=[KEY], train_max_upload_bytes=200_000_000)


def _wait(client, job_id: str, states=("succeeded", "failed"), timeout: float = 180) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = client.get(f"/api/v1/jobs/{job_id}").json()
        if body["state"] in states:
            return body
        assert time.monotonic() < deadline, body
        time.sleep(0.2)


@pytest.mark.slow
def test_uploaded_csv_becomes_a_new_version(admin, fresh_dir, tmp_path):
    before = VersionStore(fresh_dir).active_version()
    data = write_customers(tmp_path / "mine.csv", rows=400, seed=3)
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models",
            files={"file": ("mine.csv", handle, "text/csv")},
            data={"k": "5", "seed": "1", "activate": "false"},
            headers=ADMIN,
        )
    assert response.status_code == 202, response.text
    job_id = response.json()["job_id"]
    assert response.headers["location"] == f"/api/v1/jobs/{job_id}"
    job = _wait(admin, job_id)
    assert job["state"] == "succeeded", job
    assert job["progress"]["rows_read"] == 400 and job["progress"]["stage"] == "saving"
    assert job["version"] in VersionStore(fresh_dir).versions() and job["activated"] is False
    assert VersionStore(fresh_dir).active_version() == before
    detail = admin.get(f"/api/v1/models/{job['version']}").json()
    # The version names the file the user uploaded, not the server's copy of it.
    assert detail["n_samples"] == 400 and detail["data_file"] == "mine.csv"
    # A fixed k does not sweep unless asked: no k_sweep progress, no k_selection.
    assert job["progress"]["of"] is None and detail["k"] == 5 and detail["k_selection"] == []
    assert VersionStore(fresh_dir).load(job["version"]).info["sweep"] is False


@pytest.mark.slow
def test_job_with_activate_switches_the_active_version(admin, fresh_dir):
    response = admin.post("/api/v1/models", data={"k": "auto", "activate": "true"}, headers=ADMIN)
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "succeeded" and job["activated"] is True
    assert VersionStore(fresh_dir).active_version() == job["version"]
    assert VersionStore(fresh_dir).history()[-1]["key_id"].startswith("key-")
    # k=auto chooses from the sweep, so it always sweeps.
    assert job["progress"]["of"] == 9
    assert VersionStore(fresh_dir).load(job["version"]).info["sweep"] is True
    detail = admin.get(f"/api/v1/models/{job['version']}").json()
    assert [entry["k"] for entry in detail["k_selection"]] == list(range(2, 11))


@pytest.mark.slow
def test_too_few_rows_fail_with_the_cli_reason(admin, fresh_dir):
    versions = VersionStore(fresh_dir).versions()
    csv = b"CustomerID,Gender,Age,Annual Income (k$),Spending Score (1-100)\n1,Male,20,30,40\n"
    response = admin.post("/api/v1/models", files={"file": ("few.csv", csv, "text/csv")}, headers=ADMIN)
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "failed"
    assert "at least 6 are needed" in job["error"] and "\n" not in job["error"]
    assert str(fresh_dir.parent) not in job["error"]
    assert VersionStore(fresh_dir).versions() == versions


@pytest.mark.slow
def test_rows_with_a_value_more_than_the_header_fail_with_the_line(admin, fresh_dir):
    versions = VersionStore(fresh_dir).versions()
    rows = b"".join(f"{i},{15 + i},{1 + i % 99},{i % 3}\n".encode() for i in range(1, 51))
    csv = b"CustomerID,Annual Income (k$),Spending Score (1-100)\n" + rows
    response = admin.post(
        "/api/v1/models", files={"file": ("shifted.csv", csv, "text/csv")}, data={"k": "3"}, headers=ADMIN
    )
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "failed"
    assert "50 of the 50 rows" in job["error"] and "line 2 has 4 fields where the header has 3" in job["error"]
    assert VersionStore(fresh_dir).versions() == versions


_WIDE_HEADER = (
    ",".join(["annual_income", "spending_score", *(f"c{index}" for index in range(20_000))]) + "\n1,2\n"
).encode()


@pytest.mark.parametrize(
    ("content", "fields", "message"),
    [
        (b"", {}, "empty"),
        (b"\x00\x01binary", {}, "binary"),
        (b"annual_income,spending_score\n\xff\xfe1,2\n", {}, "not UTF-8"),
        (b"name,city\nann,paris\n", {}, "missing required column"),
        # Cut at 64 KiB, the header's last name was c109 (of c10947), so the header seemed to hold c109 twice.
        (_WIDE_HEADER, {}, "the header line is longer than 64 KiB"),
        (b"annual_income,spending_score\n1,2\n", {"k": "many"}, "k must be"),
        (b"annual_income,spending_score\n1,2\n", {"k": "11"}, "between 2 and 10"),
        (b"annual_income,spending_score\n1,2\n", {"k": "1_0"}, "written with the digits 0-9"),
        (b"annual_income,spending_score\n1,2\n", {"k": "\u0665"}, "written with the digits 0-9"),
        (b"annual_income,spending_score\n1,2\n", {"features": "height"}, "features must be"),
        (b"annual_income,spending_score\n1,2\n", {"features": "income,income"}, "features must be"),
    ],
)
def test_bad_uploads_get_a_clear_422_and_no_job(admin, fresh_dir, content, fields, message):
    response = admin.post("/api/v1/models", files={"file": ("x.csv", content, "text/csv")}, data=fields, headers=ADMIN)
    assert response.status_code == 422
    assert message in response.json()["message"]
    assert not (fresh_dir / ".jobs").exists() or not [
        p for p in (fresh_dir / ".jobs").iterdir() if not p.name.startswith(".")
    ]


def test_a_text_field_named_file_is_a_422_asking_for_a_file_part(admin):
    response = admin.post("/api/v1/models", data={"file": "annual_income,spending_score"}, headers=ADMIN)
    assert response.status_code == 422
    body = response.json()
    # It named a Python class: "Value error, Expected UploadFile, received: <class 'str'>".
    assert (
        body["message"] == "file: expected a file: send it as a file part of the multipart form (with a filename), "
        "not as text"
    )
    assert "class" not in response.text


def test_upload_over_the_limit_is_413(client_for, fresh_dir):
    client = client_for(model_dir=fresh_dir, admin_api_keys=[KEY], train_max_upload_bytes=4096)
    content = b"annual_income,spending_score\n" + b"50,50\n" * 2000
    response = client.post("/api/v1/models", files={"file": ("big.csv", content, "text/csv")}, headers=ADMIN)
    assert response.status_code == 413
    assert response.json()["type"] == "body_too_large"


def test_a_job_remembers_the_request_that_started_it(admin, fresh_dir, ended_trainers):
    response = admin.post("/api/v1/models", headers={**ADMIN, "X-Request-ID": "trace-42"})
    assert response.status_code == 202
    params = read_job(fresh_dir / ".jobs" / response.json()["job_id"])["params"]
    assert params["request_id"] == "trace-42"
    assert params["features"] == ["annual_income", "spending_score"]  # `features` left out: the default ones


@pytest.mark.slow
def test_fewer_distinct_customers_than_k_fail_with_the_reason(admin, fresh_dir):
    versions = VersionStore(fresh_dir).versions()
    csv = b"annual_income,spending_score\n" + b"20,10\n120,90\n55,50\n" * 4
    response = admin.post(
        "/api/v1/models", files={"file": ("three.csv", csv, "text/csv")}, data={"k": "5"}, headers=ADMIN
    )
    assert response.status_code == 202
    job = _wait(admin, response.json()["job_id"])
    assert job["state"] == "failed"
    assert job["error"] == "only 3 distinct customers; k must be at most 3"
    assert VersionStore(fresh_dir).versions() == versions


@pytest.mark.parametrize(
    ("fields", "sweep"),
    [
        ({}, False),
        ({"k": "4", "sweep": "false"}, False),
        ({"k": "4", "sweep": "true"}, True),
        ({"k": "auto"}, True),
        ({"k": "auto", "sweep": "false"}, True),
    ],
)
def test_start_job_records_whether_to_sweep(admin, fresh_dir, ended_trainers, fields, sweep):
    response = admin.post("/api/v1/models", data=fields, headers=ADMIN)
    assert response.status_code == 202, response.text
    assert read_job(fresh_dir / ".jobs" / response.json()["job_id"])["params"]["sweep"] is sweep


@pytest.mark.parametrize(
    ("headers", "origin"),
    [
        ({}, "api"),
        ({"Referer": "http://testserver/docs"}, "api"),
        ({"Referer": "http://elsewhere.example/models"}, "api"),
        # The /models page's script sends the key typed into it, from the page.
        ({"Referer": "http://testserver/models?segmentation=default"}, "page"),
    ],
)
def test_a_job_records_whether_the_api_or_the_models_page_asked_for_it(
    admin, fresh_dir, ended_trainers, headers, origin
):
    response = admin.post("/api/v1/models", headers={**ADMIN, **headers})
    assert response.status_code == 202, response.text
    assert read_job(fresh_dir / ".jobs" / response.json()["job_id"])["params"]["origin"] == origin


def test_a_job_asked_for_with_a_page_session_records_the_models_page(admin, fresh_dir, ended_trainers):
    from tests.accounts import add_user, sign_in

    add_user(admin.app, "jobs-admin@example.com", "admin")
    csrf = sign_in(admin, "jobs-admin@example.com")
    response = admin.post("/api/v1/models", headers={"X-CSRF-Token": csrf})
    assert response.status_code == 202, response.text
    assert read_job(fresh_dir / ".jobs" / response.json()["job_id"])["params"]["origin"] == "page"


def test_unknown_job_is_404(admin):
    assert admin.get("/api/v1/jobs/" + "0" * 32).status_code == 404
    assert admin.get("/api/v1/jobs/..%2Fx").status_code == 404


@pytest.mark.slow
def test_killed_job_leaves_nothing_and_the_active_model_serves(admin, fresh_dir, tmp_path):
    before_versions, before_active = VersionStore(fresh_dir).versions(), VersionStore(fresh_dir).active_version()
    data = write_customers(tmp_path / "big.csv", rows=400_000, seed=5)
    with data.open("rb") as handle:
        response = admin.post(
            "/api/v1/models", files={"file": ("big.csv", handle, "text/csv")}, data={"activate": "true"}, headers=ADMIN
        )
    assert response.status_code == 202
    job_id = response.json()["job_id"]
    busy = admin.post("/api/v1/models", headers=ADMIN)
    assert busy.status_code == 409  # one job at a time by default
    running = _wait(admin, job_id, states=("running", "succeeded", "failed"))
    assert running["state"] == "running"
    job_file = fresh_dir / ".jobs" / job_id / "job.json"
    os.kill(__import__("json").loads(job_file.read_text())["pid"], signal.SIGKILL)
    job = _wait(admin, job_id, timeout=30)
    assert job["state"] == "failed" and "exit code -9" in job["error"]
    assert VersionStore(fresh_dir).versions() == before_versions
    assert VersionStore(fresh_dir).active_version() == before_active
    predicted = admin.post("/api/v1/predict", json={"annual_income": 120, "spending_score": 90})
    assert predicted.status_code == 200 and predicted.json()["model_version"] == before_active


class CountingBody:
    """A multipart request body, sent in pieces, that records how many bytes the server asked for."""

    def __init__(self, size: int, header: str = "annual_income,spending_score") -> None:
        self.boundary = "b0undary"
        self.head = (
            f'--{self.boundary}\r\nContent-Disposition: form-data; name="file"; filename="big.csv"\r\n'
            f"Content-Type: text/csv\r\n\r\n{header}\r\n"
        ).encode()
        self.tail = f"\r\n--{self.boundary}--\r\n".encode()
        self.size = size
        self.consumed = 0

    async def __aiter__(self):
        pieces = [self.head, *[b"50,50\n" * 10_000] * ((self.size - 100) // 60_000), self.tail]
        for piece in pieces:
            self.consumed += len(piece)
            yield piece

    def length(self) -> int:
        """The body's full length, for Content-Length."""
        return len(self.head) + len(self.tail) + 60_000 * ((self.size - 100) // 60_000)


def _send_upload(app, headers: dict[str, str], body: CountingBody):
    """POST the counted body to the upload route straight through ASGI (httpx pulls the body only on demand)."""

    async def send():
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 5000))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.post(
                "/api/v1/models",
                content=body,
                headers={
                    "content-type": f"multipart/form-data; boundary={body.boundary}",
                    "content-length": str(body.length()),
                    **headers,
                },
            )

    return asyncio.run(send())


@pytest.mark.parametrize(
    ("keys", "headers", "status", "kind"),
    [
        ([KEY], {}, 401, "admin_key_missing"),
        ([KEY], {"X-API-Key": "wrong"}, 403, "admin_key_refused"),
        ([], {"X-API-Key": KEY}, 403, "admin_key_refused"),
    ],
)
def test_upload_without_a_good_key_is_refused_before_the_body_is_read(
    make_settings, fresh_dir, keys, headers, status, kind
):
    app = create_app(make_settings(model_dir=fresh_dir, admin_api_keys=keys))
    body = CountingBody(3_000_000)
    response = _send_upload(app, headers, body)
    assert response.status_code == status
    assert response.json()["type"] == kind and response.json()["request_id"]
    assert body.consumed == 0


def test_upload_with_the_key_is_read(make_settings, fresh_dir):
    # The counter does see a body being read: the same upload with the key is read (and refused for its columns).
    app = create_app(make_settings(model_dir=fresh_dir, admin_api_keys=[KEY]))
    body = CountingBody(3_000_000, header="name,city")
    response = _send_upload(app, {"X-API-Key": KEY}, body)
    assert response.status_code == 422
    assert "missing required column" in response.json()["message"]
    assert body.consumed == body.length()


@pytest.mark.slow
def test_live_server_answers_a_wrong_key_before_the_body_is_sent(model_dir, tmp_path):
    env = {"MODEL_DIR": str(model_dir), "AUTO_TRAIN": "false", "ADMIN_API_KEYS": KEY}
    with live_server(env, tmp_path / "server.log") as server:
        address = urlsplit(server.url)
        with socket.create_connection((address.hostname, address.port), timeout=30) as sock:
            # Headers only: a 50 MB upload is declared and never sent, so only an answer given before reading
            # the body can arrive.
            sock.sendall(
                b"POST /api/v1/models HTTP/1.1\r\nHost: x\r\nX-API-Key: wrong\r\n"
                b"Content-Type: multipart/form-data; boundary=b0undary\r\nContent-Length: 50000000\r\n\r\n"
            )
            answer = b""
            while b"\r\n\r\n" not in answer:
                piece = sock.recv(65536)
                assert piece, answer
                answer += piece
        assert answer.startswith(b"HTTP/1.1 403"), answer[:200]
        with urllib.request.urlopen(f"{server.url}/api/v1/health", timeout=30) as health:
            assert health.status == 200


SIGNING_KEY = "a-key-only-the-test-app-knows"


@pytest.mark.slow
def test_a_job_trains_with_the_settings_of_the_app_that_started_it(client_for, tmp_path, monkeypatch):
    # The server's own environment names another folder and no key: the job must follow the app's Settings.
    monkeypatch.setenv("MODEL_DIR", str(tmp_path / "not-this-folder"))
    monkeypatch.delenv("MODEL_SIGNING_KEY", raising=False)
    root = tmp_path / "signed" / "models_artifacts"
    client = client_for(model_dir=root, admin_api_keys=[KEY], model_signing_key=SIGNING_KEY)

    response = client.post("/api/v1/models", data={"activate": "true"}, headers=ADMIN)
    assert response.status_code == 202, response.text
    job = _wait(client, response.json()["job_id"])

    assert job["state"] == "succeeded", job
    assert VersionStore(root).versions() == [job["version"]]
    assert not (tmp_path / "not-this-folder").exists()
    manifest = json.loads((root / job["version"] / "manifest.json").read_text())
    assert manifest["signature"] == signature_of(manifest, SIGNING_KEY.encode())
    assert VersionStore(root, signing_key=SIGNING_KEY.encode()).check(job["version"]) is None
    job_folder = root / ".jobs" / job["job_id"]
    for name in ("job.json", "log.txt"):
        assert SIGNING_KEY not in (job_folder / name).read_text()


def test_job_json_holds_the_request_and_the_environment_the_settings(
    make_settings, fresh_dir, monkeypatch, ended_trainers
):
    settings = make_settings(model_dir=fresh_dir, train_time_limit_seconds=77, train_max_rows=5_000)
    # The server's own environment says otherwise (setting names are case-insensitive).
    monkeypatch.setenv("MODEL_SIGNING_KEY", "the-server-environment-key")
    monkeypatch.setenv("train_max_rows", "12")

    job_id = launch.start_training_job(
        settings=settings, upload=None, k="auto", features="annual_income", seed=3, activate=True, key="key-abc"
    )

    params = read_job(settings.job_root / job_id)["params"]
    assert params == {
        "segmentation": "default", "k": "auto", "features": ["annual_income"], "seed": 3, "sweep": True,
        "activate": True, "engine": "local", "origin": "api", "key_id": "key-abc",
        "request_id": None, "data_file": None, "data_name": None, "built": None,
    }  # fmt: skip
    [started] = ended_trainers
    for name, value in started["env"].items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("train_max_rows")
    child = Settings(_env_file=None)
    assert child.model_dir == fresh_dir and child.data_path == settings.data_path
    assert child.train_time_limit_seconds == 77 and child.train_max_rows == 5_000
    assert child.model_signing_key is None  # the app has none, whatever the server's environment says


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b'{"k": 3, "seed": 7}', "application/json"),
        (b"hello", "text/plain"),
        (b'{"a":', "application/json"),
        (b"k=3", None),
    ],
)
@pytest.mark.parametrize("path", ["/api/v1/models", "/api/v1/segmentations/default/models"])
def test_a_body_that_is_no_form_is_a_415_and_starts_no_job(
    admin, fresh_dir, ended_trainers, path, content, content_type
):
    # A JSON body was ignored: the job trained the bundled data with k=5 and answered 202.
    headers = {**ADMIN, **({"Content-Type": content_type} if content_type else {})}
    response = admin.post(path, content=content, headers=headers)
    assert response.status_code == 415, response.text
    assert "multipart/form-data" in response.json()["message"]
    assert not (fresh_dir / ".jobs").exists() or not any((fresh_dir / ".jobs").iterdir())
    assert ended_trainers == []


def test_a_form_and_no_body_still_start_jobs(admin, ended_trainers):
    assert admin.post("/api/v1/models", headers=ADMIN).status_code == 202
    assert admin.post("/api/v1/models", data={"k": "4"}, headers=ADMIN).status_code == 202


def test_a_trainer_process_that_cannot_start_is_a_503_that_holds_no_slot(
    client_for, fresh_dir, ended_trainers, monkeypatch
):
    # The job stayed queued, holding the only slot: a resend got a 409 until its missing heartbeat went stale.
    admin = client_for(model_dir=fresh_dir, admin_api_keys=[KEY], train_max_concurrent_jobs=1)
    refused = refuse_trainers(monkeypatch)
    upload = {"file": ("mine.csv", b"Annual Income (k$),Spending Score (1-100)\n15,39\n", "text/csv")}

    response = admin.post("/api/v1/models", files=upload, headers=ADMIN)

    assert response.status_code == 503, response.text
    assert response.json()["type"] == "trainer_unavailable"
    assert "could not start the training process" in response.json()["message"]
    assert admin.get("/api/v1/jobs", headers=ADMIN).json()["jobs"] == []
    assert [path.name for path in (fresh_dir / ".jobs").iterdir() if not path.name.startswith(".create")] == []
    refused.clear()
    assert admin.post("/api/v1/models", files=upload, headers=ADMIN).status_code == 202
    assert len(ended_trainers) == 1
