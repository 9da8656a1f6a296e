"""The gate checks: every expectation belongs to one of these, and each is one Dagster asset check.

Blocking checks stop everything downstream (no dbt build after a failing raw table, no
publication after a failing mart); warnings are recorded and shown, and never stop anything.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GateCheck:
    name: str
    blocking: bool
    description: str


CHECKS: dict[str, GateCheck] = {c.name: c for c in (
    GateCheck("gx_schema", True,
              "Great Expectations: the export has the columns it should (required columns present, none of "
              "last export's columns dropped; marts: every documented column exists)."),
    GateCheck("gx_keys", True,
              "Great Expectations: business keys are present and unique within each export file "
              "(marts: primary keys unique and not null)."),
    GateCheck("gx_values", True,
              "Great Expectations: values make sense (amounts not negative, codes from the known lists, "
              "text decodes cleanly)."),
    GateCheck("gx_volume", True,
              "Great Expectations: each export file has rows and most of them loaded (marts: not empty)."),
    GateCheck("gx_volume_change", False,
              "Great Expectations (warning): row count close to recent loads of the same export "
              "(marts: to the published warehouse)."),
    GateCheck("gx_drift", False,
              "Great Expectations (warning): timestamps within a sane window, counts not negative, no "
              "unknown code values, no column removed since the published build."),
    GateCheck("gx_freshness", False,
              "Great Expectations (warning): the table was loaded recently and its newest event is recent."),
)}
