"""Chunks of whole records: cut only at line ends outside quotes, the whole file covered once, in order."""

import pytest

from app.models.rfm.chunks import NoRecordEnd, header_end, record_chunks, record_end


def _chunks(path, chunk_bytes, **kwargs):
    return [(offset, bytes(data)) for offset, data in record_chunks(path, header_end(path), chunk_bytes, **kwargs)]


def test_record_end_skips_line_ends_inside_quotes():
    data = b'1,"a\nb",2\n3,"c\nd'
    assert record_end(data, len(data)) == data.index(b"2\n") + 2
    assert record_end(b'1,"x""y",2\n3', 12) == 11  # a doubled quote inside a quoted value
    assert record_end(b'1,"a\nb', 6) == 0


def test_chunks_cover_the_file_once_and_hold_whole_records(tmp_path):
    lines = ['"id","note"'] + [f'{i},"line {i}\nwith ""quotes"", and a comma"' for i in range(200)]
    path = tmp_path / "t.csv"
    path.write_bytes(("\r\n".join(lines)).encode())  # CRLF, no line end after the last record
    chunks = _chunks(path, 64)
    assert len(chunks) > 10
    body = path.read_bytes()[header_end(path) :]
    assert b"".join(data for _, data in chunks) == body
    position = header_end(path)
    for offset, data in chunks:
        assert offset == position
        assert data.count(b'"') % 2 == 0
        position += len(data)


def test_a_file_with_only_a_header_has_no_chunks(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b"a,b\n")
    assert _chunks(path, 16) == []


def test_no_record_end_within_the_limit_is_reported_with_its_offset(tmp_path):
    path = tmp_path / "t.csv"
    path.write_bytes(b'a,b\n1,2\n3,"open' + b"x\n" * 100)  # a quote that never closes
    with pytest.raises(NoRecordEnd) as caught:
        _chunks(path, 8, limit=64)
    assert caught.value.offset == len(b"a,b\n1,2\n")
