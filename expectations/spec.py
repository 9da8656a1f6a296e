"""Suites as plain data: cheap to build, print and test, turned into GX objects only to validate.

``import great_expectations`` takes seconds, so the suites are generated as these small
records (from contracts, rules and the warehouse schema) and converted when a gate runs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from expectations.checks import CHECKS


@dataclass(frozen=True)
class Expect:
    """One expectation and the gate it belongs to.

    ``rule`` names it in failure messages (``key_unique_within_file``); ``describe`` says in
    words what must hold; ``type`` is the GX expectation class, ``kwargs`` its arguments.
    """

    check: str
    rule: str
    type: str
    kwargs: dict[str, Any]
    describe: str

    def __post_init__(self) -> None:
        if self.check not in CHECKS:
            raise ValueError(f"unknown check {self.check!r} for rule {self.rule!r}")

    @property
    def blocking(self) -> bool:
        return CHECKS[self.check].blocking

    @property
    def column(self) -> str | None:
        return self.kwargs.get("column")

    def to_gx(self):
        import great_expectations.expectations as gxe

        return getattr(gxe, self.type)(
            **self.kwargs,
            severity="critical" if self.blocking else "warning",
            notes=self.describe,
            meta={"check": self.check, "rule": self.rule, "blocking": self.blocking},
        )


@dataclass(frozen=True)
class SuiteSpec:
    """A suite over one frame.

    ``subject_column`` names what a failure is attributed to: the landing file for raw rows
    and file profiles (``subject_kind`` "file"), the table for table profiles ("table").
    """

    name: str
    subject_column: str | None
    expectations: tuple[Expect, ...]
    columns: tuple[str, ...] = field(default=())
    subject_kind: str = "file"

    def describe(self) -> str:
        lines = [f"suite {self.name} ({len(self.expectations)} expectations)"]
        for e in self.expectations:
            severity = "blocking" if e.blocking else "warning "
            lines.append(f"  [{severity}] {e.check:17} {e.rule:36} {e.describe}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Finding:
    """A failed expectation, for one subject (a landing file or a table)."""

    table: str
    subject: str
    check: str
    rule: str
    blocking: bool
    detail: str

    def message(self) -> str:
        where = self.table if self.subject in (self.table, "") else f"{self.table}: file {self.subject}"
        return f"{where}: check {self.check} failed: {self.rule}: {self.detail}"


class GateFindings:
    """For a gate's result holding ``findings``: which of them block, which only warn."""

    findings: list[Finding]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if not f.blocking]
