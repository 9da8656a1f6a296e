"""The per-value HMAC of ``ingest.pii._hash_unique`` (two SHA-256 states copied per value, digests kept during a
load) gives the standard library's ``hmac`` digests for every key length and value."""
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


def _hmac(secret: bytes, texts: list) -> list:
    return [None if v is None else hmac.new(secret, v.encode("utf-8"), hashlib.sha256).hexdigest() for v in texts]


def _hashed(secret: bytes, texts: list) -> list:
    got = _hash_unique(HashKey(secret, "test"), pd.Series(texts, dtype="str"))
    return [None if pd.isna(v) else v for v in got.tolist()]


def test_kept_digests_are_never_another_keys_and_survive_their_store_filling_up(monkeypatch):
    from ingest import pii

    pii.forget_values()
    texts = [f"1380013{i:04d}" for i in range(50)] + ["刘佳妍", None]
    assert _hashed(b"key-a", texts) == _hmac(b"key-a", texts)
    assert len(pii._KEPT_DIGESTS[b"key-a"]) == 51
    assert _hashed(b"key-a", texts[::-1]) == _hmac(b"key-a", texts[::-1])  # taken from the store
    assert _hashed(b"key-b", texts) == _hmac(b"key-b", texts)  # the same values, another key
    assert list(pii._KEPT_DIGESTS) == [b"key-b"]
    monkeypatch.setattr(pii, "VALUES_KEPT", 5)  # the store cleared again and again within one call
    assert _hashed(b"key-a", texts + texts) == _hmac(b"key-a", texts + texts)
    assert len(pii._KEPT_DIGESTS[b"key-a"]) <= 5
    pii.forget_values()
    assert not pii._KEPT_DIGESTS and not pii._KEPT_SOUNDS
