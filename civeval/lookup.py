"""Queries over an evaluation index and the point register, for the browser pages (no Streamlit here).

Search is case- and width-insensitive: text is NFKC-normalised (full-width letters, digits and
punctuation become half-width, Ⅲ becomes III), case-folded, and stripped of whitespace, so that
``ⅲ－１`` finds ``III-1`` and ``市场 内`` finds ``市场内``. Several words separated by spaces must all match.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

from civeval.models import Category, EvaluationIndex, Item, Method, Point, Standard, Unit, UnitKind

Row = tuple[Category, Item, Standard]
SEP = "\x00"  # joins the fields searched together; not whitespace, so a word cannot match across two fields


def normalise(text: str | None) -> str:
    """Text as search compares it: NFKC, case-folded, without any whitespace."""
    if not text:
        return ""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def search_terms(search: str) -> list[str]:
    """The words of a search, each normalised; empty when the search is blank."""
    return [t for t in (normalise(w) for w in unicodedata.normalize("NFKC", search or "").split()) if t]


def _matches(haystack: str, terms: list[str]) -> bool:
    return all(t in haystack for t in terms)


def _method(m: Method | str) -> Method:
    if isinstance(m, Method):
        return m
    parsed = Method.parse(m)
    if parsed is None:
        raise ValueError(f"未知的测评方式：{m}")
    return parsed  # type: ignore[return-value]


def standard_units(standard: Standard) -> list[str]:
    """Every unit named on a standard: its lead unit first, then its supporting units, without repeats."""
    names = [standard.lead_unit, *standard.supporting_units]
    return list(dict.fromkeys(n for n in names if n))


def _indicator_name(category: Category, item: Item) -> str:
    if not item.indicator:
        return ""
    return next((f"{i.code} {i.name}" for i in category.indicators if i.code == item.indicator), "")


def filter_standards(
    index: EvaluationIndex,
    *,
    search: str = "",
    methods: Iterable[Method | str] = (),
    point_types: Iterable[str] = (),
    units: Iterable[str] = (),
) -> list[Row]:
    """The (category, item, standard) rows of ``index`` that pass every filter, in index order.

    - ``search`` matches the standard's code, text and instructions, and its item's, indicator's and
      category's codes and names (all words must match somewhere).
    - ``methods``: the standard uses any of them. ``point_types``: it is checked at any of them.
    - ``units``: any of them is its lead or a supporting unit.
    An empty filter lets everything through.
    """
    terms = search_terms(search)
    wanted_methods = {_method(m) for m in methods}
    wanted_types = set(point_types)
    wanted_units = set(units)
    rows = []
    for category, item, standard in index.standards():
        if wanted_methods and not wanted_methods.intersection(standard.methods):
            continue
        if wanted_types and not wanted_types.intersection(standard.point_types):
            continue
        if wanted_units and not wanted_units.intersection(standard_units(standard)):
            continue
        if terms:
            haystack = normalise(
                SEP.join(
                    [
                        standard.code,
                        standard.text,
                        standard.instructions,
                        item.code,
                        item.name,
                        _indicator_name(category, item),
                        category.code,
                        category.name,
                    ]
                )
            )
            if not _matches(haystack, terms):
                continue
        rows.append((category, item, standard))
    return rows


@dataclass(frozen=True)
class UnitStandards:
    """What one unit answers for in an index."""

    unit: str
    lead: list[Row] = field(default_factory=list)
    supporting: list[Row] = field(default_factory=list)

    @property
    def lead_marks(self) -> float:
        return sum(s.full_marks for _, _, s in self.lead)

    @property
    def supporting_marks(self) -> float:
        return sum(s.full_marks for _, _, s in self.supporting)

    @property
    def empty(self) -> bool:
        return not self.lead and not self.supporting


def standards_for_unit(index: EvaluationIndex, unit_name: str) -> UnitStandards:
    """The standards ``unit_name`` leads and those it supports (a lead unit is never also counted as support)."""
    lead, supporting = [], []
    for row in index.standards():
        standard = row[2]
        if standard.lead_unit == unit_name:
            lead.append(row)
        elif unit_name in standard.supporting_units:
            supporting.append(row)
    return UnitStandards(unit_name, lead, supporting)


@dataclass(frozen=True)
class StandardUnits:
    """Who answers for one standard."""

    lead: str | None
    supporting: list[str]

    @property
    def all(self) -> list[str]:
        return ([self.lead] if self.lead else []) + self.supporting


def units_for_standard(standard: Standard) -> StandardUnits:
    """The lead unit and the supporting units of ``standard`` (supporting without the lead and without repeats)."""
    supporting = [u for u in dict.fromkeys(standard.supporting_units) if u and u != standard.lead_unit]
    return StandardUnits(standard.lead_unit, supporting)


@dataclass(frozen=True)
class Workload:
    """One unit's share of an index."""

    unit: str
    lead_count: int = 0
    support_count: int = 0
    lead_marks: float = 0.0
    support_marks: float = 0.0

    @property
    def total_count(self) -> int:
        return self.lead_count + self.support_count


