"""Vectorised text building on Arrow string arrays.

Why Arrow and not numpy strings: a CSV line of 20 fields built with numpy `np.strings.add`
copies and re-allocates the growing line 20 times (seconds per million rows); `pyarrow.compute`
joins all fields in one pass. Fixed-width values (timestamps, phone numbers, ids) are written
straight into a byte matrix, which is cheaper still. Every writer in `demo` formats through here,
so no function loops over rows in Python.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

Text = pa.Array | pa.ChunkedArray | str

_MASK64 = np.uint64(0xFFFFFFFFFFFFFFFF)
B64URL = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
HEX = "0123456789abcdef"
ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
DIGITS = "0123456789"


# --------------------------------------------------------------------------- hashing


def splitmix64(x: np.ndarray) -> np.ndarray:
    """Mix uint64 values (SplitMix64 finaliser): a stateless hash, so ids can be recomputed per chunk."""
    with np.errstate(over="ignore"):
        z = x.astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15)
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        return z ^ (z >> np.uint64(31))


def salt(name: str, seed: int) -> np.uint64:
    """A stable 64-bit salt for one kind of identifier (crc32 is stable across runs, unlike hash())."""
    return splitmix64(np.array([(zlib.crc32(name.encode()) << 32) ^ (seed & 0xFFFFFFFF)], dtype=np.uint64))[0]


def hkey(idx: np.ndarray, name: str, seed: int) -> np.ndarray:
    """Hash an integer entity index into a uint64 key for identifier `name`."""
    with np.errstate(over="ignore"):
        return splitmix64(idx.astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15) ^ salt(name, seed))


def uniform(keys: np.ndarray, name: str) -> np.ndarray:
    """A float in [0, 1) derived from a key: a per-entity coin that does not depend on chunking."""
    h = splitmix64(keys ^ salt(name, 0))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


# --------------------------------------------------------------------------- building blocks


def from_bytes(matrix: np.ndarray) -> pa.Array:
    """Turn an (n, width) uint8 matrix of ASCII codes into an Arrow string array without copying rows."""
    n, width = matrix.shape
    offsets = np.arange(0, n * width + 1, width, dtype=np.int32)
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(np.ascontiguousarray(matrix)))


def digits(values: np.ndarray, width: int) -> pa.Array:
    """Zero-padded decimal text of non-negative integers, e.g. (7, 4) -> '0007'."""
    v = np.asarray(values, dtype=np.int64)
    m = np.empty((len(v), width), dtype=np.uint8)
    for k in range(width):
        m[:, width - 1 - k] = 48 + (v // 10**k) % 10
    return from_bytes(m)


def ints(values: np.ndarray) -> pa.Array:
    """Plain decimal text of integers."""
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def const(value: str, n: int) -> pa.Array:
    """The same text n times."""
    return pa.array([value], pa.string()).take(np.zeros(n, dtype=np.int64))


def pick(table: Sequence[str | None], idx: np.ndarray) -> pa.Array:
    """Look texts up by index (vocabulary tables: names, titles, statuses)."""
    return pa.array(list(table), pa.string()).take(pa.array(np.asarray(idx, dtype=np.int64)))


def concat(*parts: Text) -> pa.Array:
    """Concatenate arrays and literal strings element-wise; a null part makes the result null."""
    return _flat(pc.binary_join_element_wise(*parts, ""))


def concat_skip_null(*parts: Text) -> pa.Array:
    """Concatenate, treating null parts as empty strings (optional JSON members)."""
    return _flat(pc.binary_join_element_wise(*parts, "", null_handling="replace", null_replacement=""))


def where(mask: np.ndarray, a: Text | None, b: Text | None) -> pa.Array:
    """Element-wise choice; None stands for null."""
    a_ = pa.scalar(a, pa.string()) if a is None or isinstance(a, str) else a
    b_ = pa.scalar(b, pa.string()) if b is None or isinstance(b, str) else b
    return _flat(pc.if_else(pa.array(np.asarray(mask, dtype=bool)), a_, b_))


def nullify(arr: pa.Array, mask: np.ndarray) -> pa.Array:
    """Null out the masked elements."""
    return where(mask, None, arr)


def fill(arr: pa.Array, value: str = "") -> pa.Array:
    """Replace nulls by a text (CSV writes nulls as empty fields)."""
    return _flat(pc.fill_null(arr, value))


def _flat(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    return arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr


# --------------------------------------------------------------------------- domain formats


def tokens(keys: np.ndarray, length: int, alphabet: str = B64URL, prefix: str = "") -> pa.Array:
    """Deterministic random-looking identifiers (openid, unionid, external_userid) from uint64 keys."""
    n = len(keys)
    words = -(-length // 8)
    table = np.frombuffer(alphabet.encode("ascii"), dtype=np.uint8)
    m = np.empty((n, len(prefix) + length), dtype=np.uint8)
    if prefix:
        m[:, : len(prefix)] = np.frombuffer(prefix.encode("ascii"), dtype=np.uint8)
    with np.errstate(over="ignore"):
        for w in range(words):
            h = splitmix64(keys + np.uint64(w + 1) * np.uint64(0xD1B54A32D192ED03))
            raw = h.view(np.uint8).reshape(n, 8)
            take = min(8, length - 8 * w)
            m[:, len(prefix) + 8 * w : len(prefix) + 8 * w + take] = table[raw[:, :take] % len(table)]
    return from_bytes(m)


def yuan(fen: np.ndarray, suffix: str = "") -> pa.Array:
    """Amounts in fen as '128.00' (negative allowed): how back offices print CNY."""
    f = np.asarray(fen, dtype=np.int64)
    sign = where(f < 0, "-", "")
    a = np.abs(f)
    return concat(sign, ints(a // 100), ".", digits(a % 100, 2), suffix)


def mobile(numbers: np.ndarray) -> pa.Array:
    """11-digit mainland mobile numbers from int64."""
    return digits(numbers, 11)


def masked_mobile(numbers: np.ndarray, keep_head: int = 3, keep_tail: int = 4) -> pa.Array:
    """Marketplace masking: '135****1234' (Tmall, JD) or '1********35' (Douyin)."""
    n = np.asarray(numbers, dtype=np.int64)
    head = digits(n // 10 ** (11 - keep_head), keep_head)
    tail = digits(n % 10**keep_tail, keep_tail)
    return concat(head, "*" * (11 - keep_head - keep_tail), tail)


def _civil(seconds: np.ndarray) -> tuple[np.ndarray, ...]:
    """Split wall-clock seconds since 1970 into year, month, day, hour, minute, second."""
    s = np.asarray(seconds, dtype=np.int64)
    days = (s // 86400).astype("datetime64[D]")
    months = days.astype("datetime64[M]")
    year = months.astype(np.int64) // 12 + 1970
    month = months.astype(np.int64) % 12 + 1
    day = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    sod = s % 86400
    return year, month, day, sod // 3600, sod // 60 % 60, sod % 60


def wall_time(seconds: np.ndarray) -> pa.Array:
    """'YYYY-MM-DD HH:MM:SS' (Asia/Shanghai wall clock, as every Chinese back office prints it)."""
    y, mo, d, h, mi, s = _civil(seconds)
    n = len(y)
    m = np.empty((n, 19), dtype=np.uint8)
    for pos, val, width in ((0, y, 4), (5, mo, 2), (8, d, 2), (11, h, 2), (14, mi, 2), (17, s, 2)):
        for k in range(width):
            m[:, pos + width - 1 - k] = 48 + (val // 10**k) % 10
    m[:, 4] = m[:, 7] = 45
    m[:, 10] = 32
    m[:, 13] = m[:, 16] = 58
    return from_bytes(m)


def wall_date(seconds: np.ndarray) -> pa.Array:
    """'YYYY-MM-DD'."""
    return pc.utf8_slice_codeunits(wall_time(seconds), 0, 10)


def slash_time(seconds: np.ndarray) -> pa.Array:
    """'2026/1/5 9:03': what a store system that went through Excel writes."""
    y, mo, d, h, mi, _ = _civil(seconds)
    return concat(ints(y), "/", ints(mo), "/", ints(d), " ", ints(h), ":", digits(mi, 2))


def compact_date(seconds: np.ndarray) -> pa.Array:
    """'YYYYMMDD' (order and receipt number prefixes)."""
    y, mo, d, *_ = _civil(seconds)
    return digits(y * 10000 + mo * 100 + d, 8)


def json_str(arr: pa.Array) -> pa.Array:
    """A JSON string literal per element (escaped, quoted); null stays null."""
    esc = pc.replace_substring(arr, "\\", "\\\\")
    esc = pc.replace_substring(esc, '"', '\\"')
    esc = pc.replace_substring(esc, "\n", "\\n")
    return concat('"', esc, '"')


def json_value(arr: pa.Array) -> pa.Array:
    """A JSON string literal, or the literal null."""
    return fill(json_str(arr), "null")


def json_object(members: Sequence[tuple[str, pa.Array]], omit_null: bool = False) -> pa.Array:
    """Build '{"k":v,...}' per row from already-encoded JSON values.

    With omit_null a member whose value is null is left out (APIs omit absent fields), which is
    why each member carries its own leading comma and the first one is stripped at the end.
    """
    parts: list[Text] = []
    for key, value in members:
        piece = concat(f',"{key}":', value)
        parts.append(piece if omit_null else fill(concat(f',"{key}":', fill(value, "null")), ""))
    body = concat_skip_null(*parts) if omit_null else concat(*parts)
    return concat("{", pc.utf8_slice_codeunits(body, 1), "}")
