"""State shared by the channel writers during one generation run."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa

from demo import text as tx
from demo.identity import UNICODE_FORMS, unicode_forms
from demo.truth import Truth
from demo.world import World
from demo.writers import Written


def scramble(counter: np.ndarray, modulus: int) -> np.ndarray:
    """A keyed permutation of [0, modulus) (modulus a power of ten): sequence numbers -> unordered ids.

    A 4-round Feistel network on the two decimal halves: a bijection, so ids never collide,
    and consecutive counters land far apart, as real platform order numbers look.
    """
    k = len(str(modulus)) - 1
    p, q = 10 ** (k // 2), 10 ** (k - k // 2)
    c = np.asarray(counter, dtype=np.int64) % modulus
    x, y = c // q, c % q  # x in Z_p, y in Z_q
    mods = (p, q)
    for rnd in range(4):
        f = tx.splitmix64(y.astype(np.uint64) ^ np.uint64(0x5EED0000 + rnd * 7919)) % np.uint64(mods[rnd % 2])
        x, y = y, (x + f.astype(np.int64)) % mods[rnd % 2]
    return x * q + y


def coupon_code(counter: np.ndarray) -> pa.Array:
    """Coupon codes as printed on the coupon and typed into orders: 'CP' + 10 digits."""
    return tx.concat("CP", tx.digits(scramble(counter, 10**10), 10))


@dataclass
class Coupons:
    """Coupons collected while orders are generated (redeemed) or issued (unused), per month file."""

    code: list[np.ndarray] = field(default_factory=list)
    template: list[np.ndarray] = field(default_factory=list)
    member_row: list[np.ndarray] = field(default_factory=list)
    issued: list[np.ndarray] = field(default_factory=list)
    redeemed: list[np.ndarray] = field(default_factory=list)  # -1 when not redeemed
    order_id: list[object] = field(default_factory=list)  # pa.Array of order ids or None
    store: list[np.ndarray] = field(default_factory=list)  # -1 when none

    def clear(self) -> None:
        for f in (self.code, self.template, self.member_row, self.issued, self.redeemed, self.order_id, self.store):
            f.clear()


@dataclass
class Ctx:
    """Everything a channel writer needs besides its own draws."""

    world: World
    out: Written
    truth: Truth
    landing: Path
    counters: Counter = field(default_factory=Counter)
    coupons: Coupons = field(default_factory=Coupons)
    first_mp_order: np.ndarray | None = None  # per person: counter of the first mini-program order, -1
    first_mp_sec: np.ndarray | None = None

    def __post_init__(self) -> None:
        n = self.world.persons.n
        self.first_mp_order = np.full(n, -1, dtype=np.int64)
        self.first_mp_sec = np.zeros(n, dtype=np.int64)

    def next_ids(self, name: str, k: int) -> np.ndarray:
        """k fresh sequence numbers for `name` (order numbers, coupon codes) in generation order."""
        start = self.counters[name]
        self.counters[name] += k
        return np.arange(start, start + k, dtype=np.int64)

    def path(self, *parts: str) -> Path:
        return self.landing.joinpath(*parts)

    def source_file(self, path: Path) -> str:
        """A landing file's path as ingest records it (relative to landing/)."""
        return path.relative_to(self.landing).as_posix()


def with_unicode_forms(ctx: Ctx, column: str, values: pa.Array, u: np.ndarray,
                       gbk: np.ndarray | bool = False) -> pa.Array:
    """``identity.unicode_forms`` on an export column, counted in the truth as
    ``unicode_form_identifiers:<table.column>`` and ``unicode_form_identifiers_by_form:<form>``."""
    out, form = unicode_forms(values, u, gbk)
    if (form >= 0).any():
        ctx.truth.count(f"unicode_form_identifiers:{column}", int((form >= 0).sum()))
        for k, count in zip(*np.unique(form[form >= 0], return_counts=True)):
            ctx.truth.count(f"unicode_form_identifiers_by_form:{UNICODE_FORMS[k]}", int(count))
    return out
