"""Receivers of marketplace and mini-program orders: households, addresses and names as typed.

OneID v2's probabilistic tier (issue 18) scores pairs of orders on what the exports say about the
receiver: a name, a masked phone, a region and an address. To be scored, the demo has to make that
hard the way real data is:

* **households**: ~20% of persons live with 1-3 others of the world (same city, one home address;
  children usually carry the head's surname). Family members order to the shared home under their
  own names, and sometimes buy for one another (a gift: the other's name, the same home).
* **addresses**: each person has 1-3 (home; office; parents'), home for most orders.
* **names as typed**: mostly the true name; sometimes a homophone typo (王芳 -> 王方), the given name
  alone, 小 + surname, surname + 女士/先生, a space or a full-width space inside, or the pinyin.
* **common names**: ~5% of persons carry one of the most frequent full names of China (张伟, 王芳,
  李娜 ...), so different people with one name in one district occur, as they do.
* **shared phones**: ~1.5% of CRM registrations are a child's membership registered with the
  parent's own mobile (a household sharing a phone: an over-merge trap for deterministic OneID).

Everything is integer arrays per month and Arrow text per chunk, keyed per person with the world's
per-entity coins (``Ids.coin``), so a person's addresses and true name are the same in every channel
and chunk, and nothing loops over persons in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from demo import text as tx
from demo import vocab

if TYPE_CHECKING:
    from demo.truth import Truth
    from demo.world import Crm, Persons, Stores, Streams, World

HOUSEHOLD_SHARE = 0.20  # persons who live with 1-3 other persons of the world
HOUSEHOLD_SIZES = ([2, 3, 4], [0.55, 0.3, 0.15])
FAMILY_SURNAME = 0.65  # a household member (not the head) who carries the head's surname
SHARED_PHONE_SHARE = 0.015  # CRM registrations with a household member's (the head's) mobile
# persons named with one of vocab.COMMON_NAMES. Two random persons then share a full name with
# probability ~1.5e-4 (the common names 0.7e-4, the drawn surname x given names 0.8e-4), the order
# of the population's (张伟 alone is 2e-4 of it): a brand with 10,000 members in a district holds
# thousands of same-name pairs there; the 3,000-member demo has 16 name-and-district groups of 2+.
COMMON_NAME_SHARE = 0.05
# how many addresses a person ships to (1, 2, 3), and how an order picks among them
ADDRESS_COUNTS = (0.55, 0.30, 0.15)
SLOT_WEIGHTS = (0.78, 0.15, 0.07)  # home, office, parents'
HOME, OFFICE, PARENTS, STRANGER = range(4)
FAMILY_GIFT = 0.5  # of gifts by a person in a household: to a family member (else to someone outside)
PARENTS_ELSEWHERE = 0.4  # parents living in another city
# the name as typed on an order: (variant, probability); the rest is the true name
NAME_VARIANTS = (("typo", 0.03), ("given_only", 0.02), ("xiao_surname", 0.015), ("honorific", 0.03),
                 ("space", 0.03), ("full_width_space", 0.015), ("pinyin", 0.01))
VARIANT_NAMES = ("as_is",) + tuple(v for v, _ in NAME_VARIANTS)


@dataclass
class Households:
    """Who lives with whom: ``household`` is, per person, the index of the household's head (the
    person's own index when living alone); members sorted by household for picking a family member."""

    household: np.ndarray
    order: np.ndarray  # person indexes sorted by household
    start: np.ndarray  # per person: where its household starts in ``order``
    size: np.ndarray  # per person: its household's size
    rank: np.ndarray  # per person: its position within the household
    shared_phone_rows: np.ndarray  # CRM rows registered with the household head's mobile

    def other_member(self, person: np.ndarray, u: np.ndarray) -> np.ndarray:
        """Another member of each person's household (the person itself when living alone)."""
        size = self.size[person].astype(np.int64)
        shift = 1 + (u * np.maximum(size - 1, 1)).astype(np.int64)
        pos = (self.rank[person] + np.where(size > 1, shift, 0)) % size
        return self.order[self.start[person] + pos].astype(np.int64)