def unit_workload(index: EvaluationIndex, units: Iterable[str] = ()) -> list[Workload]:
    """Per unit: how many standards it leads and supports and their full marks.

    Every unit the index names is listed, plus any of ``units`` (with zeros, so that units answering for
    nothing show up). Sorted by lead marks, then lead count, then support count (all descending), then name.
    """
    acc: dict[str, list[float]] = {u: [0, 0, 0.0, 0.0] for u in units}
    for _, _, s in index.standards():
        who = units_for_standard(s)
        if who.lead:
            a = acc.setdefault(who.lead, [0, 0, 0.0, 0.0])
            a[0] += 1
            a[2] += s.full_marks
        for u in who.supporting:
            a = acc.setdefault(u, [0, 0, 0.0, 0.0])
            a[1] += 1
            a[3] += s.full_marks
    loads = [Workload(u, int(a[0]), int(a[1]), a[2], a[3]) for u, a in acc.items()]
    return sorted(loads, key=lambda w: (-w.lead_marks, -w.lead_count, -w.support_count, w.unit))


# --- points --------------------------------------------------------------------------------------


def filter_points(
    points: Iterable[Point],
    *,
    search: str = "",
    point_types: Iterable[str] = (),
    streets: Iterable[str] = (),
    custodian_units: Iterable[str] = (),
    active_only: bool = False,
) -> list[Point]:
    """The points that pass every filter, in the given order.

    ``search`` matches code, name, address, street, custodian and road-chief unit and the owning leader.
    The list filters are any-of; an empty list lets everything through.
    """
    terms = search_terms(search)
    types, sts, custodians = set(point_types), set(streets), set(custodian_units)
    out = []
    for p in points:
        if active_only and not p.active:
            continue
        if types and p.point_type not in types:
            continue
        if sts and p.street not in sts:
            continue
        if custodians and p.custodian_unit not in custodians:
            continue
        if terms:
            fields = [p.code, p.name, p.address, p.street, p.custodian_unit, p.road_chief_unit, p.owner_leader]
            if not _matches(normalise(SEP.join(f or "" for f in fields)), terms):
                continue
        out.append(p)
    return out


POINT_ROLES = ("custodian", "road_chief", "street")  # 包保单位, 路长单位, 属地街道/镇


def points_of_unit(points: Iterable[Point], unit_name: str) -> list[tuple[Point, list[str]]]:
    """The points ``unit_name`` answers for, each with its roles there (a subset of POINT_ROLES, in that order):
    custodian (包保), road chief (路长) or the point's street/town (属地). Custodian points come first."""
    out = []
    for p in points:
        roles = [
            role
            for role, name in zip(POINT_ROLES, (p.custodian_unit, p.road_chief_unit, p.street), strict=True)
            if name == unit_name
        ]
        if roles:
            out.append((p, roles))
    return sorted(out, key=lambda pr: POINT_ROLES.index(pr[1][0]))


def located(points: Iterable[Point]) -> list[Point]:
    """The points that have both a latitude and a longitude (the ones a map can draw)."""
    return [p for p in points if p.lat is not None and p.lon is not None]


def custodian_counts(points: Iterable[Point], *, active_only: bool = True) -> dict[str, int]:
    """How many points each unit is custodian (包保) of."""
    counts: dict[str, int] = {}
    for p in points:
        if p.custodian_unit and (p.active or not active_only):
            counts[p.custodian_unit] = counts.get(p.custodian_unit, 0) + 1
    return counts


def filter_units(units: Iterable[Unit], *, search: str = "", kinds: Iterable[UnitKind | str] = ()) -> list[Unit]:
    """Units whose code, name, parent or contact match ``search`` and whose kind is any of ``kinds``."""
    terms = search_terms(search)
    wanted = {UnitKind(k) if not isinstance(k, UnitKind) else k for k in kinds}
    out = []
    for u in units:
        if wanted and u.kind not in wanted:
            continue
        if terms and not _matches(normalise(SEP.join([u.code, u.name, u.parent or "", u.contact])), terms):
            continue
        out.append(u)
    return out
