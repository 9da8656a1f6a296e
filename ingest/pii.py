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
from itertools import chain
from typing import Any, NamedTuple

import numpy as np
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


def _hmac_pads(secret: bytes) -> tuple[Any, Any]:
    """HMAC-SHA256 (RFC 2104) as its two SHA-256 states after the padded key, copied per value: 2.7 us a value
    against 4.8 us through ``hmac.new(...).copy()`` (100k phones, measured in one window), the same digests
    (tests/ingest/test_keyed_hash.py)."""
    if len(secret) > _SHA256_BLOCK:
        secret = hashlib.sha256(secret).digest()
    block = secret.ljust(_SHA256_BLOCK, b"\0")
    return (hashlib.sha256(bytes(b ^ 0x36 for b in block)), hashlib.sha256(bytes(b ^ 0x5C for b in block)))


_SHA256_BLOCK = 64


def _hash_unique(key: HashKey, values: pd.Series) -> pd.Series:
    """Hash each distinct value once: real exports repeat the same phone many times.

    HMAC stays one call per distinct value (no batch HMAC exists in the standard library, and a
    digest over a joined buffer is another value): ~2.7 us each (``_hmac_pads``), 2.1M of them at 1M members. The
    values are spread back by their factorised codes, not ``Series.map`` (a Python call per row)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if not len(uniques):
        return values.map({})  # (all missing: the dtype pandas gives such a column, as before)
    inner, outer = _hmac_pads(key.secret)
    copy_inner, copy_outer = inner.copy, outer.copy

    def digest(value: str) -> str:
        h = copy_inner()
        h.update(value.encode("utf-8"))
        o = copy_outer()
        o.update(h.digest())
        return o.hexdigest()

    kept = _kept_digests(key.secret)
    get = kept.get
    digests = []
    for value in uniques.tolist():  # (iterating the Index itself: 0.6 us a value, 0.09 us so)
        hashed_value = get(value)
        if hashed_value is None:
            if len(kept) >= VALUES_KEPT:
                kept.clear()
            hashed_value = kept[value] = digest(value)
        digests.append(hashed_value)
    hashed = np.array(digests + [None], dtype=object)  # code -1 (missing) takes the None
    return pd.Series(hashed[codes], index=values.index, dtype="str")


# A load hashes the same phones, ids and names in table after table (the member's phone in the CRM, the
# mini-program, every order and receipt): the 100k brand's load computed 1,008,009 digests of 321,413
# distinct values. A process keeps up to VALUES_KEPT digests (and receiver sounds, ``_sound``) for the
# key in use, about 200 bytes each, and ``forget_values`` drops them when a load ends (ingest.engine), so
# no value outlives the load in memory. A digest is a pure function of key and value: kept or computed, it
# is the same (tests/ingest/test_keyed_hash.py).
VALUES_KEPT = 262_144
_KEPT_DIGESTS: dict[bytes, dict[str, str]] = {}


def _kept_digests(secret: bytes) -> dict[str, str]:
    """The digests kept for this key (a new key drops those of any other)."""
    kept = _KEPT_DIGESTS.get(secret)
    if kept is None:
        _KEPT_DIGESTS.clear()
        kept = _KEPT_DIGESTS[secret] = {}
    return kept


def forget_values() -> None:
    """Drop the digests and sounds kept during a load (``VALUES_KEPT``)."""
    _KEPT_DIGESTS.clear()
    _KEPT_SOUNDS.clear()


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
    return {"mobile": "<mobile>", "masked_mobile": "<mobile>", "hash": "<personal id>", "year_month": "<birthday>",
            "person_name": "<name>", "address": "<address>", "address_detail": "<address>"}.get(kind, "<personal>")


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


# ---------------------------------------------------------------- receiver fields for matching
# What marketplace exports carry about the receiver of an order, kept in a form a probabilistic
# matching tier (Fellegi-Sunter, issue 18) can compare without the raw text ever landing: keyed
# hashes of a normalised name and surname, of the visible digits of a masked phone and of a
# normalised street address; province, city and district as plain text (not personal on their own).
# Every function works on the distinct values of a column with Arrow (RE2) kernels: an export
# repeats the same receiver on every order line.

# Two-character surnames: the first two characters of a name starting with one of these are the
# surname. The common ones first; the rare ones so that a rare name is split right when it comes.
COMPOUND_SURNAMES = frozenset({
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯",
    "轩辕", "端木", "独孤", "南宫", "西门", "百里", "呼延", "澹台", "公羊", "申屠", "太史", "万俟", "闻人", "赫连",
    "钟离", "宗政", "濮阳", "淳于", "单于", "太叔", "仲孙", "鲜于", "闾丘", "亓官", "司空", "司寇", "公冶", "拓跋",
    "第五", "梁丘", "左丘", "东郭", "南门", "羊舌", "微生", "谷梁", "乐正", "壤驷", "漆雕", "巫马", "公西", "夹谷",
})
# A receiver written as surname + honorific (王女士, 欧阳先生) names the surname only; so does a
# familiar form of exactly two characters (小王, 老王, 阿王).
HONORIFICS = ("女士", "先生", "小姐", "太太", "夫人", "老师", "师傅", "同学", "阿姨")
FAMILIAR_PREFIXES = "小老阿"
# NFKC first (full-width letters, digits and the ideographic space become ASCII), then every
# space, punctuation, symbol and format character (zero-width space, BOM, word joiner) goes.
_NOT_TEXT = r"[\s\p{Z}\p{P}\p{S}\p{Cf}]"
# Region suffix rule: a trailing 省, 市, 自治区 (with its people's name: 广西壮族自治区) or
# 特别行政区 is dropped when two or more characters remain, so 上海市 = 上海, 浙江省 = 浙江,
# 杭州市 = 杭州, 广西壮族自治区 = 广西. Districts and counties keep 区 / 县 (西湖区, 桐庐县).
_REGION_SUFFIX = r"^(.{2,}?)(?:特别行政区|维吾尔自治区|壮族自治区|回族自治区|自治区|省|市)$"
_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")
# The region at the start of a whole address (Tmall 收货地址 with spaces, JD 客户地址 without):
# a province (or municipality), then a prefecture city, then a district or county, each optional
# after the first found. What follows is the detail address.
_PROVINCE = (r"北京市?|天津市?|上海市?|重庆市?|内蒙古(?:自治区)?|广西(?:壮族自治区)?|西藏(?:自治区)?|"
             r"宁夏(?:回族自治区)?|新疆(?:维吾尔自治区)?|香港(?:特别行政区)?|澳门(?:特别行政区)?|黑龙江省?|"
             # the provinces by name, 省 optional: JD writes 浙江杭州市西湖区... without it or a space
             r"(?:河北|山西|辽宁|吉林|江苏|浙江|安徽|福建|江西|山东|河南|湖北|湖南|广东|海南|四川|贵州|云南|陕西|"
             r"甘肃|青海|台湾)省?|"
             r"[^\s\d省市区县]{2}省")
_CITY = r"[^\s\d省市区县号路街]{1,7}?(?:市|自治州|地区|盟)"
_DISTRICT = r"[^\s\d省市区县号路街]{1,7}?(?:区|县|市|旗)"
# a province written without its suffix (浙江 杭州市 ...) is recognised when a space follows it
_BARE_PROVINCE = r"[^\s\d省市区县路街号]{2,3}\s"
_ADDRESS = (rf"^(?P<province>{_PROVINCE})?\s*(?P<bare>{_BARE_PROVINCE})?\s*(?P<city>{_CITY})?\s*"
            rf"(?P<district>{_DISTRICT})?\s*(?P<detail>.*)$")
_ZIP = r"\s*(?:[(（]\s*\d{6}\s*[)）]|\s\d{6})\s*$"


class Receiver(NamedTuple):
    """Per row: keyed hashes (or NA) and the row positions whose value could not be used, or was kept in part."""

    values: dict[str, pd.Series]
    unusable: pd.Series  # bool: the value was present but nothing could be kept
    partial: pd.Series  # bool: the value was used in part (a region could not be found ...)


def _unique(values: pd.Series) -> tuple[np.ndarray, pa.Array]:
    """(codes per row, -1 for NA; the distinct values as Arrow)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    return codes, pa.array(np.asarray(uniques, dtype=object), type=pa.string())


