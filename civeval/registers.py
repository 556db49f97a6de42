"""The unit register (单位名录) and the point register (点位台账) as Excel workbooks.

Units workbook: sheet 单位. Points workbook: sheet 点位, plus optional sheets 点位类型 and 单位 whose rows are
created or updated with the points. Units are referred to by code or name in the cells and stored by name (the
models refer to units by name). Imports are all-or-nothing: every problem is reported, located, and nothing is
stored unless there are none.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from civeval import audit, limits
from civeval.models import Actor, Point, PointType, Unit, UnitKind
from civeval.permissions import Action, reach, require
from civeval.store import repo
from civeval.store import schema as t
from civeval.workbook import (
    Book,
    Choice,
    Column,
    Lookup,
    Problems,
    Row,
    Table,
    Writer,
    clean,
    match_key,
    parse_bool,
    parse_number,
)

UNITS_SHEET = "单位"
POINTS_SHEET = "点位"
POINT_TYPES_SHEET = "点位类型"

YES_NO = ("是", "否")

UNIT_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        "单位编码",
        ("编码", "单位代码", "代码"),
        required=True,
        width=12,
        note="单位的唯一编码；再次导入时按编码更新已有单位",
        example="D19",
    ),
    Column(
        "name",
        "单位名称",
        ("名称", "单位", "单位全称"),
        required=True,
        width=28,
        note="单位全称，全系统唯一；测评体系和点位台账按名称（或编码）引用单位",
        example="县城市管理局",
    ),
    Column(
        "kind",
        "单位类型",
        ("类型", "单位类别"),
        width=10,
        note="留空视为“部门”；点位的“所属街道”须是街道或镇",
        allowed="、".join(UnitKind.labels()),
        example="部门",
    ),
    Column(
        "parent",
        "上级单位",
        ("所属单位", "上级", "上级单位编码", "上级单位名称"),
        width=22,
        note="上级单位的编码或名称，须是单位名录或本表中的单位；不能形成循环",
        example="",
    ),
    Column("contact", "联系人", ("联络员",), width=10, note="选填", example="张三"),
    Column("phone", "联系电话", ("电话", "手机", "手机号", "联系方式"), width=14, note="选填", example="13800000000"),
    Column(
        "active", "是否启用", ("启用", "状态"), width=9, note="留空视为“是”；停用的单位不再分派任务", allowed="是、否"
    ),
)

POINT_TYPE_COLUMNS: tuple[Column, ...] = (
    Column("code", "编码", ("点位类型编码", "类型编码"), width=10, note="留空时按顺序生成 PT01、PT02…", example="PT01"),
    Column(
        "name",
        "名称",
        ("点位类型", "点位类型名称", "类型名称"),
        required=True,
        width=18,
        note="点位类型名称，唯一",
        example="农贸市场",
    ),
    Column("description", "说明", ("备注", "描述"), width=40, wrap=True, note="选填", example="含集贸市场、早夜市"),
)

POINT_COLUMNS: tuple[Column, ...] = (
    Column(
        "code",
        "点位编码",
        ("编码", "点位编号", "编号", "点位代码"),
        required=True,
        width=12,
        note="点位的唯一编码；再次导入时按编码更新已有点位",
        example="P0001",
    ),
    Column("name", "点位名称", ("名称", "点位"), required=True, width=26, note="点位名称", example="城关农贸市场"),
    Column(
        "point_type",
        "点位类型",
        ("类型", "点位类别"),
        required=True,
        width=14,
        note="须是点位类型名录或本工作簿“点位类型”表中的类型",
        example="农贸市场",
    ),
    Column(
        "street",
        "所属街道",
        ("街道", "所属街道/镇", "所属街镇", "所属乡镇", "属地", "街道(镇)", "所属街道(镇)"),
        width=14,
        note="点位所在的街道或镇（属地），填单位编码或名称；该单位的类型须是街道或镇",
        example="城关街道",
    ),
    Column("address", "地址", ("详细地址", "点位地址", "位置"), width=30, note="选填", example="城关镇解放路12号"),
    Column("lon", "经度", ("东经",), width=12, note="选填，-180～180 的小数", example=113.2345),
    Column("lat", "纬度", ("北纬",), width=12, note="选填，-90～90 的小数；须与经度同时填写", example=34.5678),
    Column(
        "custodian_unit",
        "包保单位",
        ("包保责任单位", "责任单位"),
        width=22,
        note="负责该点位的包保单位，填单位编码或名称",
        example="县城市管理局",
    ),
    Column("road_chief_unit", "路长单位", ("路长制单位", "路长责任单位"), width=20, note="选填，填单位编码或名称"),
    Column(
        "owner_leader",
        "责任领导",
        ("包保领导", "联系领导", "责任县领导", "责任市领导"),
        width=12,
        note="选填，包保该点位的领导",
        example="李四",
    ),
    Column("active", "是否启用", ("启用", "状态"), width=9, note="留空视为“是”；停用的点位不再抽取", allowed="是、否"),
)


# --- reading -----------------------------------------------------------------------------------


class UnitDirectory:
    """Units known while reading a workbook: the store's, overridden (by code) by the workbook's.

    ``find`` accepts a code or a name; ``extra_names`` are names known without further details.
    """

    def __init__(self, existing: Iterable[Unit] = (), new: Iterable[Unit] = (), extra_names: Iterable[str] = ()):
        by_code = {u.code: u for u in existing}
        by_code.update({u.code: u for u in new})
        self.units = list(by_code.values())
        self._map: dict[str, Unit] = {}
        for name in extra_names:
            self._map.setdefault(match_key(name), Unit(code="", name=name))
        for u in self.units:
            self._map[match_key(u.name)] = u
        for u in self.units:
            self._map.setdefault(match_key(u.code), u)

    def find(self, text: str) -> Unit | None:
        return self._map.get(match_key(text)) if text else None

    def names(self) -> Lookup:
        lookup = Lookup()
        for key, u in self._map.items():
            lookup.add(u.name, key)
        return lookup


def _too_long(
    values: dict[str, Any], db_table: sa.Table, columns: Sequence[Column], bad: Any, keys: Iterable[str]
) -> bool:
    """Report (with ``bad(key, message)``) each of ``keys`` whose text is longer than its store column allows.
    True when one was."""
    found = False
    for key in keys:
        limit = _column_limit(db_table, key)
        text = values.get(key)
        if limit and text and len(text) > limit:
            bad(key, limits.too_long(text, limit, _header(columns, key)))
            found = True
    return found


@functools.cache
def _column_limit(db_table: sa.Table, key: str) -> int | None:
    return limits.column_limit(db_table.c[key])


def _header(columns: Sequence[Column], key: str) -> str:
    return next(c.header for c in columns if c.key == key)


def read_units_table(
    table: Table, problems: Problems, *, existing: Sequence[Unit] = (), extra_names: Iterable[str] = ()
) -> list[Unit]:
    """The units of a 单位 sheet, checked against the store's ``existing`` units (and ``extra_names``)."""
    sheet = table.sheet
    parsed: list[tuple[int, dict, str]] = []  # (row number, fields, parent reference)
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for row in table.rows:
        n = row.number

        def bad(key: str, message: str, n: int = n) -> None:
            problems.add(sheet, n, table.col(key), message)

        code = row.text("code")
        name = row.text("name", punctuation=False)
        if not code:
            bad("code", "单位编码不能为空")
        elif code in codes:
            bad("code", f"单位编码“{code}”重复（与第{codes[code]}行相同）")
        else:
            codes[code] = n
        if not name:
            bad("name", "单位名称不能为空")
        elif match_key(name) in names:
            bad("name", f"单位名称“{name}”重复（与第{names[match_key(name)]}行相同）")
        else:
            names[match_key(name)] = n
        kind = UnitKind.department
        if text := row.text("kind"):
            kind = UnitKind.parse(text)
            if kind is None:
                bad("kind", f"单位类型“{text}”无效，可选：{'、'.join(UnitKind.labels())}")
        try:
            active = parse_bool(row.get("active"), "是否启用")
        except ValueError as e:
            bad("active", str(e))
            active = True
        fields = dict(
            code=code,
            name=name,
            kind=kind or UnitKind.department,
            contact=row.text("contact", punctuation=False),
            phone=row.text("phone"),
            active=active,
        )
        _too_long(fields, t.units, UNIT_COLUMNS, bad, ("code", "name", "contact", "phone"))
        parsed.append((n, fields, row.text("parent", punctuation=False)))

    existing = list(existing)
    new = [Unit(**f) for _, f, _ in parsed if f["code"] and f["name"]]
    directory = UnitDirectory(existing, new, extra_names)
    new_codes = {u.code for u in new}
    for n, f, _ in parsed:  # a name the store gives another code (and the workbook does not rename)
        other = next((u for u in existing if u.name == f["name"] and u.code != f["code"]), None)
        if f["name"] and other and other.code not in new_codes:
            problems.add(sheet, n, table.col("name"), f"单位名称“{f['name']}”已被单位编码“{other.code}”使用")

    parents: dict[str, str | None] = {u.code: None for u in directory.units}
    for u in existing:
        parent = directory.find(u.parent) if u.parent else None
        parents[u.code] = parent.code if parent else None
    rows_by_code: dict[str, int] = {}
    for n, f, ref in parsed:
        if not ref:
            continue
        parent = directory.find(ref)
        if parent is None:
            problems.add(sheet, n, table.col("parent"), f"上级单位“{ref}”不存在（不在单位名录中，也不在本表中）")
            continue
        f["parent"] = parent.name
        if f["code"]:
            parents[f["code"]] = parent.code or None
            rows_by_code[f["code"]] = n
    reported: set[frozenset[str]] = set()
    for code in rows_by_code:
        chain, seen = [code], {code}
        nxt = parents.get(code)
        while nxt and nxt not in seen:
            chain.append(nxt)
            seen.add(nxt)
            nxt = parents.get(nxt)
        if nxt != code:
            continue
        cycle = frozenset(chain)
        if cycle in reported:
            continue
        reported.add(cycle)
        first = min((c for c in chain if c in rows_by_code), key=rows_by_code.__getitem__)
        if len(chain) == 1:
            message = "上级单位不能是本单位"
        else:
            by_code = {u.code: u.name for u in directory.units}
            start = chain.index(first)
            loop = chain[start:] + chain[:start] + [first]
            message = "上级单位形成循环：" + " → ".join(by_code.get(c, c) for c in loop)
        problems.add(sheet, rows_by_code[first], table.col("parent"), message)
    return [Unit(**f) for _, f, _ in parsed if f["code"] and f["name"]]


