"""A file Excel saved as "CSV (Comma delimited)" on Windows (Windows-1252, not UTF-8): every reader refuses it in
the same words, naming the line, the byte, what it is in Windows-1252 and how to save the file as UTF-8."""

import pytest

from app.core.errors import InvalidDataset, InvalidRequest
from app.models.dataset import read_text_table
from app.models.rfm.build import build_rfm
from app.utils.csv_head import NotCsvText, decode_head, first_not_utf8
from app.utils.csv_rows import UnreadableRows, read_rows

ADVICE = 'in Excel use Save As, "CSV UTF-8 (Comma delimited)", and send that file'
HEADER = "CustomerID,Annual Income (k$),Spending Score (1-100)\n"
# Past the 64 KiB every reader checks first: the byte is found by Arrow's reader, not by the first look.
GOOD = "".join(f"{index},{15 + index % 100},{1 + index % 99}\n" for index in range(1, 6_001))


def problem(line: int, byte: str = "FC", char: str = "ü") -> str:
    return (
        f"is not UTF-8 text (line {line}: the byte 0x{byte}, '{char}' in Windows-1252 as Excel saves "
        f'"CSV (Comma delimited)"); {ADVICE}'
    )


def test_the_first_look_names_the_line_the_byte_and_how_to_save_the_file():
    with pytest.raises(NotCsvText) as refused:
        decode_head("id,name\n1,José\n2,Müller\n".encode("cp1252"))
    assert refused.value.problem == problem(2, "E9", "é") and refused.value.advised


def test_a_byte_late_in_the_file_is_found_at_its_line(tmp_path):
    path = tmp_path / "late.csv"
    path.write_bytes((HEADER + GOOD + "6001,Müller,20\n").encode("cp1252"))
    assert first_not_utf8(path, block=4093) == (problem(6_002), 6_002)  # blocks that cut lines anywhere
    with pytest.raises(UnreadableRows) as refused:
        read_rows(path.read_bytes(), names=["a", "b", "c"], delimiter=",", label="late.csv")
    assert refused.value.problem == f"late.csv {problem(6_002)}" and refused.value.line == 6_002


def test_training_reads_say_the_same(tmp_path):
    path = tmp_path / "crm.csv"
    path.write_bytes((HEADER + GOOD + "6001,Müller,20\n").encode("cp1252"))
    with pytest.raises(InvalidDataset) as refused:
        read_text_table(path, name="crm.csv")
    assert refused.value.message == f"crm.csv {problem(6_002)}"


def test_scoring_an_upload_says_the_same(client):
    early = client.post(
        "/api/v1/predict/csv", content="a,b\n1,Müller\n".encode("cp1252"), headers={"content-type": "text/csv"}
    )
    assert early.status_code == 422
    assert early.json()["message"] == f"the file {problem(2)}"
    late = client.post(
        "/api/v1/predict/csv",
        content=(HEADER + GOOD + "6001,20,Müller\n").encode("cp1252"),
        headers={"content-type": "text/csv"},
    )
    assert late.status_code == 422
    assert problem(6_002).removeprefix("is not UTF-8 text ") in late.json()["message"]


def _transactions_refused(tmp_path, bad_line: str, after: int = 0) -> str:
    """build_rfm's refusal of 8,000 good transaction lines, `bad_line` in Windows-1252, then `after` good ones."""
    rows = [f"c{index % 50},2011-01-{1 + index % 28:02d},{index % 90}.5,FR\n" for index in range(8_000)]
    path = tmp_path / "transactions.csv"
    text = "CustomerID,InvoiceDate,Amount,Country\n" + "".join(rows) + bad_line + "".join(rows[:after])
    path.write_bytes(text.encode("cp1252"))
    with pytest.raises(InvalidDataset) as refused:
        build_rfm(path)
    return refused.value.message


def test_a_transactions_file_says_the_same(tmp_path):
    assert _transactions_refused(tmp_path, "Müller,2011-01-02,5.5,DE\n") == f"the transactions file {problem(8_002)}"


def test_an_upload_refused_at_its_first_look_says_what_to_do():
    from app.services.csv_text import decode_head as upload_head

    with pytest.raises(InvalidRequest) as refused:
        upload_head("a,b\n1,Müller\n".encode("cp1252"))
    assert refused.value.message == f"the file {problem(2)}"


# pyarrow fails to decode such a record for the bad-row handler before calling it, and reports that to
# sys.unraisablehook itself (known, not fixed here: see the branch's report).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_record_with_a_field_too_few_is_refused_for_its_bytes_not_echoed(client, tmp_path):
    """Arrow cannot hand such a record to the bad-row handler as text: its parse error quoted the record."""
    data = (HEADER + GOOD + "Müller,20\n" + GOOD).encode("cp1252")
    with pytest.raises(UnreadableRows) as refused:
        read_rows(data, names=["a", "b", "c"], delimiter=",", label="crm.csv")
    assert refused.value.problem == f"crm.csv {problem(6_002)}"
    scored = client.post("/api/v1/predict/csv", content=data, headers={"content-type": "text/csv"})
    assert scored.status_code == 422
    assert scored.json()["message"] == f"the file {problem(6_002)}"
    short = _transactions_refused(tmp_path, "Müller,2011-01-02,5.5\n", after=8_000)  # a field too few
    assert short == f"the transactions file {problem(8_002)}"


def test_profiling_a_file_says_the_same():
    from app.models.columns_profile import profile_file

    with pytest.raises(InvalidDataset) as refused:
        profile_file((HEADER + GOOD + "6001,Müller,20\n").encode("cp1252"), name="crm.csv")
    assert refused.value.message == f"crm.csv {problem(6_002)}"
