"""Training-job service: the concurrency limit holds when requests arrive together."""

import contextlib
import errno
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import pytest

import app.models
from app.core.errors import VersionConflict
from app.models.rfm.left_out import PLAIN_AMOUNTS
from app.models.versions.store import VersionStore
from app.services.training import launch
from app.services.training.runner import JobRunner
from app.services.training.store import LOG_FILE, STALE_SECONDS, JobStore, read_job, write_job


class _ParkedProcess:
    """Stands in for the trainer's process: it runs until the test ends, so its job stays queued."""

    pid = 0

    def __init__(self, *args: object, **kwargs: object) -> None:
        pass

    def wait(self) -> int:
        _release.wait()
        return 0


_release = threading.Event()


@pytest.fixture
def parked_trainer(monkeypatch) -> Iterator[None]:
    """Jobs start without a training process; theirs stays 'queued' for the whole test."""
    _release.clear()
    monkeypatch.setattr(launch.subprocess, "Popen", _ParkedProcess)
    yield
    _release.set()


def test_two_requests_at_once_start_one_job_when_one_may_run(make_settings, fresh_dir, parked_trainer, monkeypatch):
    settings = make_settings(model_dir=fresh_dir, train_max_concurrent_jobs=1)
    # Both requests count the running jobs, then go on together: without a lock both see room for one more.
    both_counted = threading.Barrier(2, timeout=2)
    count = JobStore.running

    def count_then_meet(store: JobStore) -> int:
        running = count(store)
        # Broken when the other request waits for the lock instead: it counts after this one has created its job.
        with contextlib.suppress(threading.BrokenBarrierError):
            both_counted.wait()
        return running

    monkeypatch.setattr(JobStore, "running", count_then_meet)

    def start() -> str | VersionConflict:
        try:
            return launch.start_training_job(
                settings=settings, upload=None, k="5", features="annual_income,spending_score", seed=1,
                activate=False, key="",
            )  # fmt: skip
        except VersionConflict as exc:
            return exc

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(lambda _: start(), range(2)))

    started = [outcome for outcome in outcomes if isinstance(outcome, str)]
    refused = [outcome for outcome in outcomes if isinstance(outcome, VersionConflict)]
    assert len(started) == 1 and len(refused) == 1, outcomes
    assert refused[0].status_code == 409
    assert "1 training job(s) already running" in refused[0].message
    assert [folder.name for folder in settings.job_root.iterdir() if folder.is_dir()] == started


def _job(make_settings, tmp_path, request_id: str | None = "req-123") -> JobRunner:
    """A queued job on the bundled-data path, ready to run in this process."""
    request = {
        "k": 5, "features": ["annual_income", "spending_score"], "seed": 1, "sweep": False, "activate": False,
        "key_id": "",
        "request_id": request_id, "data_file": None,
    }  # fmt: skip
    _, folder = JobStore(tmp_path / "jobs").create(request)
    settings = make_settings(model_dir=tmp_path / "models", data_path=tmp_path / "customers.csv", train_max_rows=1_000)
    return JobRunner(folder, settings=settings)


def _training_raises(monkeypatch, exc: BaseException) -> None:
    def train(*args: object, **kwargs: object) -> None:
        raise exc

    monkeypatch.setattr("app.models.training.train", train)


def test_unexpected_training_error_is_reported_plainly_and_logged_whole(make_settings, tmp_path, monkeypatch, caplog):
    raw = "Input X contains infinity or a value too large for dtype('float64')."
    _training_raises(monkeypatch, ValueError(raw))
    runner = _job(make_settings, tmp_path)
    assert runner.run() == 1
    job = read_job(runner.folder)
    assert job["state"] == "failed"
    assert job["error"] == f"training failed; see the server log (job {job['job_id']}, request id req-123)"
    # Only the runner's own records: a reaper thread left by an earlier test may log its own failure meanwhile.
    logged = [r for r in caplog.records if r.exc_info and r.name == "app.services.training.runner"]
    assert len(logged) == 1 and raw in str(logged[0].exc_info[1])


