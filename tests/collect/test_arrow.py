"""Arrow arrays built from buffers equal pyarrow's own conversion (nulls, non-ASCII, empty)."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from codegen_cli.collect import arrow
from codegen_cli.collect.process import SCHEMA


def test_table_matches_from_pylist():
    rows = [{"id": "a", "content": "héllo 世界\r\n", "language": "Python", "path": "p", "source": "s",
             "license": None, "size_bytes": 15, "num_lines": 1},
            {"id": "b", "content": "", "language": "C", "path": "q", "source": "s", "license": "MIT",
             "size_bytes": 0, "num_lines": 0}]
    built = arrow.table(rows, SCHEMA)
    assert built.equals(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert arrow.table([], SCHEMA).num_rows == 0
    assert built.filter(arrow.mask(np.array([False, True]))).to_pylist() == rows[1:]
    assert arrow.int64_sum(built.column("size_bytes")) == 15
    assert arrow.int64_sum(built.slice(1).column("size_bytes")) == 0
