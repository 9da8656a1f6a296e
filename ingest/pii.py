"""Personal data handling at the door: normalise, classify, keyed-hash; never store raw.

PIPL treats a hashed phone as personal information still, so the hash is keyed
(HMAC-SHA256) with a secret from the environment and carries a key version; rotating the key
means re-hashing, which the version makes auditable.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import pyarrow.compute as pc

from ingest.arrow_text import to_arrow, to_mask, to_text

log = logging.getLogger(__name__)

DEMO_KEY = "quanyu-demo-key-NOT-FOR-PRODUCTION"
DEMO_KEY_VERSION = "demo"

MOBILE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE = re.compile(r"^0\d{9,11}$")
# Values people type when the form insists on a phone: not identities, they would glue
# thousands of strangers together. Hub detection in OneID catches the ones not listed here.
PLACEHOLDERS = frozenset({"13800000000", "13800138000", "13888888888", "13900000000",
                          "12345678901", "13000000000", "18888888888", "00000000000"})
# A run of one digit (1111111111, 22222222222) is a placeholder too: see normalise_mobiles.
_SEPARATORS = re.compile(r"[\s\-()（）.]+")
_MOBILE_IN_TEXT = re.compile(r"(?<!\d)(?:\+?86)?1[3-9]\d{9}(?!\d)")


@dataclass(frozen=True)
class HashKey:
    """The HMAC key and its version label."""

    secret: bytes
    version: str

    @property
    def is_demo(self) -> bool:
        return self.version == DEMO_KEY_VERSION


@lru_cache(maxsize=1)
def _warn_demo_key_once() -> None:
    log.warning("QUANYU_HASH_KEY is not set: using the public DEMO key (rows say _hash_key_version='demo'). "
                "Never use it for real data.")


def key_from_env(env: dict[str, str] | None = None) -> HashKey:
    """Read ``QUANYU_HASH_KEY`` / ``QUANYU_HASH_KEY_VERSION``; fall back to the marked demo key."""
    env = os.environ if env is None else env
    secret = env.get("QUANYU_HASH_KEY")
    if not secret:
        _warn_demo_key_once()
        return HashKey(DEMO_KEY.encode(), DEMO_KEY_VERSION)
    version = env.get("QUANYU_HASH_KEY_VERSION", "v1")
    if version == DEMO_KEY_VERSION:
        raise ValueError("QUANYU_HASH_KEY_VERSION 'demo' is reserved for the built-in demo key")
    return HashKey(secret.encode(), version)


def keyed_hash(key: HashKey, value: str) -> str:
    return hmac.new(key.secret, value.encode("utf-8"), hashlib.sha256).hexdigest()


def _hash_unique(key: HashKey, values: pd.Series) -> pd.Series:
    """Hash each distinct value once: real exports repeat the same phone many times."""
    present = values.dropna()
    keyed = hmac.new(key.secret, digestmod=hashlib.sha256)  # the key schedule once, copied per value

    def digest(value: str) -> str:
        h = keyed.copy()
        h.update(value.encode("utf-8"))
        return h.hexdigest()

    mapping = {v: digest(v) for v in present.unique()}
    return values.map(mapping)


def normalise_mobiles(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (normalised 11-digit number or NA, status) for raw phone texts.

    status: ``valid``, ``placeholder``, ``masked`` (contains ``*``: marketplaces mask the
    middle digits, so it cannot identify anyone), ``landline``, ``invalid``; NA when empty.
    """
    # Arrow (RE2) kernels, not a Python call per cell: RE2 has no look-ahead or back-references,
    # hence the capture group for the country code and the explicit repeated-digit test.
    arrow = pc.replace_substring_regex(to_arrow(values), _SEPARATORS.pattern, "")
    arrow = pc.replace_substring_regex(arrow, r"^(?:\+?0{0,2}86)(1\d{10})$", r"\1")
    tail = pc.utf8_slice_codeunits(arrow, -10)
    repeated = pc.and_(pc.match_substring_regex(arrow, r"^\d{10,11}$"),
                       pc.equal(tail, pc.binary_repeat(pc.utf8_slice_codeunits(tail, 0, 1), 10)))
    index = values.index
    text = to_text(arrow, index)
    status = pd.Series(pd.NA, index=index, dtype="str")
    present = text.notna() & (text != "")
    masked = present & to_mask(pc.match_substring(arrow, "*"), index)
    mobile = present & ~masked & to_mask(pc.match_substring_regex(arrow, MOBILE.pattern), index)
    placeholder = present & ~masked & (text.isin(PLACEHOLDERS) | to_mask(repeated, index))
    landline = present & ~masked & ~mobile & to_mask(pc.match_substring_regex(arrow, LANDLINE.pattern), index)
    status[present] = "invalid"
    status[landline.fillna(False)] = "landline"
    status[masked.fillna(False)] = "masked"
    status[mobile.fillna(False)] = "valid"
    status[placeholder.fillna(False)] = "placeholder"
    number = text.where(status == "valid")
    return number, status


def hash_mobiles(key: HashKey, values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(keyed hash of valid numbers, status) for raw phone texts; placeholders are not hashed."""
    number, status = normalise_mobiles(values)
    return _hash_unique(key, number), status


def hash_identifiers(key: HashKey, values: pd.Series) -> pd.Series:
    """Keyed hash of a personal identifier (nick, pin, account); masked values are no identity."""
    text = values.astype("str").str.normalize("NFKC").str.strip().str.lower()
    text = text.where(~text.str.contains("*", regex=False).fillna(False) & (text != ""))
    return _hash_unique(key, text)


def redact_text(text: str) -> str:
    """Blank out anything that looks like a mobile number (for quarantine and messages)."""
    return _MOBILE_IN_TEXT.sub("<mobile>", text)
