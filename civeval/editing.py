"""Checking what people type into the point and unit forms and tables (no Streamlit here).

Every check gives Chinese messages that name the field as the form or table heading does
(``presentation.POINT_LABELS`` / ``UNIT_LABELS``), e.g. "第 3 行「纬度」：不能大于 90". Values come in
as widgets return them: blank strings, ``None`` or NaN for an empty cell, labels for enums.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping
from typing import Any

from pydantic import ValidationError

from civeval import limits
from civeval.models import Point, Unit, UnitKind
from civeval.presentation import POINT_LABELS, UNIT_LABELS
from civeval.store import schema


class EditError(Exception):
    """What is wrong with an edit: one Chinese message per problem."""

    def __init__(self, messages: list[str]):
        super().__init__("；".join(messages))
        self.messages = messages


_MESSAGES = {
    "missing": "必须填写",
    "float_parsing": "须为数字",
    "float_type": "须为数字",
    "int_parsing": "须为整数",
    "string_type": "须为文字",
    "bool_parsing": "须为“是”或“否”",
    "bool_type": "须为“是”或“否”",
    "finite_number": "须为有限的数字",
}


def _num(v: object) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


def _message(err: Mapping[str, Any]) -> str:
    kind, ctx = err.get("type", ""), {k: _num(v) for k, v in (err.get("ctx") or {}).items()}
    if kind in _MESSAGES:
        return _MESSAGES[kind]
    if kind == "less_than_equal":
        return f"不能大于 {ctx.get('le')}"
    if kind == "greater_than_equal":
        return f"不能小于 {ctx.get('ge')}"
    if kind == "less_than":
        return f"须小于 {ctx.get('lt')}"
    if kind == "greater_than":
        return f"须大于 {ctx.get('gt')}"
    if kind == "enum":
        return f"须为以下之一：{ctx.get('expected', '')}"
    msg = str(err.get("msg", ""))
    return msg.removeprefix("Value error, ")


def validation_messages(exc: ValidationError, labels: Mapping[str, str]) -> list[str]:
    """A pydantic error as Chinese messages, each naming its field by its label."""
    out = []
    for err in exc.errors():
        loc = err.get("loc") or ()
        name = str(loc[0]) if loc else ""
        label = labels.get(name, name)
        out.append(f"「{label}」{_message(err)}" if label else _message(err))
    return out


def blank(value: object) -> bool:
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: object) -> str:
    return "" if blank(value) else str(value).strip()


def _optional(value: object) -> str | None:
    return None if blank(value) else str(value).strip()


def _number(value: object) -> object:
    if blank(value):
        return None
    return value.strip() if isinstance(value, str) else value


def _flag(value: object, default: bool = True) -> object:
    if blank(value):
        return default
    if isinstance(value, str):
        v = value.strip()
        if v in ("是", "启用", "有效", "√"):
            return True
        if v in ("否", "停用", "无效", "×"):
            return False
    return value


def _required(fields: Mapping[str, object], names: Iterable[str], labels: Mapping[str, str]) -> list[str]:
    return [f"「{labels[n]}」必须填写" for n in names if blank(fields.get(n))]


def _too_long(values: Mapping[str, object], table: Any, labels: Mapping[str, str]) -> list[str]:
    """A message for each text longer than its column in the store allows (the same on SQLite and PostgreSQL)."""
    out = []
    for name, value in values.items():
        column = table.c.get(name)
        limit = limits.column_limit(column) if column is not None else None
        if limit and isinstance(value, str) and (message := limits.too_long(value, limit, labels[name])):
            out.append(message)
    return out


# --- points --------------------------------------------------------------------------------------


def validate_point(
    fields: Mapping[str, object],
    *,
    point_types: Collection[str] | None = None,
    units: Collection[str] | None = None,
    taken_codes: Collection[str] = (),
) -> Point:
    """A Point from form values keyed by field name, or EditError.

    ``point_types`` / ``units``: the names that exist (checked when given). ``taken_codes``: codes this
    point may not use (other points' codes when adding a new point).
    """
    errors = _required(fields, ("code", "name", "point_type"), POINT_LABELS)
    values = {
        "code": _text(fields.get("code")),
        "name": _text(fields.get("name")),
        "point_type": _text(fields.get("point_type")),
        "street": _optional(fields.get("street")),
        "address": _text(fields.get("address")),
        "lat": _number(fields.get("lat")),
        "lon": _number(fields.get("lon")),
        "custodian_unit": _optional(fields.get("custodian_unit")),
        "road_chief_unit": _optional(fields.get("road_chief_unit")),
        "owner_leader": _text(fields.get("owner_leader")),
        "active": _flag(fields.get("active")),
    }
    errors += _too_long(values, schema.points, POINT_LABELS)
    if values["code"] and values["code"] in taken_codes:
        errors.append(f"「{POINT_LABELS['code']}」{values['code']} 已被其他点位使用")
    if point_types is not None and values["point_type"] and values["point_type"] not in point_types:
        errors.append(f"「{POINT_LABELS['point_type']}」“{values['point_type']}”不在点位类型名录中")
    if units is not None:
        for name in ("street", "custodian_unit", "road_chief_unit"):
            if values[name] and values[name] not in units:
                errors.append(f"「{POINT_LABELS[name]}」“{values[name]}”不在单位名录中")
    point = None
    try:
        point = Point(**values)
    except ValidationError as exc:
        errors += validation_messages(exc, POINT_LABELS)
    if (values["lat"] is None) != (values["lon"] is None):
        errors.append(f"「{POINT_LABELS['lat']}」和「{POINT_LABELS['lon']}」须同时填写或同时留空")
    if errors or point is None:
        raise EditError(list(dict.fromkeys(errors)))
    return point


def points_from_rows(
    rows: Iterable[Mapping[str, object]],
    *,
    point_types: Collection[str] | None = None,
    units: Collection[str] | None = None,
    numbers: Iterable[int] | None = None,
) -> list[Point]:
    """Points from table rows keyed by POINT_LABELS (as presentation.point_rows makes them), or EditError.

    Every row is checked and every problem reported, each prefixed with its row number (``numbers``, by
    default 1, 2, 3 …).
    Fully blank rows (a row added and left empty) are skipped. A code may appear only once.
    """
    by_label = {label: name for name, label in POINT_LABELS.items()}
    points, errors, seen = [], [], {}
    rows = list(rows)
    numbers = list(numbers) if numbers is not None else list(range(1, len(rows) + 1))
    for n, row in zip(numbers, rows, strict=True):
        fields = {by_label[k]: v for k, v in row.items() if k in by_label}
        if all(blank(v) for k, v in fields.items() if k != "active"):
            continue
        try:
            p = validate_point(fields, point_types=point_types, units=units)
        except EditError as e:
            errors += [f"第 {n} 行{m}" for m in e.messages]
            continue
        if p.code in seen:
            errors.append(f"第 {n} 行「{POINT_LABELS['code']}」{p.code} 与第 {seen[p.code]} 行重复")
            continue
        seen[p.code] = n
        points.append(p)
    if errors:
        raise EditError(errors)
    return points


# --- units ---------------------------------------------------------------------------------------


def validate_unit(fields: Mapping[str, object], existing: Iterable[Unit] = (), *, adding: bool = False) -> Unit:
    """A Unit from form values keyed by field name (``kind`` may be a UnitKind or its Chinese label), or EditError.

    ``existing``: the units already stored. Checks that a new code is free (when ``adding``), that the name is
    not another unit's, that the parent exists, and that a unit is not its own ancestor.
    """
    existing = list(existing)
    errors = _required(fields, ("code", "name"), UNIT_LABELS)
    kind = fields.get("kind") or UnitKind.department
    if not isinstance(kind, UnitKind):
        parsed = UnitKind.parse(str(kind))
        if parsed is None:
            errors.append(f"「{UNIT_LABELS['kind']}」须为以下之一：{'、'.join(UnitKind.labels())}")
        kind = parsed or UnitKind.other
    values = {
        "code": _text(fields.get("code")),
        "name": _text(fields.get("name")),
        "kind": kind,
        "parent": _optional(fields.get("parent")),
        "contact": _text(fields.get("contact")),
        "phone": _text(fields.get("phone")),
        "active": _flag(fields.get("active")),
    }
    errors += _too_long(values, schema.units, UNIT_LABELS)
    by_code = {u.code: u for u in existing}
    by_name = {u.name: u for u in existing}
    code, name, parent = values["code"], values["name"], values["parent"]
    if adding and code in by_code:
        errors.append(f"「{UNIT_LABELS['code']}」{code} 已被单位“{by_code[code].name}”使用")
    if name and name in by_name and by_name[name].code != code:
        errors.append(f"「{UNIT_LABELS['name']}」“{name}”已被编号为 {by_name[name].code} 的单位使用")
    if parent:
        if parent == name:
            errors.append(f"「{UNIT_LABELS['parent']}」不能是本单位")
        elif parent not in by_name:
            errors.append(f"「{UNIT_LABELS['parent']}」“{parent}”不在单位名录中")
        else:
            # walk up from the parent: reaching this unit (by code) means a cycle
            seen, cur = set(), by_name.get(parent)
            while cur is not None and cur.code not in seen:
                if cur.code == code:
                    errors.append(f"「{UNIT_LABELS['parent']}」“{parent}”是本单位的下级，不能作为上级")
                    break
                seen.add(cur.code)
                cur = by_name.get(cur.parent) if cur.parent else None
    unit = None
    try:
        unit = Unit(**values)
    except ValidationError as exc:
        errors += validation_messages(exc, UNIT_LABELS)
    if errors or unit is None:
        raise EditError(list(dict.fromkeys(errors)))
    return unit


# --- tables --------------------------------------------------------------------------------------


def _same(a: object, b: object) -> bool:
    if blank(a) and blank(b):
        return True
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    return a == b


def changed_rows(
    original: list[Mapping[str, object]], edited: list[Mapping[str, object]], key: str
) -> list[tuple[int, Mapping[str, object]]]:
    """The rows of an edited table that need saving, each with its row number (from 1): rows changed in
    place and rows added at the end.

    ``original`` is the table as shown, ``edited`` as the editor returns it (same order, new rows last).
    ``key`` is the column that identifies a row; it may not change on an existing row (EditError).
    """
    if len(edited) < len(original):
        raise EditError(["表格中不能删除行；停用点位请取消勾选「启用」"])
    out, errors = [], []
    for n, row in enumerate(edited, start=1):
        if n > len(original):
            if not all(blank(v) or isinstance(v, bool) for v in row.values()):
                out.append((n, row))
            continue
        before = original[n - 1]
        if not _same(before.get(key), row.get(key)):
            errors.append(f"第 {n} 行「{key}」不能修改（原为 {before.get(key)}）；要换编号请新增一行")
            continue
        if any(not _same(before.get(k), row.get(k)) for k in set(before) | set(row)):
            out.append((n, row))
    if errors:
        raise EditError(errors)
    return out