def make_households(persons: Persons, stores: Stores, rng: Streams) -> Households:
    """Group ~HOUSEHOLD_SHARE of persons, city by city, into households of 2-4 (the first is the head)."""
    r = rng("households")
    n = persons.n
    city = stores.city[persons.home_store]
    cand = np.flatnonzero(r.random(n) < HOUSEHOLD_SHARE)
    cand = cand[np.lexsort((r.random(len(cand)), city[cand]))]
    sizes = r.choice(HOUSEHOLD_SIZES[0], size=len(cand) // 2 + 1, p=HOUSEHOLD_SIZES[1])
    bounds = np.cumsum(np.r_[0, sizes])
    group = np.searchsorted(bounds, np.arange(len(cand)), side="right")
    c = city[cand]
    new = np.r_[True, (group[1:] != group[:-1]) | (c[1:] != c[:-1])] if len(cand) else np.zeros(0, bool)
    first = np.flatnonzero(new)
    # int32 throughout: five arrays of 10 million persons take 200 MB, not 400
    household = np.arange(n, dtype=np.int32)
    household[cand] = cand[first][np.cumsum(new) - 1]
    order = np.argsort(household, kind="stable").astype(np.int32)
    sorted_hh = household[order]
    starts = np.searchsorted(sorted_hh, sorted_hh, side="left")
    ends = np.searchsorted(sorted_hh, sorted_hh, side="right")
    start = np.empty(n, dtype=np.int32)
    size = np.empty(n, dtype=np.int32)
    rank = np.empty(n, dtype=np.int32)
    start[order], size[order], rank[order] = starts, ends - starts, np.arange(n) - starts
    return Households(household=household, order=order, start=start, size=size, rank=rank,
                      shared_phone_rows=np.zeros(0, dtype=np.int64))


def share_household_phones(households: Households, persons: Persons, crm: Crm, rng: Streams) -> None:
    """A parent registers a child's membership with the parent's own mobile: SHARED_PHONE_SHARE of CRM
    registrations (primary records of non-head household members with a clean phone) get the head's number."""
    r = rng("household_phones")
    rows = np.flatnonzero(crm.dup_kind == 0)
    who = crm.person[rows]
    eligible = rows[(households.household[who] != who) & (crm.mobile_issue[rows] == 0) & (crm.mobile[rows] > 0)]
    k = min(len(eligible), int(round(SHARED_PHONE_SHARE * crm.n)))
    chosen = np.sort(r.choice(eligible, size=k, replace=False)) if k else np.zeros(0, dtype=np.int64)
    head = households.household[crm.person[chosen]]
    crm.mobile[chosen] = persons.mobile_on(head, np.maximum(crm.reg_day[chosen], 0))
    households.shared_phone_rows = chosen


def record_truth(world: World, truth: Truth) -> None:
    """Household counts and shared phones among the anomalies of the truth."""
    hh = world.households
    size = np.bincount(hh.household, minlength=world.persons.n)
    truth.count("households_of_2_or_more", int((size > 1).sum()))
    truth.count("persons_in_households", int(size[size > 1].sum()))
    truth.count("crm_members_mobile:household_shared", len(hh.shared_phone_rows))


# ---------------------------------------------------------------- true names


def name_parts(world: World, person: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A person's true name as (surname, given 1, given 2 or -1) indexes into vocab.SURNAMES / GIVEN:
    the person's own, with the household head's surname for most members, or a common full name."""
    ids = world.ids
    person = np.asarray(person, dtype=np.int64)
    head = world.households.household[person]
    family = (head != person) & (ids.coin(person, "family_surname") < FAMILY_SURNAME)
    sur, _, _ = ids.name_parts(np.where(family, head, person))
    _, g1, g2 = ids.name_parts(person)
    common = ids.coin(person, "common_name") < COMMON_NAME_SHARE
    w = np.array([c[3] for c in vocab.COMMON_NAMES])
    pick = np.minimum(np.searchsorted(np.cumsum(w) / w.sum(), ids.coin(person, "which_common"), side="right"),
                      len(w) - 1)
    surnames = [s[0] for s in vocab.SURNAMES]
    given = [g[0] for g in vocab.GIVEN]
    c_sur = np.array([surnames.index(c[0]) for c in vocab.COMMON_NAMES])
    c_g1 = np.array([given.index(c[1]) for c in vocab.COMMON_NAMES])
    c_g2 = np.array([given.index(c[2]) if c[2] else -1 for c in vocab.COMMON_NAMES])
    return (np.where(common, c_sur[pick], sur), np.where(common, c_g1[pick], g1), np.where(common, c_g2[pick], g2))


def true_name(world: World, person: np.ndarray) -> pa.Array:
    """A person's true full name as the person writes it: the same in every export (a CRM or
    mini-program registration, the receiver of her own orders before any typing variant)."""
    person = np.asarray(person, dtype=np.int64)
    sur, g1, g2 = name_parts(world, person)
    return _render_name(sur, g1, g2, np.zeros(len(person), dtype=np.int64), world.persons.gender[person])


def _render_name(sur: np.ndarray, g1: np.ndarray, g2: np.ndarray, variant: np.ndarray,
                 gender: np.ndarray) -> pa.Array:
    """The name as typed: ``variant`` indexes VARIANT_NAMES."""
    surnames, pinyin_sur = [s[0] for s in vocab.SURNAMES], [s[1] for s in vocab.SURNAMES]
    given, pinyin_given = [g[0] for g in vocab.GIVEN], [g[1] for g in vocab.GIVEN]
    v = {name: variant == i for i, name in enumerate(VARIANT_NAMES)}
    s = tx.pick(surnames, sur)
    first = tx.where(v["typo"], tx.pick(vocab.HOMOPHONES, g1), tx.pick(given, g1))
    second = tx.fill(tx.pick(given + [None], np.where(g2 < 0, len(given), g2)), "")
    full_given = tx.concat(first, second)
    py_given = tx.concat(tx.pick(pinyin_given, g1), tx.fill(tx.pick(pinyin_given + [None],
                                                                    np.where(g2 < 0, len(given), g2)), ""))
    py_sur = tx.pick([p.capitalize() for p in pinyin_sur], sur)
    title = tx.pick(vocab.HONORIFIC_TITLES, (np.asarray(gender) == 2).astype(np.int64))
    name = tx.concat(s, full_given)
    name = tx.where(v["given_only"], full_given, name)
    name = tx.where(v["xiao_surname"], tx.concat("小", s), name)
    name = tx.where(v["honorific"], tx.concat(s, title), name)
    name = tx.where(v["space"], tx.concat(s, " ", full_given), name)
    name = tx.where(v["full_width_space"], tx.concat(s, "\u3000", full_given), name)
    return tx.where(v["pinyin"], tx.concat(py_sur, " ", pc.utf8_capitalize(py_given)), name)


# ---------------------------------------------------------------- addresses


def place(world: World, key: np.ndarray, city: np.ndarray, tag: str = "") -> dict[str, pa.Array]:
    """A home-style address for entity ``key`` in ``city`` (coins named with ``tag``; with no tag the
    same address ``demo.orders.address`` gives a person's home)."""
    ids = world.ids
    t = f"{tag}:" if tag else ""

    def pick(name: str, k: int) -> np.ndarray:
        return (ids.coin(key, t + name) * k).astype(np.int64)

    districts = [d for c in vocab.CITIES for d in (list(c[5]) * 6)[:6]]
    district = tx.pick(districts, city * 6 + pick("district", len(vocab.CITIES[0][5])) % 6)
    street = tx.pick(vocab.STREETS, pick("street", len(vocab.STREETS)))
    community = tx.pick(vocab.COMMUNITIES, pick("community", len(vocab.COMMUNITIES)))
    room = (pick("floor", 30) + 1) * 100 + pick("door", 5) + 1
    detail = tx.concat(street, tx.ints(pick("house", 899) + 1), "号", community, tx.ints(pick("building", 29) + 1),
                       "栋", tx.ints(room), "室")
    return {"province": tx.pick([c[1] for c in vocab.CITIES], city),
            "city": tx.concat(tx.pick([c[0] for c in vocab.CITIES], city), "市"),
            "district": district, "detail": detail}


def office(world: World, person: np.ndarray, city: np.ndarray) -> dict[str, pa.Array]:
    """A person's office: a street number, a tower (万象城大厦), a floor."""
    addr = place(world, person, city, "office")
    ids = world.ids
    tower = tx.concat(tx.pick(vocab.LANDMARKS, (ids.coin(person, "office:tower") * len(vocab.LANDMARKS)).astype(int)),
                      tx.pick(vocab.OFFICE_SUFFIXES,
                              (ids.coin(person, "office:suffix") * len(vocab.OFFICE_SUFFIXES)).astype(int)))
    street = tx.pick(vocab.STREETS, (ids.coin(person, "office:street") * len(vocab.STREETS)).astype(np.int64))
    number = tx.ints((ids.coin(person, "office:house") * 899).astype(np.int64) + 1)
    floor = tx.ints((ids.coin(person, "office:floor") * 40).astype(np.int64) + 1)
    addr["detail"] = tx.concat(street, number, "号", tower, floor, "层")
    return addr


def _stack(parts: list[dict[str, pa.Array]], which: np.ndarray) -> dict[str, pa.Array]:
    """Per row, the address of ``parts[which[row]]`` (all parts computed for every row)."""
    out = {}
    for field in ("province", "city", "district", "detail"):
        chosen = parts[0][field]
        for i in range(1, len(parts)):
            chosen = tx.where(which == i, parts[i][field], chosen)
        out[field] = chosen
    return out


# ---------------------------------------------------------------- receivers of one month's orders


@dataclass
class Receivers:
    """Who each order of a month ships to: ``target`` the person (buyer or family member) or -1 for
    someone outside the world (``stranger_key``); which of the target's addresses; the name's variant;
    the receiver's phone."""

    target: np.ndarray
    stranger_key: np.ndarray
    slot: np.ndarray
    variant: np.ndarray
    mobile: np.ndarray
    family_gift: np.ndarray


def draw(world: World, stream: str, label: str, person: np.ndarray, day: np.ndarray, gift: np.ndarray,
         gift_key: np.ndarray, stranger_mobile: np.ndarray) -> Receivers:
    """Receivers of a month's orders (``gift``: the channel's gift orders, ``stranger_mobile``: the
    numbers the channel drew for them)."""
    r = world.rng("receivers", stream, label)
    n = len(person)
    hh = world.households
    person = np.asarray(person, dtype=np.int64)
    in_household = hh.size[person] > 1
    family_gift = gift & in_household & (r.random(n) < FAMILY_GIFT)
    member = hh.other_member(person, r.random(n))
    target = np.where(family_gift, member, np.where(gift, -1, person))
    tgt = np.maximum(target, 0)
    counts = 1 + np.searchsorted(np.cumsum(ADDRESS_COUNTS)[:-1], world.ids.coin(tgt, "address_count"), side="right")
    slot = r.choice(3, size=n, p=SLOT_WEIGHTS)
    slot = np.where(slot < counts, slot, HOME)
    slot = np.where(family_gift, HOME, np.where(target < 0, STRANGER, slot))
    p = np.array([w for _, w in NAME_VARIANTS])
    variant = r.choice(len(VARIANT_NAMES), size=n, p=np.r_[1 - p.sum(), p])
    mobile = np.where(target >= 0, world.persons.mobile_on(tgt, day), stranger_mobile)
    return Receivers(target=target, stranger_key=np.asarray(gift_key, dtype=np.int64), slot=slot, variant=variant,
                     mobile=mobile, family_gift=family_gift)


def render(world: World, rc: Receivers, idx: np.ndarray, buyer: np.ndarray) -> dict[str, pa.Array]:
    """Name as typed, province, city, district and detail address of orders ``idx`` (``buyer``: their buyers)."""
    target = rc.target[idx]
    tgt = np.where(target >= 0, target, np.asarray(buyer, dtype=np.int64))
    stores, persons = world.stores, world.persons
    city = stores.city[persons.home_store[tgt]]
    head = world.households.household[tgt]
    n_cities = len(vocab.CITIES)
    parents_city = np.where(world.ids.coin(tgt, "parents:elsewhere") < PARENTS_ELSEWHERE,
                            (world.ids.coin(tgt, "parents:city") * n_cities).astype(np.int64), city)
    stranger = persons.n + rc.stranger_key[idx]
    parts = [place(world, head, stores.city[persons.home_store[head]]), office(world, tgt, city),
             place(world, tgt, parents_city, "parents"), place(world, stranger, city, "stranger")]
    addr = _stack(parts, rc.slot[idx])
    sur, g1, g2 = name_parts(world, tgt)
    s_sur, s_g1, s_g2 = world.ids.name_parts(rc.stranger_key[idx], "gift")
    out_of_world = target < 0
    sur, g1, g2 = (np.where(out_of_world, a, b) for a, b in ((s_sur, sur), (s_g1, g1), (s_g2, g2)))
    gender = np.where(out_of_world, 1 + (world.ids.coin(stranger, "gender") < 0.6), persons.gender[tgt])
    addr["name"] = _render_name(sur, g1, g2, rc.variant[idx], gender)
    return addr


def count(truth: Truth, table: str, rc: Receivers, rows: np.ndarray | None = None) -> None:
    """The month's receivers in the truth's anomaly counts: name variants, family gifts, address slots
    (``rows``: the orders that ship, when not all do)."""
    if rows is not None:
        rc = Receivers(*(getattr(rc, f)[rows] for f in Receivers.__dataclass_fields__))
    for i, name in enumerate(VARIANT_NAMES[1:], start=1):
        truth.count(f"receiver_name:{table}:{name}", int((rc.variant == i).sum()))
    truth.count(f"receiver_family_gift:{table}", int(rc.family_gift.sum()))
    truth.count(f"receiver_address:{table}:office", int((rc.slot == OFFICE).sum()))
    truth.count(f"receiver_address:{table}:parents", int((rc.slot == PARENTS).sum()))
