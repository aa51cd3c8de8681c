"""CRM hand-off: a run's customers (one segment or all) as the contact-import CSV of a generic CRM or of HubSpot.

HubSpot's contact import maps the headers "Email", "First Name" and "Last Name" to its email, firstname and lastname
properties by name; the segment goes in `customer_segment`, a custom contact property to create (or map) on import.
HubSpot needs an email (or a record id) on every contact, so a run without an email column cannot go there; the
generic export needs a customer id or an email, else its rows would be segments of nobody.
"""

from collections.abc import Iterator
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from app.core.errors import InvalidRequest
from app.db.tables import Run
from app.services.runs.errors import RunConflict
from app.services.runs.export import csv_of_tables
from app.services.runs.segments import run_segment

FORMATS = ("generic", "hubspot")
HUBSPOT_SEGMENT_PROPERTY = "customer_segment"
EMAIL_HEADERS = ("email", "e-mail", "email address", "email_address", "e_mail")
FIRST_NAME_HEADERS = ("first_name", "first name", "firstname", "given name")
LAST_NAME_HEADERS = ("last_name", "last name", "lastname", "surname", "family name")
READ_ROWS = 16_384


def _find(names: list[str], wanted: tuple[str, ...]) -> str | None:
    """The first column whose header, case and outer spaces aside, is one of `wanted`."""
    for name in names:
        if name.strip().lower() in wanted:
            return name
    return None


def email_column(names: list[str]) -> str | None:
    """The file's email column, if it has one (headed email, e-mail or email address, any case)."""
    return _find(names, EMAIL_HEADERS)


def identifies_contacts(run: Run, names: list[str]) -> bool:
    """True when a run's rows can be matched to CRM contacts: it has a customer id column or an email column."""
    return bool(run.customer_id_column) or email_column(names) is not None


def _columns(run: Run, names: list[str], crm: str) -> list[tuple[str, str]]:
    """(output header, run column) pairs in the CRM's order; a column the file lacks is left out."""
    email = email_column(names)
    first, last = _find(names, FIRST_NAME_HEADERS), _find(names, LAST_NAME_HEADERS)
    if crm == "hubspot":
        if email is None:
            raise RunConflict(
                f"run {run.id} ({run.file_name}) has no email column, and HubSpot's contact import needs an email "
                "(or a HubSpot record id) on every contact: score a file with an email column (headed email, e-mail "
                "or email address), or use format=generic"
            )
        pairs = [("Email", email), ("First Name", first), ("Last Name", last)]
        pairs += [(HUBSPOT_SEGMENT_PROPERTY, "segment_name"), ("customer_segment_id", "segment_id")]
        pairs += [("segment_confidence", "confidence")]
        if run.customer_id_column:
            pairs.append(("customer_id", run.customer_id_column))
    else:
        if not identifies_contacts(run, names):
            # Segments alone, one row per unnamed customer, cannot be imported: no CRM could tell whose they are.
            raise RunConflict(
                f"run {run.id} ({run.file_name}) has no customer id column and no email column, so its rows cannot "
                "be matched to contacts: score the file again naming its id column (id_column= on the API, "
                '--id-column in the CLI, "Customer id column" on the score page), or with an email column (headed '
                "email, e-mail or email address)"
            )
        pairs = [("customer_id", run.customer_id_column), ("email", email), ("first_name", first)]
        pairs += [("last_name", last), ("segment", "segment_name"), ("segment_id", "segment_id")]
        pairs.append(("confidence", "confidence"))
    return [(header, column) for header, column in pairs if column]


def _segment_filter(run: Run, segment: str | None) -> pc.Expression | None:
    """Rows of one segment, asked by name or id; an unknown segment is a 404 naming the run's segments."""
    if segment is None:
        return pc.field("segment_name").is_valid()
    return pc.field("segment_name") == run_segment(run, segment)["segment_name"]


def crm_csv(*, run: Run, path: Path, crm: str, segment: str | None = None) -> Iterator[bytes]:
    """The contact-import CSV of one segment of a run (or of every scored customer), formula-safe, chunk by chunk."""
    if crm not in FORMATS:
        raise InvalidRequest(f"format: one of {', '.join(FORMATS)}")
    parquet = pq.ParquetFile(path)
    pairs = _columns(run, list(parquet.schema_arrow.names), crm)
    keep = _segment_filter(run, segment)
    columns = list(dict.fromkeys(column for _, column in pairs))
    headers = [header for header, _ in pairs]

    def tables() -> Iterator[pa.Table]:
        for batch in parquet.iter_batches(batch_size=READ_ROWS, columns=columns):
            table = pa.Table.from_batches([batch]).filter(keep)
            yield pa.table([table[column] for _, column in pairs], names=headers)

    return csv_of_tables(headers, tables())