def _back(array: pa.Array, codes: np.ndarray, index: pd.Index) -> pd.Series:
    """Distinct results spread back to the rows (NA where the row was NA)."""
    if not len(array):
        return pd.Series(pd.NA, index=index, dtype="str")
    taken = pc.take(array, pa.array(np.where(codes < 0, 0, codes)))
    taken = pc.if_else(pa.array(codes < 0), pa.scalar(None, array.type), taken)
    return pd.Series(taken.to_pandas(), index=index)


def _plain(array: pa.Array) -> pa.Array:
    """NFKC, lower case, no spaces, punctuation, symbols or zero-width characters."""
    text = pc.utf8_lower(pc.utf8_normalize(array, form="NFKC"))
    return pc.replace_substring_regex(text, _NOT_TEXT, "")


def _empty_to_null(array: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(array, ""), pa.scalar(None, pa.string()), array)


def _hash_array(key: HashKey, array: pa.Array) -> pa.Array:
    hashed = _hash_unique(key, pd.Series(array.to_pandas(), dtype="str"))
    return pa.array(hashed, type=pa.string(), from_pandas=True)


def receiver_names(key: HashKey, values: pd.Series) -> Receiver:
    """Keyed hashes of a receiver's normalised full name (``name``), surname (``surname``) and of the
    full name's sound (``phonetic``, toneless pinyin: ``_phonetic``).

    Normalised: NFKC (full-width forms), lower case, no spaces, punctuation or zero-width characters,
    so ``王 芳``, ``王芳`` and ``王\u200b芳`` hash equal. A Chinese name's surname is its first character,
    or its first two when they are a compound surname (欧阳, 司马 ...: ``COMPOUND_SURNAMES``).
    ``王女士`` / ``欧阳先生`` (an honorific) and ``小王`` / ``老王`` name the surname only, as does a masked
    name (``王**``, ``王*明``): no full-name hash. A name without Chinese characters (pinyin, latin) is
    hashed whole, with no surname (its order is unknown). A value with no letter at all is unusable.
    """
    codes, uniques = _unique(values)
    masked = pc.fill_null(pc.match_substring(pc.utf8_normalize(uniques, form="NFKC"), "*"), False)
    text = _plain(uniques)
    han = pc.fill_null(pc.match_substring_regex(text, r"\p{Han}"), False)
    letters = pc.fill_null(pc.match_substring_regex(text, r"\p{L}"), False)
    honorific = pc.fill_null(pc.match_substring_regex(text, rf"^\p{{Han}}+(?:{'|'.join(HONORIFICS)})$"), False)
    text = pc.if_else(honorific, pc.replace_substring_regex(text, rf"(?:{'|'.join(HONORIFICS)})$", ""), text)
    familiar = pc.fill_null(pc.match_substring_regex(text, rf"^[{FAMILIAR_PREFIXES}]\p{{Han}}$"), False)
    text = pc.if_else(familiar, pc.utf8_slice_codeunits(text, 1), text)
    first_two = pc.utf8_slice_codeunits(text, 0, 2)
    compound = pc.fill_null(pc.is_in(first_two, value_set=pa.array(sorted(COMPOUND_SURNAMES))), False)
    surname = pc.if_else(compound, first_two, pc.utf8_slice_codeunits(text, 0, 1))
    # after an honorific only a surname is left (王女士), unless a full name was (王小明先生)
    surname_only = pc.or_(pc.or_(familiar, masked), pc.equal(pc.utf8_length(text), pc.utf8_length(surname)))
    null = pa.scalar(None, pa.string())
    full = pc.if_else(pc.and_(letters, pc.or_(pc.invert(han), pc.invert(surname_only))), text, null)
    surname = pc.if_else(pc.fill_null(pc.match_substring_regex(surname, r"^\p{Han}"), False), surname, null)
    full = _empty_to_null(full)
    unusable = _back(pc.invert(letters), codes, values.index).fillna(False).astype(bool)
    return Receiver({"name": _back(_hash_array(key, full), codes, values.index),
                     "surname": _back(_hash_array(key, _empty_to_null(surname)), codes, values.index),
                     "phonetic": _back(_hash_array(key, _phonetic(full)), codes, values.index)},
                    unusable, pd.Series(False, index=values.index))


