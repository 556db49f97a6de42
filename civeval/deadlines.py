"""Rectification deadlines: a standard's severity gives the days allowed; days count as calendar days or as
working days that skip weekends and the holidays of a list file, with the make-up working days (调休) it names.

Configuration (environment):
- CIVEVAL_DEADLINE_DAYS: days per severity, e.g. ``immediate=0,urgent=2,normal=3,serious=7,complex=15``
- CIVEVAL_WORKING_DAYS: ``1`` to count working days (default calendar days)
- CIVEVAL_HOLIDAYS: a text file, one date a line (``2026-10-01``), ``+2026-10-11`` for a make-up working day;
  ``#`` starts a comment
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from civeval.models import DEFAULT_DEADLINE_DAYS, Severity, Standard


class DeadlineConfigError(ValueError):
    """The deadline configuration cannot be read; the message says where."""


@dataclass(frozen=True)
class Calendar:
    days: dict[Severity, int] = field(default_factory=lambda: dict(DEFAULT_DEADLINE_DAYS))
    working_days: bool = False
    holidays: frozenset[dt.date] = frozenset()
    makeup_days: frozenset[dt.date] = frozenset()  # weekend days that are working days (调休)

    def is_working_day(self, day: dt.date) -> bool:
        if day in self.makeup_days:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def add_days(self, start: dt.date, days: int) -> dt.date:
        """The deadline ``days`` after ``start``: 0 is the same day (立行立改); working days skip rest days."""
        if not self.working_days:
            return start + dt.timedelta(days=days)
        day, left = start, days
        while left > 0:
            day += dt.timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day

    def deadline(self, standard: Standard | None, severity: Severity, assigned: dt.date) -> dt.date:
        """A finding's deadline: the standard's own deadline days, else its severity's."""
        days = standard.deadline_days if standard is not None and standard.deadline_days is not None else None
        return self.add_days(assigned, self.days[severity] if days is None else days)

    def days_overdue(self, deadline: dt.date, today: dt.date) -> int:
        return max(0, (today - deadline).days)


def read_holidays(path: Path) -> tuple[frozenset[dt.date], frozenset[dt.date]]:
    holidays, makeup = set(), set()
    for n, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        target = makeup if line.startswith("+") else holidays
        try:
            target.add(dt.date.fromisoformat(line.lstrip("+").strip()))
        except ValueError:
            raise DeadlineConfigError(
                f"{path.name}:R{n}: “{raw.strip()}”不是日期（应为 2026-10-01 或 +2026-10-11）"
            ) from None
    return frozenset(holidays), frozenset(makeup)


def calendar_from_env() -> Calendar:
    days = dict(DEFAULT_DEADLINE_DAYS)
    if spec := os.environ.get("CIVEVAL_DEADLINE_DAYS", "").strip():
        for part in spec.split(","):
            key, _, value = part.partition("=")
            severity = Severity.parse(key)
            if severity is None or not value.strip().isdigit():
                raise DeadlineConfigError(f"CIVEVAL_DEADLINE_DAYS 中“{part}”无效，应为 严重程度=天数")
            days[severity] = int(value)
    holidays = makeup = frozenset()
    if path := os.environ.get("CIVEVAL_HOLIDAYS", "").strip():
        holidays, makeup = read_holidays(Path(path))
    return Calendar(
        days=days, working_days=os.environ.get("CIVEVAL_WORKING_DAYS") == "1", holidays=holidays, makeup_days=makeup
    )