def read_point_types_table(table: Table, problems: Problems) -> list[PointType]:
    """The point types of a 点位类型 sheet; blank codes become PT01, PT02… (skipping codes in use)."""
    sheet = table.sheet
    rows: list[tuple[str, str, str]] = []
    codes: dict[str, int] = {}
    names: dict[str, int] = {}
    for row in table.rows:
        code, name = row.text("code"), row.text("name", punctuation=False)
        if not name:
            problems.add(sheet, row.number, table.col("name"), "点位类型名称不能为空")
            continue
        if match_key(name) in names:
            problems.add(
                sheet, row.number, table.col("name"), f"点位类型“{name}”重复（与第{names[match_key(name)]}行相同）"
            )
            continue
        names[match_key(name)] = row.number
        if code:
            if code in codes:
                problems.add(sheet, row.number, table.col("code"), f"编码“{code}”重复（与第{codes[code]}行相同）")
            codes[code] = row.number
        _too_long(
            {"code": code, "name": name},
            t.point_types,
            POINT_TYPE_COLUMNS,
            lambda key, message, n=row.number: problems.add(sheet, n, table.col(key), message),
            ("code", "name"),
        )
        rows.append((code, name, row.text("description", punctuation=False, multiline=True)))
    types, used, n = [], set(codes), 0
    for code, name, description in rows:
        if not code:
            n += 1
            while f"PT{n:02d}" in used:
                n += 1
            code = f"PT{n:02d}"
            used.add(code)
        types.append(PointType(code=code, name=name, description=description))
    return types