def _phonetic(full: pa.Array) -> pa.Array:
    """The sound of a normalised full name: toneless pinyin syllables run together (王芳, 王方 and a
    name typed as ``Wang Fang`` all give ``wangfang``). A homophone typo or a name typed in pinyin then
    still compares with the name as registered. pypinyin reads a character as it reads it in common
    words (单 as dan, not the surname's shan): the same characters always give the same sound, which
    is what equality needs."""
    return pa.array([None if name is None else _sound(name) for name in full.to_pylist()], type=pa.string())


@lru_cache(maxsize=1)
def _pinyin() -> object:
    """pypinyin's ``lazy_pinyin`` with its defaults, built once (``lazy_pinyin`` builds it on every call)."""
    from pypinyin.converter import UltimateConverter
    from pypinyin.core import Pinyin

    return Pinyin(UltimateConverter(v_to_u=False, neutral_tone_with_five=False, tone_sandhi=False))


def _sound(name: str) -> str:
    """``"".join(lazy_pinyin(name))``, the same steps: pypinyin cuts the name into words (its phrase
    dictionary: 重阳 is one word, read chong yang) and converts each word on its own; the conversion of a
    word is kept (``_WORD_SOUNDS``), so only the cut runs per name. 26,130 distinct receiver names of the
    100k brand: 2.95 s by ``lazy_pinyin``, 0.42 s so (754 distinct words), every sound equal
    (tests/ingest/test_receiver_fields.py compares the two)."""
    kept = _KEPT_SOUNDS.get(name)
    if kept is not None:
        return kept
    if len(_KEPT_SOUNDS) >= VALUES_KEPT:
        _KEPT_SOUNDS.clear()
    sound = _KEPT_SOUNDS[name] = _cut_sound(name)
    return sound