@pytest.mark.parametrize(
    ("exc", "message"),
    [
        (MemoryError(), "training ran out of memory: try a smaller file, or ask for a lower TRAIN_MAX_ROWS"),
        (OSError(errno.ENOSPC, "full"), "no space left to save the new version: free some space and try again"),
    ],
)
def test_known_training_errors_get_their_plain_message(make_settings, tmp_path, monkeypatch, exc, message):
    _training_raises(monkeypatch, exc)
    runner = _job(make_settings, tmp_path)
    assert runner.run() == 1
    assert read_job(runner.folder)["error"] == message


class _StateAtImport:
    """An import hook that notes the job's recorded state when a module is imported (and lets the import go on)."""

    def __init__(self, module: str, folder) -> None:
        self.module, self.folder = module, folder
        self.states: list[str] = []

    def find_spec(self, name: str, path: object = None, target: object = None) -> None:
        if name == self.module:
            self.states.append(read_job(self.folder)["state"])


def test_run_job_records_running_before_importing_training(make_settings, tmp_path, monkeypatch):
    runner = _job(make_settings, tmp_path)
    hook = _StateAtImport("app.models.training", runner.folder)
    # Training (pandas, scikit-learn) imported afresh, as in a new job process; both references restored after.
    monkeypatch.setattr(app.models, "training", app.models.training)
    monkeypatch.delitem(sys.modules, "app.models.training")
    monkeypatch.setattr(sys, "meta_path", [hook, *sys.meta_path])
    runner.run()
    assert hook.states == ["running"]


def test_the_server_log_names_an_unexpected_failure_and_where_its_traceback_is(make_settings, tmp_path, caplog):
    runner = _job(make_settings, tmp_path)
    runner.update(state="failed", error="training failed; see the server log")
    log = runner.folder / LOG_FILE
    log.write_text("Traceback (most recent call last):\n  ...\nValueError: Input X contains NaN.\n\n")

    class Ended:
        def wait(self) -> int:
            return 1

    launch._reap(Ended(), runner.folder)
    errors = [record.getMessage() for record in caplog.records if record.levelname == "ERROR"]
    assert errors == [
        f"training job {runner.job['job_id']} (request id req-123) failed: ValueError: Input X contains NaN.; "
        f"traceback in {log}"
    ]


def test_only_the_newest_finished_jobs_are_kept(make_settings, fresh_dir, parked_trainer):
    settings = make_settings(model_dir=fresh_dir, train_max_concurrent_jobs=2, train_jobs_kept=2)
    store = JobStore(settings.job_root)
    finished = []
    for number in range(4):
        job_id, folder = store.create({})
        job = read_job(folder)
        write_job(folder, {**job, "state": "failed" if number % 2 else "succeeded", "created_epoch": number})
        finished.append(job_id)
    _, running = store.create({})
    write_job(running, {**read_job(running), "created_epoch": 0, "heartbeat": 9e18})

    started = launch.start_training_job(
        settings=settings, upload=None, k="5", features="annual_income", seed=1, activate=False, key=""
    )

    left = {folder.name for folder in settings.job_root.iterdir() if not folder.name.startswith(".")}
    assert left == {*finished[2:], running.name, started}


@pytest.mark.parametrize(
    ("sent", "kept"),
    [("spring.csv", "spring.csv"), ("C:\\Users\\ana\\q1 export.csv", "q1 export.csv"), ("../../x/y.csv", "y.csv"),
     ("", None), (None, None), ("n" * 300 + ".csv", "n" * 100)],
)  # fmt: skip
def test_an_upload_keeps_its_own_base_name(sent, kept):
    assert launch._base_name(sent) == kept


def test_a_version_names_the_file_the_user_knows(tmp_path, default_data):
    from app.models.training import train

    result = train(default_data, output_dir=tmp_path / "models", k=3, sweep=False, data_name="spring.csv")
    assert result.model.info["data_file"] == "spring.csv"
    plain = train(default_data, output_dir=tmp_path / "models", k=3, sweep=False)
    assert plain.model.info["data_file"] == default_data.name


