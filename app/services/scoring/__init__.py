"""Score a whole customer file in chunks: one service behind the API, the web page, the CLI and Dask.

Import the modules: `options` (ScoreOptions), `score_columns` (the columns appended), `columns` (finding the
model's inputs in a header), `validation` (numbers and bad rows), `summary` (counts and profiles), `table` (one
chunk), `chunk` (a scored chunk, its columns coded), `csv_io` (reading CSV), `csv_render` (writing it), `lines`
(line numbers, and quotes that never close), `formulas` (text a spreadsheet would run, made inert), `spool` (what
a file leaves behind once it succeeded) and `files` (whole files on disk); `dask` scores on a cluster.
"""

import pyarrow as pa

# Arrow's default pool (mimalloc) keeps freed chunk buffers for reuse; the system allocator hands them back, which
# lowered the CLI's peak RSS on a 2M-row file from ~265 to ~225 MB at the same speed, and keeps a server's memory
# after a large upload near where it was. Set here, before any module of the package allocates: this package is
# the only user of Arrow in the process.
pa.set_memory_pool(pa.system_memory_pool())
