"""Text columns between pandas and Arrow: the parsers clean and match text with Arrow (RE2)
kernels, one call per column instead of a Python call per cell."""
from __future__ import annotations

import pandas as pd
import pyarrow as pa


def to_arrow(text: pd.Series) -> pa.Array:
    """A pandas text column (NA or missing values included) as an Arrow string array."""
    return pa.array(text.astype("str"), type=pa.string(), from_pandas=True)


def to_text(array: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow string array back as a pandas ``str`` column on ``index`` (nulls are NA).

    Placed on ``index`` by position (``set_axis``): ``pd.Series(series, index=...)`` would align the
    array's 0..n-1 labels with ``index`` and turn every value of a series indexed otherwise into NA."""
    return array.to_pandas().set_axis(index).astype("str")


def to_mask(array: pa.Array, index: pd.Index) -> pd.Series:
    """An Arrow boolean array as a pandas bool column on ``index`` (null is False), by position."""
    return array.to_pandas().set_axis(index).fillna(False).astype(bool)
