"""业绩归属方 on POS receipts: who the store system credits a sale to, beyond the role it prints.

Store systems print a role in 业绩归属方 (门店, 服务导购, 专属导购). When a sale is credited to a
named guide, the cashier types her employee number instead, and that is where the real cases
are. On a share of member receipts, drawn from the stream ``pos_credit_to`` only (every other
column and file stays byte-identical):
* ~6% name a guide of the store itself (the one who served, typed explicitly);
* ~2% name a guide of another store (she helped a customer who came to her from her store);
* ~1% an unknown code (a typo, an old system's number): no staff master row has it;
* ~3% are blank (the cashier skipped the field).
Walk-in receipts keep 门店. Counted in the truth as ``pos_credit_to:<case>``.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from demo import text as tx
from demo.context import Ctx
from demo.world import SLOTS, take

ROLES = ["门店", "服务导购", "专属导购"]
CASES = ("own_store_guide", "other_store_guide", "unknown_code", "blank")
SHARES = (0.06, 0.02, 0.01, 0.03)


def credit_to(ctx: Ctx, label: str, role: np.ndarray, walk: np.ndarray, store: np.ndarray, day: np.ndarray,
              serving: np.ndarray) -> pa.Array:
    """业绩归属方 per receipt: the role text (index into ROLES), or one of CASES on member receipts."""
    w = ctx.world
    staff, stores = w.staff, w.stores
    r = w.rng("pos_credit_to", label)
    n = len(role)
    u = r.random(n)
    bounds = np.cumsum(SHARES)
    case = np.where(walk, -1, np.searchsorted(bounds, u, side="right"))
    case = np.where(case >= len(CASES), -1, case)
    # the store's guide who served (else a guide of the store on duty that day)
    on_duty = staff.at(store, r.integers(1, SLOTS, n), day)
    own = np.where(serving >= 0, serving, on_duty)
    other_store = (store + r.integers(1, max(stores.n, 2), n)) % max(stores.n, 1)
    other = staff.at(other_store, r.integers(1, SLOTS, n), day)
    case = np.where((case == 1) & (other_store == store), -1, case)  # a one-store brand has no other store
    unknown = tx.concat("E9", tx.digits(r.integers(0, 100_000, n), 5))
    text = tx.pick(ROLES, role)
    text = tx.where(case == 0, take(staff.employee_no, own), text)
    text = tx.where(case == 1, take(staff.employee_no, other), text)
    text = tx.where(case == 2, unknown, text)
    text = tx.where(case == 3, None, text)
    for k, name in enumerate(CASES):
        ctx.truth.count(f"pos_credit_to:{name}", int((case == k).sum()))
    return text
