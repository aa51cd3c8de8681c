"""Customer files and clients for the runs tests: each client with its own database and results store."""

import csv
import io
import random
from pathlib import Path
from typing import Any

HEADER = ["CustomerID", "Gender", "Age", "Annual Income (k$)", "Spending Score (1-100)", "Note"]
ADMIN_KEY = "runs-admin-key-0123456789abcdef0123"


def customers_csv(ids: range | list[int], *, seed: int = 0, note: str = "", id_column: bool = True) -> str:
    """A customer file: ids C<n>, ages from 9 to 70 (so text order and number order differ), random income and
    spending within the training range, a few out of it."""
    rng = random.Random(seed)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER if id_column else HEADER[1:])
    for n in ids:
        income = rng.choice([rng.randint(15, 137), 400]) if n % 17 == 0 else rng.randint(15, 137)
        row = [f"C{n}", rng.choice(["Male", "Female"]), rng.randint(9, 70), income, rng.randint(1, 99), note]
        writer.writerow(row if id_column else row[1:])
    return buffer.getvalue()


def with_contacts(text: str, email_header: str = "E-Mail") -> str:
    """The customer file with an email column (under `email_header`) and first and last names; one name is a formula."""
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([*rows[0], email_header, "First Name", "last_name"])
    for n, row in enumerate(rows[1:]):
        first = "=cmd()" if n == 0 else f"Ann{n}"
        writer.writerow([*row, f"c{n}@example.com", first, f"Lee{n}"])
    return out.getvalue()


def rows_of(text: str) -> list[dict[str, str]]:
    """A CSV answer's rows."""
    return list(csv.DictReader(io.StringIO(text)))


def client_builder(client_for, folder: Path):
    """Build clients with their own database and results store in `folder`, and an admin key."""

    def build(**overrides):
        return client_for(
            database_url=f"sqlite:///{folder / 'runs.sqlite3'}",
            score_results_dir=folder / "results",
            admin_api_keys=ADMIN_KEY,
            **overrides,
        )

    return build


def score(client, text: str, *, url: str = "/api/v1/predict/csv", summary: bool = False, **params) -> tuple[str, Any]:
    """Score a file through the API: the run id, and the labelled CSV text or the summary."""
    headers = {"content-type": "text/csv", **({"accept": "application/json"} if summary else {})}
    response = client.post(url, content=text, headers=headers, params=params)
    assert response.status_code == 200, response.text
    if summary:
        return response.json()["run_id"], response.json()
    return response.headers["x-run-id"], response.text
