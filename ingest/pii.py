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
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import pyarrow as pa
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
# So is a mobile whose last 8 digits (after the 3-digit carrier prefix) are what a cashier or a
# customer types when the form insists on a number: one digit 8 times (13500000000, 18699999999)
# or a consecutive run up or down (13912345678, 13987654321, 15001234567, 13976543210). A real
# subscriber whose number ends so is refused too (never hashed, never joined): carriers keep such
# vanity numbers (靓号) back or sell them, mostly to shops, so the risk is about 16 numbers per
# 10^8 of a prefix, against one typed habit number joining thousands of strangers. A run that wraps
# (90123456) or a repeated block (13812341234) is not listed: real numbers end so about as often
# as typed ones; hub detection in OneID is the guard there.
PLACEHOLDER_TAILS = frozenset([str(d) * 8 for d in range(10)]
                              + ["01234567", "12345678", "23456789", "98765432", "87654321", "76543210"])
_SEPARATORS = re.compile(r"[\s\-()（）.]+")
# Characters that do not show: zero-width space, non-joiner and joiner, word joiner, BOM (ZWNBSP).
# Copy-paste from web pages, WeChat and Excel leaves them inside identifiers; they are removed
# anywhere in the value (no identifier contains one on purpose).
ZERO_WIDTH_RE2 = "[\u200b-\u200d\u2060\ufeff]"

# What the one masking function (``redact_text``) hides in any text shown to a person: a CN mobile
# (also written ``135 1234 5678`` or ``+86-135-1234-5678``), an ID-card number (18 characters, the
# last may be X), and any other run of 15 to 19 digits (a 15-digit ID card, a bank card). Longer runs
# stay visible: no personal number is 20 digits long, and ``'99999999999999999999' is larger than any
# count can be`` is the message a person needs. Digits glued to the match on either side make it no
# mobile (a 19-digit order id contains 11-digit runs by chance); they make it a longer run. A run behind a
# letter is a prefixed identifier (a one_id ``QY0000000000000042``, an order id ``JD...``), no bare card number.
_MASKS = (
    (re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d[ -]?\d{4}[ -]?\d{4}(?!\d)"), lambda m: "<mobile>"),
    (re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])"), lambda m: "<id card>"),
    (re.compile(r"(?<![0-9A-Za-z])\d{15,19}(?!\d)"), lambda m: f"<{len(m.group())} digits>"),
)
# The same mobile rule in RE2 syntax (DuckDB, pyarrow): no look-around, so the neighbours are matched
# as groups, and a letter next to the number makes it no mobile either (``unionid:oK7cr13512345678x``
# is an id, ``tel:13512345678`` and ``张三13512345678`` are phones). The ingest scan (the loader refuses
# a file with a phone in a non-personal column) and the lake backstop (ingest/audit.py) both use it.
MOBILE_IN_TEXT_RE2 = r"(^|[^0-9A-Za-z])(\+?86)?1[3-9][0-9][ -]?[0-9]{4}[ -]?[0-9]{4}([^0-9A-Za-z]|$)"
_PLACEHOLDER_TAIL_SET = pa.array(sorted(PLACEHOLDER_TAILS), pa.string())
# An 11-digit mobile landed as a number (an int or amount column holding 13512345678)
MOBILE_AS_NUMBER = (13_000_000_000, 19_999_999_999)


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


def normalise_identifier_forms(values: pd.Series) -> pd.Series:
    """The one Unicode normalisation of identifier texts, before validation and hashing.

    Full-width digits and letters (``１３８``, ``ｏＵｎ``: a Chinese IME in full-width mode), zero-width
    characters (``ZERO_WIDTH_RE2``, removed anywhere) and Unicode spaces at the ends (NBSP from a web
    page, the ideographic space U+3000 from an IME) would make one identifier two, or hide a
    spreadsheet's ``８.８E+11`` from the damage check. Each value is NFKC-normalised (full-width ASCII
    becomes ASCII; NBSP, U+3000 and the other Unicode spaces become a plain space), stripped of
    zero-width characters and trimmed. An inner space stays a (plain) space: a mobile's separators
    are removed by ``normalise_mobiles``; in any other identifier ``A 1`` and ``A1`` are kept apart,
    as the source wrote them.

    Values that are ASCII already are returned untouched (one ``string_is_ascii`` pass; with no
    non-ASCII value, the series itself); NFKC runs once per distinct non-ASCII value. Not an error and
    not noted in ``_cell_issues``: the value is the same identifier, written in another form.
    """
    arrow = to_arrow(values)
    folded = fold_forms(arrow)
    return values if folded is arrow else to_text(folded, values.index)


def fold_forms(arrow: pa.Array) -> pa.Array:
    """``normalise_identifier_forms`` on an Arrow string array; the array itself when all is ASCII."""
    other = pc.invert(pc.fill_null(pc.string_is_ascii(arrow), True))
    if not pc.any(other).as_py():
        return arrow
    distinct = pc.unique(arrow.filter(other))
    fixed = pc.utf8_normalize(distinct, "NFKC")
    fixed = pc.utf8_trim_whitespace(pc.replace_substring_regex(fixed, ZERO_WIDTH_RE2, ""))
    mapped = pc.take(fixed, pc.index_in(arrow, value_set=distinct))
    return pc.if_else(other, mapped, arrow)