_STREET_KINDS = (UnitKind.street, UnitKind.town)


def read_points_table(table: Table, problems: Problems, *, units: UnitDirectory, point_types: Lookup) -> list[Point]:
    """The points of a 点位 sheet; units by code or name, point types by name."""
    reader = _PointReader(table, problems, units, point_types)
    points = [reader.read(row) for row in table.rows]
    return [p for p in points if p is not None]


def _memo(cache: dict, value: Any, work: Any) -> Any:
    """``work(value)``, remembered by the cell's value and its type (True, 1 and 1.0 are equal but not the same
    cell): a register repeats the same few point types, streets, units and 是/否 in thousands of rows."""
    key = (value.__class__, value)
    try:
        return cache[key]
    except KeyError:
        result = cache[key] = work(value)
        return result
    except TypeError:  # not hashable
        return work(value)


def _bool_or_error(value: Any, label: str) -> tuple[bool, str | None]:
    try:
        return parse_bool(value, label), None
    except ValueError as e:
        return True, str(e)


class _PointReader:
    """Reads the rows of one 点位 sheet; what a repeated cell value means is worked out once (issue 7)."""

    def __init__(self, table: Table, problems: Problems, units: UnitDirectory, point_types: Lookup):
        self.table, self.problems, self.units, self.point_types = table, problems, units, point_types
        self.codes: dict[str, int] = {}
        self._units: dict[Any, tuple[str, Unit | None]] = {}
        self._types: dict[Any, tuple[str, str | None]] = {}
        self._active: dict[Any, tuple[bool, str | None]] = {}

    def _unit(self, value: Any) -> tuple[str, Unit | None]:
        text = clean(value, punctuation=False)
        return text, self.units.find(text) if text else None

    def _type(self, value: Any) -> tuple[str, str | None]:
        text = clean(value, punctuation=False)
        return text, self.point_types.get(text) if text else None

    def read(self, row: Row) -> Point | None:
        table = self.table
        ok = True

        def bad(key: str, message: str) -> None:
            nonlocal ok
            ok = False
            self.problems.add(table.sheet, row.number, table.col(key), message)

        def unit(key: str, label: str) -> Unit | None:
            text, u = _memo(self._units, row.get(key), self._unit)
            if not text:
                return None
            if u is None:
                bad(key, f"{label}“{text}”不在单位名录中")
            return u

        code = row.text("code")
        if not code:
            bad("code", "点位编码不能为空")
        elif code in self.codes:
            bad("code", f"点位编码“{code}”重复（与第{self.codes[code]}行相同）")
        else:
            self.codes[code] = row.number
        name = row.text("name", punctuation=False)
        if not name:
            bad("name", "点位名称不能为空")
        type_text, point_type = _memo(self._types, row.get("point_type"), self._type)
        if not type_text:
            bad("point_type", "点位类型不能为空")
        elif point_type is None:
            bad("point_type", f"点位类型“{type_text}”不存在（不在点位类型名录中，也不在本工作簿的“点位类型”表中）")
        street = unit("street", "所属街道")
        if street and street.code and street.kind not in _STREET_KINDS:
            bad("street", f"所属街道“{street.name}”的单位类型是{street.kind.label}，不是街道或镇")
        custodian = unit("custodian_unit", "包保单位")
        road_chief = unit("road_chief_unit", "路长单位")
        coords: dict[str, float | None] = {}
        for key, label, limit in (("lon", "经度", 180), ("lat", "纬度", 90)):
            coords[key] = None
            try:
                value = parse_number(row.get(key), label, negative=True)
            except ValueError as e:
                bad(key, str(e))
                continue
            if value is not None and not -limit <= value <= limit:
                bad(key, f"{label}“{clean(row.get(key))}”超出范围（-{limit}～{limit}）")
            coords[key] = value
        if ok and (coords["lon"] is None) != (coords["lat"] is None):
            bad("lon" if coords["lon"] is None else "lat", "经度和纬度须同时填写")
        active, error = _memo(self._active, row.get("active"), _active)
        if error:
            bad("active", error)
        address = row.text("address", punctuation=False)
        owner_leader = row.text("owner_leader", punctuation=False)
        texts = {"code": code, "name": name, "address": address, "owner_leader": owner_leader}
        _too_long(texts, t.points, POINT_COLUMNS, bad, texts)
        if not ok:
            return None
        return Point(
            code=code,
            name=name,
            point_type=point_type,
            street=street.name if street else None,
            address=address,
            lat=coords["lat"],
            lon=coords["lon"],
            custodian_unit=custodian.name if custodian else None,
            road_chief_unit=road_chief.name if road_chief else None,
            owner_leader=owner_leader,
            active=active,
        )