@pytest.mark.parametrize(
    ("origin", "reason"),
    [
        ("page", "trained from the /models page"),
        ("api", "trained from the API"),
        # A job queued before origins were kept: either, and the reason does not pretend to know which.
        (None, "trained from the API or the /models page"),
    ],
)
def test_a_jobs_version_is_recorded_as_trained_from_where_it_was_asked_for(
    make_settings, tmp_path, monkeypatch, origin, reason
):
    runner = _job(make_settings, tmp_path)
    if origin is not None:
        runner.job["params"]["origin"] = origin
    else:
        runner.job["params"].pop("origin", None)
    told: list[str] = []

    def train_segmentation(*args: object, reason: str, **kwargs: object) -> None:
        told.append(reason)
        raise MemoryError

    monkeypatch.setattr("app.models.segmentations.training.train_segmentation", train_segmentation)
    runner.run()
    assert told == [reason]


def test_a_succeeded_job_carries_the_notes_of_small_segments(make_settings, tmp_path, monkeypatch):
    segments = [
        SimpleNamespace(name="Champions", size=1, share=0.01),
        SimpleNamespace(name="Lost", size=99, share=0.99),
    ]
    model = SimpleNamespace(version="v1", segments=segments, info={})
    monkeypatch.setattr(
        "app.models.training.train", lambda *args, **kwargs: SimpleNamespace(model=model, activated=False)
    )
    runner = _job(make_settings, tmp_path)
    assert runner.run() == 0
    job = read_job(runner.folder)
    assert job["state"] == "succeeded" and job["version"] == "v1"
    assert len(job["notes"]) == 1 and job["notes"][0].startswith("segment 'Champions' holds only 1 customer of 100")


def test_a_succeeded_job_says_the_transaction_lines_its_rfm_build_left_out(make_settings, tmp_path, monkeypatch):
    # A third of the lines dropped for "€12.50" amounts must not pass as a clean build in the job's answer.
    read = {"rows_read": 200, "amounts_not_numbers": 68, "rows_without_customer_id": 11, "cancellation_rows": 44}
    segments = [SimpleNamespace(name="Champions", size=50, share=0.5), SimpleNamespace(name="Lost", size=50, share=0.5)]
    model = SimpleNamespace(version="v1", segments=segments, info={"rfm_summary": read})
    monkeypatch.setattr(
        "app.models.training.train", lambda *args, **kwargs: SimpleNamespace(model=model, activated=False)
    )
    runner = _job(make_settings, tmp_path)
    assert runner.run() == 0
    assert read_job(runner.folder)["notes"] == [
        f"79 of the 200 transaction lines were left out: 68 with an amount that is not a number ({PLAIN_AMOUNTS}), "
        "11 without a customer id"
    ]


def test_a_job_that_never_started_and_cannot_be_removed_is_failed_and_holds_no_slot(tmp_path, monkeypatch):
    store = JobStore(tmp_path / "jobs")
    _, folder = store.create({"segmentation": "default"})

    def not_renamed(_folder):
        raise OSError(errno.EBUSY, "Device or resource busy")

    monkeypatch.setattr(store, "_remove", not_renamed)
    store.discard(folder)

    assert read_job(folder)["state"] == "failed" and store.running() == 0
    monkeypatch.undo()
    store.discard(folder)
    assert not folder.exists() and store.recent() == []


def test_a_job_whose_log_cannot_be_closed_after_its_process_started_keeps_its_folder_and_slot(
    make_settings, fresh_dir, parked_trainer, monkeypatch
):
    settings = make_settings(model_dir=fresh_dir, train_max_concurrent_jobs=1)
    opened = launch.Path.open

    class ClosingFails:
        """The job's log file, whose close fails as on a full disk: the process has started by then."""

        def __init__(self, handle) -> None:
            self.handle = handle

        def __enter__(self):
            return self.handle.__enter__()

        def __exit__(self, *exc_info) -> None:
            self.handle.__exit__(*exc_info)
            raise OSError(errno.ENOSPC, "No space left on device")

    def open_log(path, *args, **kwargs):
        handle = opened(path, *args, **kwargs)
        return ClosingFails(handle) if path.name == LOG_FILE else handle

    monkeypatch.setattr(launch.Path, "open", open_log)
    job_id = launch.start_training_job(
        settings=settings, upload=None, k="5", features="annual_income,spending_score", seed=1, activate=False, key=""
    )
    # The job runs: it is listed, still holds its slot, and its folder is there for the runner to write into.
    store = JobStore(settings.job_root)
    assert store.running() == 1 and store.status(job_id)["state"] == "queued"