def _cut_sound(name: str) -> str:
    """``_sound`` of a name not kept: pypinyin's cut, each word's sound kept (``_WORD_SOUNDS``). The 100k
    brand's load sounded 137,918 names (distinct within each call), 51,879 distinct over the load. pypinyin's
    ``Style`` is imported only for a word not kept (an import statement per name: 1.6 us, 0.07 s of the 100k load)."""
    pinyin = _pinyin()
    parts = []
    for word in pinyin.seg(name):
        sound = _WORD_SOUNDS.get(word)
        if sound is None:
            from pypinyin import Style

            if len(_WORD_SOUNDS) > WORD_SOUNDS_KEPT:
                _WORD_SOUNDS.clear()
            sound = _WORD_SOUNDS[word] = "".join(chain.from_iterable(
                pinyin._converter.convert(word, Style.NORMAL, False, "default", strict=True)))
        parts.append(sound)
    return "".join(parts)


# Words (a character, a phrase of the dictionary, a run of letters) whose sound a process keeps: a name's
# words come from a few thousand characters and phrases, and a run of letters is whatever was typed.
WORD_SOUNDS_KEPT = 200_000
_WORD_SOUNDS: dict[str, str] = {}
# Sounds of whole names during a load (see VALUES_KEPT; ``forget_values`` drops them).
_KEPT_SOUNDS: dict[str, str] = {}


def visible_phone_digits(key: HashKey, values: pd.Series) -> Receiver:
    """What a masked phone (``138****1234`` Tmall/JD, ``1********35`` Douyin) still shows, comparable
    across channels: ``prefix``, the first visible digits up to three (the carrier prefix, not
    personal: kept plain), and keyed hashes of the last four (``tail4``) and last two (``tail2``) visible
    digits, NA when fewer are visible: Douyin's two-digit tail compares with Tmall's four on the common part.
    A full valid mobile shows them all (prefix = first three). Landlines, placeholders and invalid
    values show nothing; a masked value whose visible digits cannot be read is unusable.
    """
    number, status = normalise_mobiles(values)
    codes, uniques = _unique(values)
    text = pc.replace_substring_regex(pc.utf8_normalize(uniques, form="NFKC"), _SEPARATORS.pattern, "")
    text = pc.replace_substring_regex(text, r"^(?:\+?0{0,2}86)(1[\d*]{10})$", r"\1")
    parts = pc.extract_regex(text, r"^(?P<head>1?\d*)\*+(?P<tail>\d*)$")
    head, tail = pc.struct_field(parts, [0]), pc.struct_field(parts, [1])
    head_rows = _back(head, codes, values.index)
    tail_rows = _back(tail, codes, values.index)
    masked = status == "masked"
    head_rows = head_rows.where(masked).fillna(number.str.slice(0, 3).where(status == "valid"))
    tail_rows = tail_rows.where(masked).fillna(number.where(status == "valid"))
    prefix = head_rows.str.slice(0, 3).where(head_rows.str.startswith("1").fillna(False))
    length = tail_rows.str.len()
    tail4 = tail_rows.str.slice(-4).where(length >= 4)
    tail2 = tail_rows.str.slice(-2).where(length >= 2)
    unusable = (masked & tail_rows.isna() & head_rows.isna()).fillna(False).astype(bool)
    return Receiver({"hash": _hash_unique(key, number), "status": status, "prefix": prefix.astype("str"),
                     "tail4": _hash_unique(key, tail4.astype("str")),
                     "tail2": _hash_unique(key, tail2.astype("str"))},
                    unusable, pd.Series(False, index=values.index))