def _active(value: Any) -> tuple[bool, str | None]:
    return _bool_or_error(value, "是否启用")


def read_units(path: str | Path, *, existing: Sequence[Unit] = ()) -> list[Unit]:
    """The units of a units workbook (sheet 单位); parents may name ``existing`` units. Raises WorkbookInvalid."""
    problems = Problems(path)
    book = Book(path, problems)
    units: list[Unit] = []
    if table := book.table(UNITS_SHEET, UNIT_COLUMNS):
        units = read_units_table(table, problems, existing=existing)
        if not table.rows:
            problems.add(table.sheet, None, None, "工作表中没有任何单位")
    problems.raise_if_any()
    return units


@dataclass
class PointsFile:
    """What a points workbook holds: the points, and the units and point types of its optional sheets."""

    points: list[Point]
    units: list[Unit] = field(default_factory=list)
    point_types: list[PointType] = field(default_factory=list)


def read_points(path: str | Path, *, units: Sequence[Unit] = (), point_types: Iterable[str] = ()) -> PointsFile:
    """The points of a points workbook. Known units and point types are the given ones (the store's) plus
    those of the workbook's own 单位 and 点位类型 sheets. Raises WorkbookInvalid with every problem."""
    problems = Problems(path)
    book = Book(path, problems)
    new_units: list[Unit] = []
    if table := book.table(UNITS_SHEET, UNIT_COLUMNS, optional=True):
        new_units = read_units_table(table, problems, existing=units)
    new_types: list[PointType] = []
    if table := book.table(POINT_TYPES_SHEET, POINT_TYPE_COLUMNS, optional=True):
        new_types = read_point_types_table(table, problems)
    types = Lookup([*point_types, *(t.name for t in new_types)])
    points: list[Point] = []
    if table := book.table(POINTS_SHEET, POINT_COLUMNS):
        points = read_points_table(table, problems, units=UnitDirectory(units, new_units), point_types=types)
        if not table.rows:
            problems.add(table.sheet, None, None, "工作表中没有任何点位")
    problems.raise_if_any()
    return PointsFile(points, new_units, new_types)


