"""The labelled CSV rendered from coded score columns is byte for byte the CSV of the scored table, as written
before (csv_bytes on every cell), on messy generated files with every option."""

import io

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from app.services.scoring import csv_render
from app.services.scoring.chunk import ScoredChunk
from app.services.scoring.csv_io import CsvScorer
from app.services.scoring.csv_render import CsvStyle, csv_bytes, csv_header, csv_text_columns, scored_csv_bytes
from app.services.scoring.files import score_path
from app.services.scoring.options import ScoreOptions
from app.services.scoring.score_columns import SCORE_COLUMN_TABLE
from tests.services.scoring.messy import messy_csv

OPTIONS = [
    {},
    {"on_error": "skip"},
    {"extra_columns": ("runner_up", "description", "marketing_strategy")},
    {"explain": True},
    {"target_segment": "1"},
    {"formula_guard": False, "excel": True},
    {"chunk_rows": 333},
]
FILES = [
    {"delimiter": ",", "line_end": "\n", "bom": False},
    {"delimiter": ";", "line_end": "\r\n", "bom": True},
]


def _table_csv(chunk: ScoredChunk, style: CsvStyle) -> bytes:
    """The chunk's CSV as every cell of its table renders: the writer's output before coded columns."""
    return csv_bytes(chunk.table, style.delimiter, line_end=style.line_end, formula_guard=style.formula_guard)


@pytest.mark.parametrize("file", FILES)
@pytest.mark.parametrize("options", OPTIONS)
def test_scored_csv_bytes_equal_the_scored_tables_csv(model, file, options):
    scorer = CsvScorer(model, io.BytesIO(messy_csv(1500, seed=len(options), **file)), ScoreOptions(**options))
    chunks = list(scorer.chunks())
    assert scorer.summary.flagged + scorer.summary.skipped > 0  # the file has bad rows to render
    assert sum(chunk.num_rows for chunk in chunks) > 1000
    for chunk in chunks:
        assert scored_csv_bytes(chunk, scorer.style) == _table_csv(chunk, scorer.style)


def test_score_path_writes_the_scored_tables_csv(model, tmp_path):
    source = tmp_path / "messy.csv"
    source.write_bytes(messy_csv(2000, seed=3, delimiter=";", line_end="\r\n", bom=True))
    options = ScoreOptions(chunk_rows=250, extra_columns=("runner_up",))
    score_path(model, source, tmp_path / "out.csv", options=options)
    scorer = CsvScorer(model, source, options)
    expected = csv_header(scorer.columns.output_names(options), scorer.style) + b"".join(
        _table_csv(chunk, scorer.style) for chunk in scorer.chunks()
    )
    assert (tmp_path / "out.csv").read_bytes() == expected


@pytest.mark.parametrize(
    "values",
    [
        [0.5, -0.0, 0.25],  # -0.0 is written "-0": not the text of its step
        [0.5, 123456.0, 0.1],  # a range too wide for one text per step
        [0.1234, None, 1.0],
        [None, None, None],
    ],
)
def test_scored_csv_bytes_render_rounded_numbers_as_each_cell_would(values):
    confidence = next(column for column in SCORE_COLUMN_TABLE if column.name == "confidence")
    array = pa.array(values, pa.float64())
    chunk = ScoredChunk(pa.table({"id": ["a", "b", "c"]}), [(confidence, array)])
    style = CsvStyle()
    assert scored_csv_bytes(chunk, style) == _table_csv(chunk, style)


def test_scored_csv_bytes_keep_the_sign_of_a_negative_zero():
    confidence = next(column for column in SCORE_COLUMN_TABLE if column.name == "confidence")
    chunk = ScoredChunk(pa.table({"id": ["a", "b"]}), [(confidence, pa.array([0.5, -0.0]))])
    assert scored_csv_bytes(chunk, CsvStyle()) == b"a,0.5\nb,-0\n"


def _numbers_at_every_magnitude() -> np.ndarray:
    """Doubles from 1e-12 to 1e24, as they come and rounded, negated, whole, and the odd ones."""
    rng = np.random.default_rng(7)
    values = np.concatenate([rng.random(2_000) * 10.0**exponent for exponent in range(-12, 25)])
    odd = [0.0, -0.0, 1.0, 3.0, 1e15, 1e-5, 9.999e-5, 1e-4, 999_999_999.5, 1e9 + 0.5, 5e-324, np.inf, -np.inf]
    return np.concatenate([values, np.round(values, 3), np.round(values), -values, odd])


@pytest.mark.parametrize("nulls", [False, True])
def test_float_cells_are_written_as_arrows_cast_writes_them(nulls):
    values = _numbers_at_every_magnitude()
    mask = (np.arange(len(values)) % 7 == 3) if nulls else None
    column = pa.array(values, pa.float64(), mask=mask)
    expected = pc.fill_null(pc.cast(column, pa.string()), "")
    for start in range(0, len(values), 1_000):  # chunk by chunk, as files are rendered, and from a slice
        part = column.slice(start, 1_000)
        (texts,) = csv_text_columns(pa.table([part], ["distance"]), formula_guard=False)
        assert texts.to_pylist() == expected.slice(start, 1_000).to_pylist()


def test_float_cells_of_usual_distances_are_not_cast_cell_by_cell(monkeypatch):
    # A file's usual values (distances between 0.01 and 10) take the fast path: Arrow's cast is never called.
    values = np.random.default_rng(3).random(5_000) * 10 + 0.01
    column = pa.array(values)

    def no_cast(*args, **kwargs):
        raise AssertionError("a usual float column was cast")

    monkeypatch.setattr(csv_render.pc, "cast", no_cast)
    (texts,) = csv_text_columns(pa.table([column], ["distance"]), formula_guard=False)
    assert texts.to_pylist() == [repr(value) for value in values.tolist()]