def normalise_regions(values: pd.Series) -> pd.Series:
    """Province, city or district names, comparable across exports: NFKC, no spaces or punctuation,
    the region suffix rule (``_REGION_SUFFIX``: 上海市 = 上海, 浙江省 = 浙江, 广西壮族自治区 = 广西;
    districts keep 区 / 县). Region names are not personal data and land as plain text."""
    codes, uniques = _unique(values)
    text = pc.replace_substring_regex(pc.utf8_normalize(uniques, form="NFKC"), _NOT_TEXT, "")
    text = _empty_to_null(pc.replace_substring_regex(text, _REGION_SUFFIX, r"\1"))
    return _back(text, codes, values.index).astype("str")


def _detail_hashes(key: HashKey, detail: pa.Array) -> tuple[pa.Array, pa.Array]:
    """Keyed hashes of a normalised detail address and of its street token (street and number up to
    the first 号 or 弄: 文三路100号, so neighbours in one compound share it; NA when there is none)."""
    plain = _empty_to_null(_plain(detail))
    street = pc.struct_field(pc.extract_regex(plain, r"^(?P<street>.*?[号弄])"), [0])
    street = pc.if_else(pc.is_valid(street), street, pa.scalar(None, pa.string()))
    return _hash_array(key, plain), _hash_array(key, _empty_to_null(street))


def split_addresses(key: HashKey, values: pd.Series, with_region: bool = True) -> Receiver:
    """A whole address (``浙江省 杭州市 西湖区 文三路100号3栋 (310000)``) as ``province``, ``city``,
    ``district`` (plain, ``normalise_regions``), and keyed hashes of the rest, the detail: ``hash`` (whole
    detail, normalised: NFKC, lower case, no spaces or punctuation) and ``street`` (up to the first 号/弄).

    A trailing zip code goes. A municipality's city, when the address skips it (上海市浦东新区...), is
    the municipality. An address whose start names no province or city keeps the region empty and
    hashes the whole text as the detail (``partial``). ``with_region=False`` (Douyin's 详细地址, the
    region in its own columns): a region the detail repeats at its start is cut off, and not returned.
    """
    codes, uniques = _unique(values)
    text = pc.utf8_trim_whitespace(pc.utf8_normalize(uniques, form="NFKC"))
    text = pc.replace_substring_regex(pc.replace_substring_regex(text, r"\p{Cf}", ""), _ZIP, "")
    parts = pc.extract_regex(text, _ADDRESS)
    province, bare, city, district, detail = (_empty_to_null(pc.struct_field(parts, [i])) for i in range(5))
    province = pc.coalesce(province, pc.utf8_trim_whitespace(bare))
    found = pc.or_(pc.is_valid(province), pc.is_valid(city))
    null = pa.scalar(None, pa.string())
    province, city, district = (pc.if_else(found, part, null) for part in (province, city, district))
    detail = pc.if_else(found, detail, text)
    detail_hash, street_hash = _detail_hashes(key, detail)
    out = {"hash": _back(detail_hash, codes, values.index), "street": _back(street_hash, codes, values.index)}
    present = pd.Series(codes >= 0, index=values.index)
    region_found = _back(found, codes, values.index).fillna(False).astype(bool)
    # a region alone (北京) is an address to the region, not unusable; nothing at all is
    unusable = present & out["hash"].isna() & ~(region_found & with_region)
    partial = pd.Series(False, index=values.index)
    if with_region:
        province_rows = normalise_regions(_back(province, codes, values.index).astype("str"))
        city_rows = normalise_regions(_back(city, codes, values.index).astype("str"))
        city_rows = city_rows.fillna(province_rows.where(province_rows.isin(_MUNICIPALITIES)))
        out.update(province=province_rows, city=city_rows,
                   district=normalise_regions(_back(district, codes, values.index).astype("str")))
        partial = present & ~unusable & ~region_found
    return Receiver(out, unusable.astype(bool), partial.astype(bool))