# --- writing -----------------------------------------------------------------------------------


def unit_row(u: Unit) -> dict:
    return dict(
        code=u.code,
        name=u.name,
        kind=u.kind.label,
        parent=u.parent,
        contact=u.contact,
        phone=u.phone,
        active=u.active,
    )


def point_type_row(t: PointType) -> dict:
    return dict(code=t.code, name=t.name, description=t.description)


UNIT_CHOICES = {"kind": Choice(tuple(UnitKind.labels())), "active": Choice(YES_NO)}

_UNITS_NOTES = (
    "本工作簿用于导入单位名录。每行一个单位；第一行是表头，列的顺序可以调整，多余的列会被忽略。",
    "导入时按“单位编码”匹配：编码已存在的单位会被更新，其余新增。有任何错误时整份文件都不导入，并逐条指出出错的行和列。",
    "示例行仅供参考，导入前请删除或改成真实单位。",
)


def write_units(units: Sequence[Unit], path: str | Path) -> None:
    """The units workbook (sheet 单位, 填写说明, drop-downs); ``read_units`` reads it back."""
    w = Writer(path)
    w.table(UNITS_SHEET, UNIT_COLUMNS, [unit_row(u) for u in units], choices=UNIT_CHOICES)
    w.notes("单位名录填写说明", _UNITS_NOTES, [(UNITS_SHEET, UNIT_COLUMNS)])
    w.close()


