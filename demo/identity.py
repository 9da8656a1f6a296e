"""App-scoped identifiers and personal texts, as pure functions of (seed, entity index).

Why pure functions: a 10-million-person world cannot keep a dozen 28-character ids per person
in memory, and writers work chunk by chunk. Hashing the person index gives the same openid in
the mini-program members file, its orders and the referral log without storing it.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo import text as tx
from demo import vocab

MOBILE_PREFIXES = np.array(
    [130, 131, 132, 133, 134, 135, 136, 137, 138, 139, 150, 151, 152, 153, 155, 156, 157, 158, 159, 166,
     173, 175, 176, 177, 178, 180, 181, 182, 183, 184, 185, 186, 187, 188, 189, 191, 193, 195, 198, 199],
    dtype=np.int64,
)


def mobile_pool(rng: np.random.Generator, size: int) -> np.ndarray:
    """`size` distinct plausible mainland mobile numbers, none of them a known placeholder."""
    space = len(MOBILE_PREFIXES) * 10**8
    draw = rng.choice(space, size=size + 8, replace=False)
    numbers = MOBILE_PREFIXES[draw // 10**8] * 10**8 + draw % 10**8
    numbers = numbers[~np.isin(numbers, np.array(vocab.PLACEHOLDER_PHONES, dtype=np.int64))]
    numbers = numbers[~is_pattern_phone(numbers)]
    return numbers[:size]


def is_pattern_phone(numbers: np.ndarray) -> np.ndarray:
    """Whether a number ends in a typed pattern (its last 8 digits a run or one digit 8 times):
    what a person types to get past a phone field, never a phone a person holds here."""
    tails = np.array([int(t) for t in vocab.PATTERN_PHONE_TAILS]
                     + [d * 11111111 for d in range(10)] + [1234567, 76543210], dtype=np.int64)
    return np.isin(np.asarray(numbers, dtype=np.int64) % 10**8, tails)


def typo(numbers: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Change one digit after the 3-digit prefix: the cashier's or clerk's slip of the finger."""
    n = np.asarray(numbers, dtype=np.int64)
    power = 10 ** rng.integers(0, 8, len(n)).astype(np.int64)
    digit = (n // power) % 10
    new = (digit + rng.integers(1, 10, len(n))) % 10
    return n + (new - digit) * power


class Ids:
    """Identifier factory for one seed."""

    def __init__(self, seed: int) -> None:
        self.seed = seed

    def key(self, idx: np.ndarray, name: str) -> np.ndarray:
        return tx.hkey(np.asarray(idx, dtype=np.int64), name, self.seed)

    def coin(self, idx: np.ndarray, name: str) -> np.ndarray:
        """A per-entity uniform draw that is the same wherever the entity shows up."""
        return tx.uniform(self.key(idx, name), name)

    # ----------------------------------------------------------------- WeChat / WeCom ids

    def person_id(self, idx: np.ndarray) -> pa.Array:
        return tx.concat("P", tx.digits(np.asarray(idx) + 1, 8))

    def unionid(self, idx: np.ndarray) -> pa.Array:
        return tx.tokens(self.key(idx, "unionid"), 22, prefix="oK7cr1")

    def mp_openid(self, idx: np.ndarray) -> pa.Array:
        return tx.tokens(self.key(idx, "mp_openid"), 22, prefix="oVx2t4")

    def oa_openid(self, idx: np.ndarray) -> pa.Array:
        return tx.tokens(self.key(idx, "oa_openid"), 22, prefix="oJ8Sq5")

    def external_userid(self, idx: np.ndarray) -> pa.Array:
        return tx.tokens(self.key(idx, "external_userid"), 30, prefix="wm")

    def avatar(self, idx: np.ndarray) -> pa.Array:
        return tx.concat("http://wx.qlogo.cn/mmhead/", tx.tokens(self.key(idx, "avatar"), 40, tx.ALNUM), "/0")

    # ----------------------------------------------------------------- marketplace ids

    def taobao_nick(self, idx: np.ndarray) -> pa.Array:
        """Taobao member names: 'tb' + digits, 't_<13 digits>_<3>' (phone sign-ups) or a chosen nick."""
        k = self.key(idx, "taobao_nick")
        u = tx.uniform(k, "style")
        num = (k % np.uint64(10**10)).astype(np.int64)
        tb = tx.concat("tb", tx.digits(num % 10**9 + 10**8, 9))
        t_ = tx.concat("t_15", tx.digits(num, 11), "_0", tx.digits(num % 997, 3))
        chosen = tx.concat(tx.pick(vocab.TAOBAO_WORDS, (k >> np.uint64(20)) % np.uint64(len(vocab.TAOBAO_WORDS))),
                           tx.pick(vocab.TAOBAO_WORDS, (k >> np.uint64(30)) % np.uint64(len(vocab.TAOBAO_WORDS))),
                           tx.ints(num % 9999))
        return tx.where(u < 0.45, tb, tx.where(u < 0.7, t_, chosen))

    def tmall_ids(self, idx: np.ndarray) -> dict[str, pa.Array]:
        """会员通 ids: omid (member), ouid (CRM user per shop), open_uid (per app), brand union_id."""
        return {
            "omid": tx.tokens(self.key(idx, "omid"), 21, prefix="AAH"),
            "ouid": tx.tokens(self.key(idx, "ouid"), 21, prefix="AAF"),
            "open_uid": tx.tokens(self.key(idx, "open_uid"), 21, prefix="AAE"),
            "union_id": tx.tokens(self.key(idx, "tb_union_id"), 21, prefix="AAG"),
        }

    def jd_pin(self, idx: np.ndarray) -> pa.Array:
        k = self.key(idx, "jd_pin")
        u = tx.uniform(k, "style")
        hexpin = tx.concat("jd_", tx.tokens(k, 13, tx.HEX))
        surname = self._pinyin_surname(k)
        named = tx.concat(surname, "_", tx.ints((k % np.uint64(9000)).astype(np.int64) + 1000))
        chinese = tx.concat(tx.pick(vocab.TAOBAO_WORDS, (k >> np.uint64(17)) % np.uint64(len(vocab.TAOBAO_WORDS))),
                            tx.ints((k % np.uint64(100000)).astype(np.int64)))
        return tx.where(u < 0.5, hexpin, tx.where(u < 0.85, named, chinese))

    def douyin_open_id(self, idx: np.ndarray) -> pa.Array:
        return tx.tokens(self.key(idx, "douyin_open_id"), 32, tx.ALNUM, prefix="_000")

    # ----------------------------------------------------------------- personal texts

    def _pinyin_surname(self, k: np.ndarray) -> pa.Array:
        return tx.pick([s[1] for s in vocab.SURNAMES], self._surname_index(k))

    @staticmethod
    def _surname_index(k: np.ndarray) -> np.ndarray:
        w = np.array([s[2] for s in vocab.SURNAMES])
        cdf = np.cumsum(w) / w.sum()
        return np.minimum(np.searchsorted(cdf, tx.uniform(k, "surname"), side="right"), len(w) - 1)

    def name_parts(self, idx: np.ndarray, kind: str = "person") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Surname index and one or two given-name indexes (-1 = none)."""
        k = self.key(idx, f"name:{kind}")
        sur = self._surname_index(k)
        g1 = ((k >> np.uint64(8)) % np.uint64(len(vocab.GIVEN))).astype(np.int64)
        g2 = ((k >> np.uint64(24)) % np.uint64(len(vocab.GIVEN))).astype(np.int64)
        g2 = np.where(tx.uniform(k, "two") < 0.7, g2, -1)
        return sur, g1, g2

    def name(self, idx: np.ndarray, kind: str = "person") -> pa.Array:
        """A Chinese full name (personal data: lands only in 'drop' columns)."""
        sur, g1, g2 = self.name_parts(idx, kind)
        given = [g[0] for g in vocab.GIVEN]
        return tx.concat(tx.pick([s[0] for s in vocab.SURNAMES], sur), tx.pick(given, g1),
                         tx.fill(tx.pick(given + [None], np.where(g2 < 0, len(given), g2)), ""))

    def pinyin(self, idx: np.ndarray, kind: str) -> pa.Array:
        """The pinyin of `name(idx, kind)` (WeCom userids are usually the staff member's pinyin)."""
        sur, g1, g2 = self.name_parts(idx, kind)
        given = [g[1] for g in vocab.GIVEN]
        return tx.concat(tx.pick([s[1] for s in vocab.SURNAMES], sur), tx.pick(given, g1),
                         tx.fill(tx.pick(given + [None], np.where(g2 < 0, len(given), g2)), ""))

    def nickname(self, idx: np.ndarray) -> pa.Array:
        """A WeChat nickname (may contain emoji: never written to GBK files)."""
        k = self.key(idx, "nickname")
        word = tx.pick(vocab.NICK_WORDS, k % np.uint64(len(vocab.NICK_WORDS)))
        decor = tx.pick(vocab.NICK_DECOR, (k >> np.uint64(16)) % np.uint64(len(vocab.NICK_DECOR)))
        return tx.concat(word, decor)

    def surname_title(self, idx: np.ndarray) -> pa.Array:
        """'王女士' / '李先生': how a guide remarks a customer."""
        sur, _, _ = self.name_parts(idx)
        title = np.where(self.coin(idx, "title") < 0.62, 0, 1)
        return tx.concat(tx.pick([s[0] for s in vocab.SURNAMES], sur), tx.pick(["女士", "先生"], title))


# Unicode forms of an identifier as real exports carry them; ingest folds each back to the ASCII
# form (ingest.pii.normalise_identifier_forms). Full-width ASCII (U+FF01..U+FF5E) and the ideographic
# space U+3000 are in GBK; U+200B, NBSP and U+FEFF are not, so GBK exports get only the first three.
UNICODE_FORMS = ("full_width", "full_width_digits", "ideographic_space", "zero_width_inside", "nbsp", "bom",
                 "mixed")
GBK_FORMS = 3
UNICODE_FORM_RATE = 0.008  # of the non-empty identifier cells of a column that carries them


def _full_width(values: pa.Array, chars: str) -> pa.Array:
    """Each of ``chars`` (ASCII) replaced by its full-width twin: one Arrow pass per character."""
    for c in chars:
        values = pc.replace_substring(values, c, chr(ord(c) + 0xFEE0))
    return values


def unicode_forms(values: pa.Array, u: np.ndarray, gbk: np.ndarray | bool = False,
                  rate: float = UNICODE_FORM_RATE) -> tuple[pa.Array, np.ndarray]:
    """``values`` with a share ``rate`` of its non-empty cells written in another Unicode form, and the
    form of each cell (index into ``UNICODE_FORMS``, -1 for none).

    ``u``: one uniform draw per cell (it picks the cell and its form, so a writer passes a per-entity
    coin where a record is written twice); ``gbk``: per cell or for all, the file is GBK (only the
    GBK-encodable forms). Forms: full-width letters and digits (an IME in full-width mode), full-width
    digits only, a trailing U+3000 (the IME's space), U+200B after the 4th character (a copy from a
    chat), a trailing NBSP (a copy from a web page), a leading U+FEFF (a copy from a file), and mixed
    (U+200B, full-width digits, U+3000). Only the chosen cells are rewritten.
    """
    values = tx._flat(values)
    n = len(values)
    u = np.asarray(u, dtype=np.float64)
    present = np.asarray(pc.fill_null(pc.greater(pc.utf8_length(values), 0), False).to_numpy(zero_copy_only=False))
    allowed = np.where(np.broadcast_to(np.asarray(gbk, dtype=bool), (n,)), GBK_FORMS, len(UNICODE_FORMS))
    form = np.where(present & (u < rate), np.minimum((u / rate * allowed).astype(np.int64), allowed - 1), -1)
    sel = np.flatnonzero(form >= 0)
    if not len(sel):
        return values, form
    sub = values.take(pa.array(sel))
    digits_fw = _full_width(sub, tx.DIGITS)
    head, tail = pc.utf8_slice_codeunits(sub, 0, 4), pc.utf8_slice_codeunits(sub, 4)
    variants = [_full_width(sub, tx.ALNUM), digits_fw, tx.concat(sub, "\u3000"), tx.concat(head, "\u200b", tail),
                tx.concat(sub, "\u00a0"), tx.concat("\ufeff", sub), tx.concat("\u200b", digits_fw, "\u3000")]
    chosen = variants[0]
    for k in range(1, len(variants)):
        chosen = tx.where(form[sel] == k, variants[k], chosen)
    slot = np.arange(n)
    slot[sel] = n + np.arange(len(sel))
    return pa.concat_arrays([values, tx._flat(chosen)]).take(pa.array(slot)), form