def test_a_job_killed_after_saving_its_version_reports_that_version(make_settings, tmp_path, monkeypatch):
    settings = make_settings(model_dir=tmp_path / "models")
    request = {"k": 5, "features": ["annual_income", "spending_score"], "seed": 1, "sweep": False, "activate": True,
               "key_id": "", "request_id": None, "data_file": None}  # fmt: skip
    job_id, folder = JobStore(settings.job_root).create(request)

    def killed(*args, **kwargs):
        raise KeyboardInterrupt  # stands for a SIGKILL between writing the version and activating it

    monkeypatch.setattr(VersionStore, "activate", killed)
    runner = JobRunner(folder, settings=settings)
    with pytest.raises(KeyboardInterrupt):
        runner.run()
    runner._stop.set()  # the heartbeat dies with a killed process
    [saved] = VersionStore(settings.model_dir).versions()
    assert read_job(folder)["state"] == "running"

    # Another worker, while the job's heartbeat is stale, and the reaper once the process has ended, say the same.
    job = read_job(folder)
    write_job(folder, {**job, "heartbeat": job["heartbeat"] - STALE_SECONDS - 1})
    stale = JobStore(settings.job_root, model_dir=settings.model_dir).status(job_id)
    launch._reap(SimpleNamespace(wait=lambda: -9), folder, settings)
    reaped = read_job(folder)

    assert (stale["state"], stale["version"], stale["activated"]) == ("failed", saved, False)
    assert stale["error"] == (
        f"the training process stopped without finishing (killed or crashed) after saving version {saved}, "
        "before activating it"
    )
    assert (reaped["state"], reaped["version"], reaped["activated"]) == ("failed", saved, False)
    assert reaped["error"] == (
        f"the training process ended without finishing (exit code -9) after saving version {saved}, "
        "before activating it"
    )


def test_a_job_killed_before_its_version_was_saved_says_no_version_was_added(make_settings, tmp_path):
    settings = make_settings(model_dir=tmp_path / "models")
    job_id, folder = JobStore(settings.job_root).create({"activate": False})
    # Killed while saving: the version's id was recorded, its folder never renamed into place.
    write_job(folder, {**read_job(folder), "state": "running", "heartbeat": 1.0,
                       "progress": {"stage": "saving", "version": "20261207.000000.000000-abcdef0123"}})  # fmt: skip

    job = JobStore(settings.job_root, model_dir=settings.model_dir).status(job_id)

    assert (job["state"], job["version"]) == ("failed", None)
    assert job["error"] == "the training process stopped without finishing (killed or crashed); no version was added"


def test_a_job_finishes_once_when_the_watchdog_and_the_training_end_together(make_settings, tmp_path, monkeypatch):
    import threading

    # The watchdog's final state is written and announced while training may still end: the second finish used to
    # overwrite it and announce the job again, under another state.
    runner = _job(make_settings, tmp_path)
    announced: list[str] = []
    entered, release = threading.Event(), threading.Event()

    def notify(job, settings):
        announced.append(job["state"])
        entered.set()
        release.wait(1)  # the database round trip, during which the training thread comes to its end

    monkeypatch.setattr("app.services.training.events.notify_job_ended", notify)
    watchdog = threading.Thread(target=runner.finish, kwargs={"state": "failed", "error": "took longer"})
    watchdog.start()
    assert entered.wait(5)
    training = threading.Thread(target=runner.finish, kwargs={"state": "succeeded"})
    training.start()
    release.set()
    watchdog.join(5)
    training.join(5)
    assert announced == ["failed"] and read_job(runner.folder)["state"] == "failed"