def write_units_template(path: str | Path) -> None:
    """An empty units workbook with one example row."""
    example = Unit(code="D19", name="县城市管理局", kind=UnitKind.department, contact="张三", phone="13800000000")
    write_units([example], path)


_POINTS_NOTES = (
    "本工作簿用于导入点位台账。每行一个点位；第一行是表头，列的顺序可以调整，多余的列会被忽略。",
    "“点位类型”“单位”两张表可选：其中的点位类型和单位会随点位一并新增或更新（单位按编码匹配），点位可以引用它们。",
    "单位可以填编码或名称；“所属街道”须是类型为街道或镇的单位。经度、纬度用小数度数（如 113.2345）。",
    "导入时按“点位编码”匹配：编码已存在的点位会被更新，其余新增。有任何错误时整份文件都不导入，并逐条指出出错的行和列。",
    "示例行仅供参考，导入前请删除或改成真实数据。",
)


def write_points(
    points: Sequence[Point],
    path: str | Path,
    *,
    point_types: Sequence[PointType] = (),
    units: Sequence[Unit] = (),
) -> None:
    """The points workbook (sheet 点位, and 点位类型 / 单位 sheets when given); ``read_points`` reads it back."""
    w = Writer(path)
    streets = tuple(u.name for u in units if u.kind in _STREET_KINDS)
    names = tuple(u.name for u in units)
    choices = {
        "point_type": Choice(tuple(t.name for t in point_types), strict=False),
        "street": Choice(streets, strict=False),
        "custodian_unit": Choice(names, strict=False),
        "road_chief_unit": Choice(names, strict=False),
        "active": Choice(YES_NO),
    }
    rows = [
        dict(
            code=p.code,
            name=p.name,
            point_type=p.point_type,
            street=p.street,
            address=p.address,
            lon=p.lon,
            lat=p.lat,
            custodian_unit=p.custodian_unit,
            road_chief_unit=p.road_chief_unit,
            owner_leader=p.owner_leader,
            active=p.active,
        )
        for p in points
    ]
    w.table(POINTS_SHEET, POINT_COLUMNS, rows, choices=choices)
    sections = [(POINTS_SHEET, POINT_COLUMNS)]
    if point_types:
        w.table(POINT_TYPES_SHEET, POINT_TYPE_COLUMNS, [point_type_row(t) for t in point_types])
        sections.append((POINT_TYPES_SHEET, POINT_TYPE_COLUMNS))
    if units:
        w.table(UNITS_SHEET, UNIT_COLUMNS, [unit_row(u) for u in units], choices=UNIT_CHOICES)
        sections.append((UNITS_SHEET, UNIT_COLUMNS))
    w.notes("点位台账填写说明", _POINTS_NOTES, sections)
    w.close()


def write_points_template(path: str | Path) -> None:
    """An empty points workbook with one example point, and the example's point type and units."""
    write_points(
        [
            Point(
                code="P0001",
                name="城关农贸市场",
                point_type="农贸市场",
                street="城关街道",
                address="城关镇解放路12号",
                lon=113.2345,
                lat=34.5678,
                custodian_unit="县城市管理局",
                owner_leader="李四",
            )
        ],
        path,
        point_types=[PointType(code="PT01", name="农贸市场", description="含集贸市场、早夜市")],
        units=[
            Unit(code="S01", name="城关街道", kind=UnitKind.street),
            Unit(code="D19", name="县城市管理局", kind=UnitKind.department),
        ],
    )


# --- store -------------------------------------------------------------------------------------


def import_units(engine: sa.Engine, actor: Actor, path: str | Path) -> tuple[int, int]:
    """Add or update (by code) the units of a units workbook, all or nothing. Returns (added, updated)."""
    require(actor, Action.manage_units)
    with audit.writing(engine, actor, context=f"导入单位 {Path(path).name}") as conn:
        units = read_units(path, existing=repo.list_units(conn))
        return repo.save_units(conn, units)