def normalise_mobiles(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (normalised 11-digit number or NA, status) for raw phone texts.

    status: ``valid``, ``placeholder`` (``PLACEHOLDERS``, one digit repeated, or a typed tail:
    ``PLACEHOLDER_TAILS``), ``masked`` (contains ``*``: marketplaces mask the middle digits, so it
    cannot identify anyone), ``landline``, ``invalid``; NA when empty. Full-width digits, zero-width
    characters and Unicode spaces are normalised first (``normalise_identifier_forms``).
    """
    # Arrow (RE2) kernels, not a Python call per cell: RE2 has no look-ahead or back-references,
    # hence the capture group for the country code and the explicit repeated-digit test.
    arrow = to_arrow(normalise_identifier_forms(values))
    arrow = pc.replace_substring_regex(arrow, _SEPARATORS.pattern, "")
    arrow = pc.replace_substring_regex(arrow, r"^(?:\+?0{0,2}86)(1\d{10})$", r"\1")
    tail = pc.utf8_slice_codeunits(arrow, -10)
    repeated = pc.and_(pc.match_substring_regex(arrow, r"^\d{10,11}$"),
                       pc.equal(tail, pc.binary_repeat(pc.utf8_slice_codeunits(tail, 0, 1), 10)))
    typed_tail = pc.and_(pc.match_substring_regex(arrow, r"^1\d{10}$"),
                         pc.is_in(pc.utf8_slice_codeunits(arrow, -8), value_set=_PLACEHOLDER_TAIL_SET))
    index = values.index
    text = to_text(arrow, index)
    status = pd.Series(pd.NA, index=index, dtype="str")
    present = text.notna() & (text != "")
    masked = present & to_mask(pc.match_substring(arrow, "*"), index)
    mobile = present & ~masked & to_mask(pc.match_substring_regex(arrow, MOBILE.pattern), index)
    placeholder = present & ~masked & (text.isin(PLACEHOLDERS) | to_mask(repeated, index)
                                       | to_mask(typed_tail, index))
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
    text = normalise_identifier_forms(values.astype("str")).str.strip().str.lower()
    text = text.where(~text.str.contains("*", regex=False).fillna(False) & (text != ""))
    return _hash_unique(key, text)


def redact_text(text: object) -> str:
    """The one masking function: every value or message shown to a person (quarantine reasons and
    evidence, rejection messages, log lines, Dagster metadata, CLI output) passes through it.

    Masks mobiles (``<mobile>``), ID-card numbers (``<id card>``) and runs of 15-19 digits
    (``<16 digits>``); see ``_MASKS``. Values of personal columns are never handed to it: they are
    not shown at all (``personal_placeholder``). Idempotent, so a message masked at its source can
    be masked again at the door.
    """
    text = str(text)
    if not any(c.isdigit() for c in text):
        return text
    if not text.isascii():  # a phone in full-width digits or with a zero-width space is a phone
        text = _DIGIT_RUN.sub(_fold_digit_run, text)
    for pattern, replacement in _MASKS:
        text = pattern.sub(replacement, text)
    return text


# A run of digits and what separates the digits of a number (spaces, hyphens, plus, zero-width
# characters), ASCII or full-width: the only part of a message ``redact_text`` folds.
_DIGIT_RUN = re.compile("[0-9\uff10-\uff19+\uff0b][0-9\uff10-\uff19 +\\-\uff0b\uff0d\u3000\u00a0"
                        "\u200b-\u200d\u2060\ufeff]*")


def _fold_digit_run(match: re.Match) -> str:
    """A run folded to ASCII (NFKC, zero-width characters removed) when it then holds a number long
    enough to be masked (11 digits and more); otherwise, and everywhere else, the text as it was (a
    full-width header name in a message stays full-width)."""
    run = match.group()
    folded = re.sub(ZERO_WIDTH_RE2, "", unicodedata.normalize("NFKC", run))
    return folded if sum(c.isdigit() for c in folded) >= 11 else run


def personal_placeholder(kind: str) -> str:
    """What a message shows instead of a value of a personal column of contract type ``kind``."""
    return {"mobile": "<mobile>", "hash": "<personal id>", "year_month": "<birthday>"}.get(kind, "<personal>")


def mobiles_in_text(array: pa.Array) -> pa.Array:
    """Where a string array holds a mobile number (``MOBILE_IN_TEXT_RE2``; nulls are False).

    One RE2 pass per column. A cheap pre-filter first (a run of 11 digits anywhere) would not pay: a
    column without digits is as fast to scan with the full pattern. Non-ASCII values are folded first
    (``fold_forms``): ``１３８１２３４５６７８`` or ``138\u200b12345678`` in a remark is a phone too.
    """
    return pc.fill_null(pc.match_substring_regex(fold_forms(array), MOBILE_IN_TEXT_RE2), False)


def mobiles_as_numbers(array: pa.Array) -> pa.Array:
    """Where a numeric array (int, decimal) holds an integral value in the range of CN mobile numbers."""
    values = pc.cast(array, pa.float64())
    low, high = MOBILE_AS_NUMBER
    inside = pc.and_(pc.greater_equal(values, low), pc.less_equal(values, high))
    return pc.fill_null(pc.and_(inside, pc.equal(values, pc.floor(values))), False)
