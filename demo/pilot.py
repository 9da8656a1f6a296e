"""The demo brand's pilot (试点): a new add-friend script in two stores, with a known effect.

From ``START`` on, the guides of the test stores use a new greeting script with their friend
requests: each application a customer would have declined is, with probability
``AVOIDED_DECLINES``, not sent (the guide asks the customers the script suits). Friends made
(``new_contact_cnt``, hence every callback and every relationship) do not change, so OneID and
every other export stay byte-identical: only ``new_apply_cnt`` of the test stores' guide
statistics after the start moves, and the acceptance rate rises.

The draws come from their own stream (``world.rng("pilot", block)``), never from the shared
ones. The pilot as the brand defines it is the seeds pilots / pilot_units / pilot_kpis of the
dbt project (tests/marts/test_pilot_did.py checks they say what ``PILOT`` says); the true
effect per KPI goes to truth/pilot_effects.json, computed the way mart_pilot_did reads the
data (guides with months on staff before and during the pilot; per guide, counts per month on
staff and rates over the period; the mean over the test guides of with minus without).
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np

from demo.calendar import Calendar
from demo.world import World


@dataclass(frozen=True)
class Pilot:
    name: str
    test_stores: tuple[str, ...]
    control_stores: tuple[str, ...]
    pre_start: date
    start: date
    end: date
    kpis: tuple[str, ...]


PILOT = Pilot(name="greeting_script_2026", test_stores=("S0002", "S0004"),
              control_stores=("S0001", "S0003", "S0005"), pre_start=date(2026, 3, 1), start=date(2026, 7, 1),
              end=date(2026, 10, 31), kpis=("friend_applications", "friend_acceptance_rate", "chats"))
AVOIDED_DECLINES = 0.8  # share of would-be-declined applications the script avoids


@dataclass
class PilotRecorder:
    """Per guide and period: the statistics rows as written, with and without the pilot."""

    world: World
    # (guide, period) -> applications with the pilot, without it, acceptances, chats
    sums: dict = field(default_factory=lambda: defaultdict(lambda: np.zeros(4)))
    months: dict = field(default_factory=lambda: defaultdict(set))  # (g, period) -> month indexes on staff

    def _stores(self) -> dict[str, int]:
        codes = self.world.stores.code.to_pylist()
        return {c: i for i, c in enumerate(codes)}

    def arm_of_guides(self, guides: np.ndarray) -> np.ndarray:
        """1 test, 0 control, -1 neither, per staff index."""
        stores = self._stores()
        test = [stores[c] for c in PILOT.test_stores if c in stores]
        control = [stores[c] for c in PILOT.control_stores if c in stores]
        store = self.world.staff.store[guides]
        return np.where(np.isin(store, test), 1, np.where(np.isin(store, control), 0, -1))

    def periods(self, days: np.ndarray) -> np.ndarray:
        """0 before the pilot (pre_start .. start), 1 during it (start .. end), -1 outside."""
        cal: Calendar = self.world.cal
        pre, start, end = (cal.day_index(d) for d in (PILOT.pre_start, PILOT.start, PILOT.end))
        return np.where((days >= pre) & (days < start), 0, np.where((days >= start) & (days <= end), 1, -1))

    def treat(self, block: int, guides: np.ndarray, days: np.ndarray, accepted: np.ndarray,
              applied: np.ndarray) -> np.ndarray:
        """The applications written: fewer for the test stores' guides during the pilot."""
        treated = (self.arm_of_guides(guides) == 1) & (self.periods(days) == 1)
        out = applied.copy()
        declined = np.maximum(applied[treated] - accepted[treated], 0)
        out[treated] = applied[treated] - self.world.rng("pilot", block).binomial(declined, AVOIDED_DECLINES)
        return out

    def record(self, guides: np.ndarray, days: np.ndarray, employed_months: dict[int, set[tuple[int, int]]],
               with_pilot: np.ndarray, without: np.ndarray, accepted: np.ndarray, chats: np.ndarray) -> None:
        """Rows written (after the statistics' holes) of the pilot's guides, and their months on staff."""
        arm, period = self.arm_of_guides(guides), self.periods(days)
        for i in np.flatnonzero((arm >= 0) & (period >= 0)):
            self.sums[(int(guides[i]), int(period[i]))] += (with_pilot[i], without[i], accepted[i], chats[i])
        for g, months in employed_months.items():
            for period, month in months:
                self.months[(g, period)].add(month)

    def employed_months(self, guides: np.ndarray, days: np.ndarray, month_of_day: np.ndarray
                        ) -> dict[int, set[tuple[int, int]]]:
        """(period, month) pairs with a day on staff, per pilot guide (employed guide-days given)."""
        arm, period = self.arm_of_guides(guides), self.periods(days)
        out: dict[int, set[tuple[int, int]]] = defaultdict(set)
        for i in np.flatnonzero((arm >= 0) & (period >= 0)):
            out[int(guides[i])].add((int(period[i]), int(month_of_day[days[i]])))
        return out

    def effects(self) -> dict:
        """The true effect per KPI: mean over the test guides (on staff in both periods) of the
        during-pilot value with the pilot minus without it (before the pilot nothing differs)."""
        guides = sorted({g for g, _ in self.months})
        arms = dict(zip(guides, self.arm_of_guides(np.array(guides, dtype=np.int64)).tolist())) if guides else {}
        per_kpi: dict[str, list[float]] = {k: [] for k in PILOT.kpis}
        units = []
        for g in guides:
            if arms[g] != 1 or not self.months[(g, 0)] or not self.months[(g, 1)]:
                continue
            with_pilot, without, accepted, _ = self.sums[(g, 1)]
            months = len(self.months[(g, 1)])
            if without == 0:
                continue
            units.append(self.world.staff.userid[g].as_py())
            per_kpi["friend_applications"].append((with_pilot - without) / months)
            if with_pilot > 0:
                per_kpi["friend_acceptance_rate"].append(accepted / with_pilot - accepted / without)
            per_kpi["chats"].append(0.0)
        return {"pilot": PILOT.name, "unit": "guide", "test_stores": list(PILOT.test_stores),
                "control_stores": list(PILOT.control_stores), "pre_start": PILOT.pre_start.isoformat(),
                "start": PILOT.start.isoformat(), "end": PILOT.end.isoformat(),
                "avoided_declines": AVOIDED_DECLINES, "test_guides": units,
                "true_effect": {k: (float(np.mean(v)) if v else None) for k, v in per_kpi.items()}}

    def write(self, truth_root: Path) -> None:
        (Path(truth_root) / "pilot_effects.json").write_text(
            json.dumps(self.effects(), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