def import_points(engine: sa.Engine, actor: Actor, path: str | Path) -> tuple[int, int]:
    """Add or update (by code) the points of a points workbook (and the units and point types of its optional
    sheets), all or nothing. Returns the points (added, updated)."""
    require(actor, Action.manage_points)
    with audit.writing(engine, actor, context=f"导入点位 {Path(path).name}") as conn:
        known_types = [t.name for t in repo.list_point_types(conn)]
        f = read_points(path, units=repo.list_units(conn), point_types=known_types)
        if f.units:
            repo.save_units(conn, f.units)
        if f.point_types:
            repo.save_point_types(conn, f.point_types)
        return repo.save_points(conn, f.points)


def export_units(engine: sa.Engine, actor: Actor, path: str | Path) -> int:
    """Write every unit of the store as a units workbook. Returns how many."""
    require(actor, Action.manage_units)
    with engine.connect() as conn:
        units = repo.list_units(conn)
    write_units(units, path)
    return len(units)


def export_points(engine: sa.Engine, actor: Actor, path: str | Path) -> int:
    """Write every point of the store as a points workbook, with the point types they use. Returns how many."""
    require(actor, Action.manage_points)
    with engine.connect() as conn:
        points = repo.list_points(conn)
        used = {p.point_type for p in points}
        types = [t for t in repo.list_point_types(conn) if t.name in used]
    write_points(points, path, point_types=types)
    return len(points)


# --- scoped access (what the app and the CLI call) ---------------------------------------------


def unit_subtree(units: Iterable[Unit], roots: Iterable[str]) -> set[str]:
    """The named units and every unit under them (a street's communities)."""
    children: dict[str, list[str]] = {}
    for u in units:
        if u.parent:
            children.setdefault(u.parent, []).append(u.name)
    out, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name not in out:
            out.add(name)
            todo.extend(children.get(name, []))
    return out


def point_units(point: Point) -> set[str]:
    """The units a point belongs to, for scope checks: its street, custodian unit and road-chief unit."""
    return {u for u in (point.street, point.custodian_unit, point.road_chief_unit) if u}


def visible_points(conn: sa.Connection, actor: Actor, **filters: Any) -> list[Point]:
    """The points of the register the actor may see (city-wide, or within their street or unit), filtered
    as ``repo.list_points`` filters."""
    require(actor, Action.view_points)
    where = reach(actor, Action.view_points)
    points = repo.list_points(conn, **filters)
    if where is None:
        return points
    inside = unit_subtree(repo.list_units(conn), where)
    return [p for p in points if point_units(p) & inside]


def visible_units(conn: sa.Connection, actor: Actor) -> list[Unit]:
    require(actor, Action.view_units)
    return repo.list_units(conn)


def save_points(
    engine: sa.Engine, actor: Actor, points: Sequence[Point], *, context: str = "编辑点位", reason: str = ""
) -> tuple[int, int]:
    """Add or update points (by code), all or nothing. Returns (added, updated)."""
    require(actor, Action.manage_points)
    with audit.writing(engine, actor, context=context, reason=reason) as conn:
        return repo.save_points(conn, points)


def save_point(engine: sa.Engine, actor: Actor, point: Point, *, reason: str = "") -> bool:
    """Add or update one point (by code). Returns True when it was new."""
    added, _ = save_points(engine, actor, [point], context=f"编辑点位 {point.code}", reason=reason)
    return bool(added)


def save_unit(engine: sa.Engine, actor: Actor, unit: Unit, *, reason: str = "") -> bool:
    """Add or update one unit (by code). Returns True when it was new."""
    require(actor, Action.manage_units)
    with audit.writing(engine, actor, context=f"编辑单位 {unit.code}", reason=reason) as conn:
        if unit.parent:
            by_name = {u.name: u for u in repo.list_units(conn)}
            seen, up = {unit.name}, unit.parent
            while up:
                if up in seen:
                    raise repo.StoreError(f"单位“{unit.name}”的上级单位形成循环")
                seen.add(up)
                up = by_name[up].parent if up in by_name else None
        added, _ = repo.save_units(conn, [unit])
    return bool(added)
