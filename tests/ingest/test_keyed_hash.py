"""The per-value HMAC of ``ingest.pii._hash_unique`` (two SHA-256 states copied per value) gives the standard
library's ``hmac`` digests for every key length and value."""
import hashlib
import hmac

import pandas as pd
import pytest

from ingest.pii import HashKey, _hash_unique


@pytest.mark.parametrize("secret", [b"", b"k", b"x" * 63, b"y" * 64, b"z" * 65, bytes(range(256)) * 3])
def test_hashed_values_equal_the_standard_hmac_for_any_key_length(secret):
    texts = ["13800138000", "", "刘佳妍", "oK7cr1_Thp97YRYnJuVHqXb6kDH", None, "13800138000", "\u0000"]
    got = _hash_unique(HashKey(secret, "test"), pd.Series(texts, dtype="str"))
    expected = [None if v is None else hmac.new(secret, v.encode("utf-8"), hashlib.sha256).hexdigest()
                for v in texts]
    assert [None if pd.isna(v) else v for v in got.tolist()] == expected
