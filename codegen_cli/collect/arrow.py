"""Arrow arrays built straight from buffers.

`pa.array(python_list)` and `Table.from_pylist` import pandas on first use (about a second of CPU in
every process), although no pandas object is involved. The corpus only needs strings, int64 and boolean
masks, which are simple to lay out by hand: offsets + UTF-8 bytes (+ a validity bitmap for nulls).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def _bitmap(valid: np.ndarray) -> pa.Buffer:
    return pa.py_buffer(np.packbits(valid, bitorder="little").tobytes())


def strings(values: Sequence[str | None]) -> pa.Array:
    """A `string` array; None becomes null."""
    encoded = [b"" if value is None else value.encode("utf-8") for value in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(item) for item in encoded], out=offsets[1:])
    valid = np.array([value is not None for value in values], dtype=bool)
    nulls = int(len(values) - valid.sum())
    validity = _bitmap(valid) if nulls else None
    return pa.Array.from_buffers(pa.large_string(), len(encoded),
                                 [validity, pa.py_buffer(offsets.tobytes()), pa.py_buffer(b"".join(encoded))],
                                 null_count=nulls).cast(pa.string())


def int64s(values: Sequence[int]) -> pa.Array:
    data = np.asarray(values, dtype=np.int64)
    return pa.Array.from_buffers(pa.int64(), len(data), [None, pa.py_buffer(data.tobytes())])


def mask(values: np.ndarray) -> pa.Array:
    """A `bool` array from a numpy boolean array (for Table.filter)."""
    data = np.asarray(values, dtype=bool)
    return pa.Array.from_buffers(pa.bool_(), len(data), [None, _bitmap(data)])


def table(rows: list[dict], schema: pa.Schema) -> pa.Table:
    """Rows (dicts with the schema's keys) to a table of string and int64 columns."""
    columns = []
    for column in schema:
        values = [row[column.name] for row in rows]
        columns.append(int64s(values) if pa.types.is_int64(column.type) else strings(values))
    return pa.Table.from_arrays(columns, schema=schema)


def int64_sum(column: pa.ChunkedArray) -> int:
    """Sum of a non-null int64 column, read from its buffers (`to_numpy` would import pandas)."""
    total = 0
    for chunk in column.chunks:
        data = chunk.buffers()[1]
        if data is not None and len(chunk):
            total += int(np.frombuffer(data, dtype=np.int64, count=len(chunk), offset=chunk.offset * 8).sum())
    return total
