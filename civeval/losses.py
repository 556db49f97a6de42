"""Where points are lost (失分分析): the standards and units that cost a round the most, ranked three ways — by the
points they cost (Σ full − score), by how often they fail, and (standards) by how many units share the failure.

This is the list that tells the office what to fix first: a standard that loses many points at many units is a
city-wide weakness for the lead department; one that fails often at one unit is that unit's job.
Input is the round's scored records (``rounds.RoundScores.records``); only applicable observations count.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from civeval.models import LabelledEnum, register_labels


class LossOrder(LabelledEnum):
    lost = "lost"
    failures = "failures"
    units = "units"


register_labels(
    "LossOrder",
    {
        "lost": ("按失分",),
        "failures": ("按不符合次数",),
        "units": ("按涉及单位数",),
    },
)


class LossRecord(Protocol):
    """What a loss ranking reads of a scored observation (``rounds.ScoredRecord`` has it all)."""

    standard: object  # .code, .text
    category: str
    item_code: str
    unit: str | None
    point_code: str | None
    score: float
    full: float
    failed: bool
    applicable: bool


@dataclass(frozen=True)
class StandardLoss:
    code: str
    text: str
    category: str
    item_code: str
    lost: float  # Σ (full − score) over its applicable observations
    full: float  # Σ full
    failures: int  # failed observations
    observations: int  # applicable observations
    units: tuple[str, ...]  # units answering for a failure of it, by name

    @property
    def fail_rate(self) -> float | None:
        return self.failures / self.observations if self.observations else None

    @property
    def unit_count(self) -> int:
        return len(self.units)


@dataclass(frozen=True)
class UnitLoss:
    unit: str
    lost: float
    full: float
    failures: int
    observations: int
    standards: tuple[str, ...]  # codes of the standards it failed

    @property
    def fail_rate(self) -> float | None:
        return self.failures / self.observations if self.observations else None

    @property
    def rate(self) -> float | None:
        """The unit's score rate over the same observations."""
        return (self.full - self.lost) / self.full if self.full else None


def _sort_key(order: LossOrder, x: StandardLoss | UnitLoss, count_units: int) -> tuple:
    name = x.code if isinstance(x, StandardLoss) else x.unit
    lost = round(x.lost, 9)
    if order is LossOrder.lost:
        return (-lost, -x.failures, name)
    if order is LossOrder.failures:
        return (-x.failures, -lost, name)
    return (-count_units, -lost, -x.failures, name)


def standard_losses(
    records: Iterable[LossRecord], order: LossOrder | str = LossOrder.lost, *, limit: int | None = None
) -> list[StandardLoss]:
    """Standards that lost points or failed, most first by ``order``: points lost (ties: more failures), failures
    (ties: more points lost) or units sharing the failure (ties: points lost, failures); then by code."""
    order = LossOrder(order)
    groups: dict[str, list[LossRecord]] = {}
    for r in records:
        if r.applicable:
            groups.setdefault(r.standard.code, []).append(r)
    out = []
    for code, rs in groups.items():
        lost = math.fsum(r.full - r.score for r in rs)
        failures = sum(bool(r.failed) for r in rs)
        if lost <= 1e-9 and not failures:
            continue
        units = tuple(sorted({r.unit for r in rs if r.failed and r.unit}))
        first = rs[0]
        out.append(
            StandardLoss(
                code=code,
                text=first.standard.text,
                category=first.category,
                item_code=first.item_code,
                lost=lost,
                full=math.fsum(r.full for r in rs),
                failures=failures,
                observations=len(rs),
                units=units,
            )
        )
    out.sort(key=lambda x: _sort_key(order, x, x.unit_count))
    return out[:limit] if limit is not None else out


def unit_losses(
    records: Iterable[LossRecord], order: LossOrder | str = LossOrder.lost, *, limit: int | None = None
) -> list[UnitLoss]:
    """Units that lost points or failed, most first by ``order`` (``units`` orders by how many standards failed)."""
    order = LossOrder(order)
    groups: dict[str, list[LossRecord]] = {}
    for r in records:
        if r.applicable and r.unit:
            groups.setdefault(r.unit, []).append(r)
    out = []
    for unit, rs in groups.items():
        lost = math.fsum(r.full - r.score for r in rs)
        failures = sum(bool(r.failed) for r in rs)
        if lost <= 1e-9 and not failures:
            continue
        out.append(
            UnitLoss(
                unit=unit,
                lost=lost,
                full=math.fsum(r.full for r in rs),
                failures=failures,
                observations=len(rs),
                standards=tuple(sorted({r.standard.code for r in rs if r.failed})),
            )
        )
    out.sort(key=lambda x: _sort_key(order, x, len(x.standards)))
    return out[:limit] if limit is not None else out


def shared_units(losses: Sequence[StandardLoss]) -> int:
    """How many distinct units answer for at least one of these failures."""
    return len({u for x in losses for u in x.units})
