"""NumPy ↔ Arrow for plain float columns without pyarrow's pandas bridge.

pyarrow's ``Array.to_numpy`` and ``pa.array(ndarray)`` (and any Python scalar given to a compute
function) import pandas, a third of a second of a small ``linearlab fit`` or ``predict``. Plain
numbers need none of it: they cross through DLPack or their data buffer, zero-copy.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

__all__ = ["column_values", "float64_array"]


def column_values(col: pa.Array) -> np.ndarray:
    """A column as NumPy: through DLPack (zero-copy, read-only) for integers and floats
    without nulls, else pyarrow's ``to_numpy``."""
    if not col.null_count and (pa.types.is_integer(col.type) or pa.types.is_floating(col.type)):
        try:
            return np.from_dlpack(col)
        except (AttributeError, BufferError, TypeError, ValueError, RuntimeError):
            pass  # a chunked array, an unusual layout: the general path
    return col.to_numpy(zero_copy_only=False)


def float64_array(values: np.ndarray) -> pa.Array:
    """A 1-D array as an Arrow float64 array built on its buffer (NaN stays NaN, as
    ``pa.array`` leaves it)."""
    values = np.ascontiguousarray(values, dtype=np.float64)
    return pa.Array.from_buffers(pa.float64(), len(values), [None, pa.py_buffer(values)])
