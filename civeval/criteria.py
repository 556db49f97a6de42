"""The evaluation index (测评体系) as an Excel workbook and as YAML text, and its import into the store.

Workbook (see criteria/README.md): sheets 测评体系 (name, version, year, edition, description as key/value
rows), 测评标准 (one row per standard), 点位类型, optional 单位, 填写说明 and a hidden 选项 sheet feeding the
drop-downs. The reader accepts official-style tables (title rows, merged parent levels, any column order,
full-width characters, "2分") and reports every problem at once, located at its cell.

Text form: YAML of ``index.model_dump(mode="json", exclude_defaults=True)``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml
from pydantic import ValidationError

from civeval import audit, limits
from civeval.models import (
    Actor,
    Category,
    EvaluationIndex,
    Indicator,
    Item,
    LabelledEnum,
    Method,
    PointType,
    Responsibility,
    ScoringMode,
    Severity,
    Standard,
    Unit,
    UnitKind,
    Veto,
)
from civeval.permissions import Action, require
from civeval.registers import (
    POINT_TYPE_COLUMNS,
    POINT_TYPES_SHEET,
    UNIT_CHOICES,
    UNIT_COLUMNS,
    UNITS_SHEET,
    UnitDirectory,
    point_type_row,
    read_point_types_table,
    read_units_table,
    unit_row,
)
from civeval.store import repo
from civeval.store import schema as tables
from civeval.workbook import (
    Book,
    Choice,
    Column,
    Lookup,
    Problem,
    Problems,
    Row,
    Table,
    WorkbookInvalid,
    Writer,
    clean,
    header_key,
    match_key,
    parse_int,
    parse_number,
    split_list,
)

META_SHEET = "测评体系"
STANDARDS_SHEET = "测评标准"

EDITIONS: dict[str, tuple[str, ...]] = {
    "县级": ("县级文明城市", "县城", "文明县城", "县"),
    "地级": ("地级市", "地级以上城市", "地级及以上城市", "地市级", "市"),
    "自定义": ("其他",),
}

YEARS = (1900, 2100)  # an index's year
MAX_DEADLINE_DAYS = 365  # a standard's own rectification days (longer work is marked long-term)

META_COLUMNS: tuple[Column, ...] = (
    Column(
        "name",
        "名称",
        ("体系名称", "测评体系名称", "标题"),
        required=True,
        note="测评体系的名称",
        example="XX县文明城市测评体系",
    ),
    Column("version", "版本", ("版本号", "版次"), required=True, note="同名体系以版本区分", example="2024版"),
    Column("year", "年份", ("年度", "适用年份"), required=True, note="四位数字", example=2024),
    Column(
        "edition",
        "类型",
        ("体系类型", "版别", "适用范围"),
        note="留空表示未指定",
        allowed="、".join(EDITIONS),
        example="县级",
    ),
    Column("description", "说明", ("备注", "简介"), note="选填"),
)

_METHODS = "、".join(Method.labels())
STANDARD_COLUMNS: tuple[Column, ...] = (
    Column(
        "category",
        "测评项目",
        ("项目", "项目名称", "测评项目名称", "一级指标"),
        required=True,
        parent=True,
        width=14,
        note="第一层级（Ⅰ级），可纵向合并单元格只写一次",
        example="公共环境",
    ),
    Column(
        "category_code",
        "项目编码",
        ("一级指标编码",),
        parent=True,
        width=9,
        note="选填，留空按顺序生成 I-01…",
        example="I-01",
    ),
    Column(
        "indicator",
        "测评指标",
        ("指标", "指标名称", "二级指标"),
        parent=True,
        width=14,
        note="选填，项目与内容之间的层级（Ⅱ级）",
        example="市容环境",
    ),
    Column(
        "indicator_code",
        "指标编码",
        ("二级指标编码",),
        parent=True,
        width=9,
        note="选填，留空按顺序生成 II-01…",
        example="II-01",
    ),
    Column(
        "item",
        "测评内容",
        ("内容", "内容名称", "三级指标"),
        required=True,
        parent=True,
        width=18,
        note="第三层级（Ⅲ级），其下至少有一条测评标准",
        example="农贸市场",
    ),
    Column(
        "item_code",
        "内容编码",
        ("三级指标编码",),
        parent=True,
        width=9,
        note="选填，留空按顺序生成 III-01…",
        example="III-01",
    ),
    Column(
        "code",
        "标准编码",
        ("标准代码", "标准序号", "编号"),
        required=True,
        width=11,
        note="每条标准唯一，测评记录和问题按它关联",
        example="III-01-1",
    ),
    Column(
        "text",
        "测评标准",
        ("标准内容", "测评标准内容", "具体标准", "标准"),
        required=True,
        width=46,
        wrap=True,
        note="需要达到的要求",
        example="市场内地面干净，无积水、无垃圾堆积",
    ),
    Column(
        "methods",
        "测评方法",
        ("方法", "测评方式", "考核方式"),
        required=True,
        width=16,
        note="可填多个，用“、”分隔",
        allowed=_METHODS,
        example="实地考察",
    ),
    Column(
        "full_marks",
        "分值",
        ("分数", "标准分值", "满分"),
        required=True,
        width=7,
        note="数字，可写“2”“2分”“２”",
        example=2,
    ),
    Column(
        "scoring_mode",
        "计分方式",
        ("计分方法", "评分方式"),
        width=12,
        note="留空视为“符合/不符合”；等级按 A/B/C/D 计 100%/66%/33%/0%；扣分按处扣分并设上限",
        allowed="、".join(ScoringMode.labels()),
        example="扣分",
    ),
    Column("per_instance", "每处扣分", ("单处扣分", "扣分标准"), width=9, note="计分方式为“扣分”时必填", example=0.5),
    Column("cap", "扣分上限", ("最高扣分", "扣分封顶", "最多扣分"), width=9, note="计分方式为“扣分”时必填", example=2),
    Column(
        "point_types",
        "点位类型",
        ("适用点位", "考察点位", "实地考察点位", "点位"),
        width=20,
        note="在哪些点位类型检查，可填多个，用“、”分隔；测评方法含“实地考察”时必填",
        allowed="“点位类型”表或点位类型名录中的名称",
        example="农贸市场",
    ),
    Column(
        "lead_unit",
        "牵头单位",
        ("责任单位", "主责单位", "牵头部门"),
        width=18,
        note="一个单位",
        allowed="“单位”表或单位名录中的单位",
        example="县市场监督管理局",
    ),
    Column(
        "supporting_units",
        "配合单位",
        ("配合部门", "协办单位", "协同单位"),
        width=22,
        note="可填多个，用“、”分隔",
        allowed="“单位”表或单位名录中的单位",
        example="县城市管理局",
    ),
    Column(
        "responsibility",
        "责任归属",
        ("责任类型", "责任划分"),
        width=10,
        note="点位上发现的问题交给谁：属地＝点位的包保单位（或所属街道），行业＝本标准的牵头单位；留空视为“属地”",
        allowed="、".join(Responsibility.labels()),
        example="属地",
    ),
    Column(
        "veto",
        "一票否决",
        ("否决", "是否一票否决"),
        width=10,
        note="不达标时：否＝不否决；本项归零＝所属测评内容得零分；专项预警＝触发预警；留空视为“否”",
        allowed="、".join(Veto.labels()),
        example="否",
    ),
    Column(
        "instructions",
        "操作提示",
        ("测评提示", "操作说明", "测评说明", "检查方法"),
        width=34,
        wrap=True,
        note="测评员如何检查，可换行",
        example="从正门进入，步行200米，查看2处以上摊位区",
    ),
    Column(
        "severity",
        "整改时限",
        ("问题等级", "严重程度", "整改等级"),
        width=10,
        note="问题的默认整改时限（立行立改当日、紧急2天、一般3天、较重7天、复杂15天）；留空视为“一般”",
        allowed="、".join(Severity.labels()),
        example="一般",
    ),
    Column(
        "deadline_days",
        "整改天数",
        ("整改期限", "限期天数", "整改时限天数"),
        width=9,
        note="选填，整数；填写后代替“整改时限”的默认天数",
        example=3,
    ),
)

_CHOICES = {
    "scoring_mode": Choice(tuple(ScoringMode.labels())),
    "responsibility": Choice(tuple(Responsibility.labels())),
    "veto": Choice(tuple(Veto.labels())),
    "severity": Choice(tuple(Severity.labels())),
    "methods": Choice(tuple(Method.labels()), strict=False),
}

_NOTES = (
    "本工作簿用于导入一套测评体系：“测评体系”表填名称、版本、年份等；“测评标准”表每行一条测评标准；"
    "“点位类型”表列出标准中用到的点位类型；“单位”表（可选）列出标准中用到、单位名录中还没有的牵头单位和配合单位，导入时一并创建。",
    "“测评标准”表的表头可以不在第一行（上方可以有合并的标题行），列的顺序可以调整，多余的列会被忽略。"
    "测评项目、测评指标、测评内容可以纵向合并单元格，只写一次。",
    "项目、指标、内容的编码可以留空，导入时按顺序生成（I-01、II-01、III-01）；标准编码必填且不能重复。",
    "分值等数字可以写成“2”“2分”“２”；测评方法、点位类型、配合单位可填多个，用顿号“、”分隔。",
    "计分方式为“扣分”时须填写每处扣分和扣分上限；测评方法含“实地考察”时须填写点位类型。",
    "有任何错误时整份文件都不导入，系统会逐条指出出错的工作表、行（R）和列（C）。",
    "示例行仅供参考，导入前请删除或改成真实内容。",
)


@dataclass
class IndexFile:
    """What an index file holds: the index, and the units of its 单位 sheet (empty for YAML)."""

    index: EvaluationIndex
    units: list[Unit] = field(default_factory=list)


# --- reading the workbook ----------------------------------------------------------------------


def _read_meta(book: Book, problems: Problems) -> dict[str, Any]:
    ws = book.sheet(META_SHEET)
    if ws is None:
        problems.add(META_SHEET, None, None, f"缺少工作表“{META_SHEET}”")
        return {}
    grid, _, _ = book.grid(ws)
    lookup = {header_key(n): c for c in META_COLUMNS for n in (c.header, *c.synonyms)}
    cells: dict[str, tuple[Any, int, int]] = {}
    for r, row in enumerate(grid):
        c = next((i for i, v in enumerate(row) if clean(v)), None)
        if c is None:
            continue
        col = lookup.get(header_key(row[c]))
        if col and col.key not in cells:
            cells[col.key] = (row[c + 1] if c + 1 < len(row) else None, r + 1, c + 2)
    sheet = ws.title
    meta: dict[str, Any] = {}
    for col in META_COLUMNS:
        value, r, c = cells.get(col.key, (None, None, None))
        text = clean(value, punctuation=False, multiline=col.key == "description")
        if col.required and not text:
            message = f"{col.header}不能为空" if r else f"缺少“{col.header}”行"
            problems.add(sheet, r, c, message)
            continue
        if col.key == "year":
            try:
                meta["year"] = parse_int(value, "年份")
            except ValueError as e:
                problems.add(sheet, r, c, str(e))
            else:
                if not YEARS[0] <= meta["year"] <= YEARS[1]:
                    problems.add(sheet, r, c, f"年份“{text}”不在 {YEARS[0]}～{YEARS[1]} 之间")
        elif col.key == "edition" and text:
            edition = next((k for k, syn in EDITIONS.items() if match_key(text) in {k, *syn}), None)
            if edition is None:
                problems.add(sheet, r, c, f"类型“{text}”无效，可选：{'、'.join(EDITIONS)}")
            meta["edition"] = edition or ""
        else:
            meta[col.key] = text
            column = tables.indexes.c.get(col.key)
            limit = limits.column_limit(column) if column is not None else None
            if limit and (message := limits.too_long(text, limit, col.header)):
                problems.add(sheet, r, c, message)
    return meta


@dataclass(eq=False)
class _Group:
    """A category, indicator or item while reading rows."""

    name: str
    code: str | None
    row: int
    scope: tuple
    indicator: _Group | None = None
    standards: list[Standard] = field(default_factory=list)
    standard_rows: int = 0
    first_row: Row | None = None


class _Level:
    """The groups of one level, found by code (unique in the index) or else by name within their scope."""

    def __init__(self, label: str, key: str, prefix: str):
        self.label, self.key, self.prefix = label, key, prefix
        self.groups: list[_Group] = []
        self.by_code: dict[str, _Group] = {}
        self.by_name: dict[tuple, _Group] = {}

    def resolve(self, row: Row, scope: tuple, table: Table, problems: Problems) -> _Group | None:
        name = row.text(self.key, punctuation=False)
        code = row.text(self.key + "_code")
        if self._too_long(row, table, problems, {self.key: name, self.key + "_code": code}):
            return None
        if code and (g := self.by_code.get(code)):
            if g.scope == scope and (not name or name == g.name):
                return g
            code_header = next(c.header for c in STANDARD_COLUMNS if c.key == self.key + "_code")
            where = f"第{g.row}行的“{g.name}”" if name != g.name else f"第{g.row}行的另一{self._parent_label()}下"
            problems.add(table.sheet, row.number, table.col(self.key + "_code"), f"{code_header}“{code}”已用于{where}")
            return None
        if not name:
            return None
        g = self.by_name.get((scope, name))
        if g is not None and (not code or g.code is None):
            if code:
                g.code = code
                self.by_code[code] = g
            return g
        g = _Group(name, code or None, row.number, scope, first_row=row)
        self.groups.append(g)
        self.by_name[(scope, name)] = g
        if code:
            self.by_code[code] = g
        return g

    def _too_long(self, row: Row, table: Table, problems: Problems, texts: dict[str, str]) -> bool:
        """Report a name or code longer than the store keeps; True when there was one."""
        stored = {"category": tables.categories, "indicator": tables.indicators, "item": tables.items}[self.key]
        found = False
        for key, text in texts.items():
            header = next(c.header for c in STANDARD_COLUMNS if c.key == key)
            limit = limits.column_limit(stored.c["code" if key.endswith("_code") else "name"])
            if limit and (message := limits.too_long(text, limit, header)):
                problems.add(table.sheet, row.number, table.col(key), message)
                found = True
        return found

    def _parent_label(self) -> str:
        return "测评项目" if self.key != "item" else "测评项目或测评指标"

    def assign_codes(self, numbers: Iterable[int]) -> None:
        """Give groups without a code ``PREFIX-NN`` from their position, skipping codes in use."""
        used = set(self.by_code)
        for g, n in zip(self.groups, numbers, strict=True):
            if g.code:
                continue
            code, k = f"{self.prefix}-{n:02d}", n
            while code in used:
                k += 1
                code = f"{self.prefix}-{k:02d}"
            g.code = code
            used.add(code)


@dataclass
class _Context:
    units: Lookup
    check_units: bool
    point_types: Lookup
    check_point_types: bool
    codes: dict[str, int] = field(default_factory=dict)


def _enum(row: Row, table: Table, key: str, cls: type[LabelledEnum], default: LabelledEnum, bad) -> Any:
    text = row.text(key)
    if not text:
        return default
    value = cls.parse(text)
    if value is None:
        header = next(c.header for c in STANDARD_COLUMNS if c.key == key)
        bad(key, f"{header}“{text}”无效，可选：{'、'.join(cls.labels())}")
        return default
    return value


def _read_standard(row: Row, table: Table, problems: Problems, ctx: _Context) -> Standard | None:
    ok = True

    def bad(key: str, message: str) -> None:
        nonlocal ok
        ok = False
        problems.add(table.sheet, row.number, table.col(key), message)

    def number(key: str, label: str) -> float | None:
        try:
            return parse_number(row.get(key), label)
        except ValueError as e:
            bad(key, str(e))
            return None

    code = row.text("code")
    if not code:
        bad("code", "标准编码不能为空")
    elif message := limits.too_long(code, limits.column_limit(tables.standards.c.code) or 0, "标准编码"):
        bad("code", message)
    elif code in ctx.codes:
        bad("code", f"标准编码“{code}”重复（与第{ctx.codes[code]}行相同）")
    else:
        ctx.codes[code] = row.number
    text = row.text("text", punctuation=False)
    if not text:
        bad("text", "测评标准不能为空")

    methods: list[Method] = []
    tokens = split_list(row.get("methods"), known=lambda t: Method.parse(clean(t)) is not None)
    for token in tokens:
        m = Method.parse(clean(token))
        if m is None:
            bad("methods", f"测评方法“{token}”无效，可选：{_METHODS}")
        elif m not in methods:
            methods.append(m)
    if not tokens:
        bad("methods", "测评方法不能为空")

    full_marks = number("full_marks", "分值")
    if full_marks is None and not row.text("full_marks"):
        bad("full_marks", "分值不能为空")
    mode = _enum(row, table, "scoring_mode", ScoringMode, ScoringMode.pass_fail, bad)
    per_instance = number("per_instance", "每处扣分")
    cap = number("cap", "扣分上限")
    if mode is ScoringMode.deduction:
        if per_instance is None and not row.text("per_instance"):
            bad("per_instance", "计分方式为“扣分”时须填写每处扣分")
        if cap is None and not row.text("cap"):
            bad("cap", "计分方式为“扣分”时须填写扣分上限")

    point_types: list[str] = []
    unknown_type = False
    for token in split_list(row.get("point_types"), known=lambda t: t in ctx.point_types):
        name = ctx.point_types.get(token)
        if name is None and ctx.check_point_types:
            bad("point_types", f"点位类型“{token}”不在“点位类型”表中，也不在点位类型名录中")
            unknown_type = True
            continue
        name = name or token
        if name not in point_types:
            point_types.append(name)
    if Method.field in methods and not point_types and not unknown_type:
        bad("point_types", "测评方法含“实地考察”的标准须填写点位类型")

    def unit(token: str, key: str, label: str) -> str | None:
        name = ctx.units.get(token)
        if name is None and ctx.check_units:
            bad(key, f"{label}“{token}”不在单位名录中，也不在“单位”表中")
            return None
        return name or token

    lead_text = row.text("lead_unit", punctuation=False)
    lead = unit(lead_text, "lead_unit", "牵头单位") if lead_text else None
    supporting: list[str] = []
    for token in split_list(row.get("supporting_units"), known=lambda t: t in ctx.units):
        name = unit(token, "supporting_units", "配合单位")
        if name and name != lead and name not in supporting:
            supporting.append(name)

    responsibility = _enum(row, table, "responsibility", Responsibility, Responsibility.custodian, bad)
    veto = _enum(row, table, "veto", Veto, Veto.none, bad)
    severity = _enum(row, table, "severity", Severity, Severity.normal, bad)
    deadline_days = None
    try:
        deadline_days = parse_int(row.get("deadline_days"), "整改天数")
    except ValueError as e:
        bad("deadline_days", str(e))
    else:
        if deadline_days is not None and deadline_days > MAX_DEADLINE_DAYS:
            bad("deadline_days", f"整改天数不能超过 {MAX_DEADLINE_DAYS} 天（填的是“{deadline_days}”）")
    if not ok:
        return None
    try:
        return Standard(
            code=code,
            text=text,
            methods=methods,
            full_marks=full_marks,
            scoring_mode=mode,
            per_instance=per_instance,
            cap=cap,
            point_types=point_types,
            lead_unit=lead,
            supporting_units=supporting,
            responsibility=responsibility,
            veto=veto,
            instructions=row.text("instructions", punctuation=False, multiline=True),
            severity=severity,
            deadline_days=deadline_days,
        )
    except ValidationError as e:
        for err in e.errors():
            bad("code", _error_message(err))
        return None


def _read_standards(table: Table, problems: Problems, ctx: _Context) -> list[Category]:
    categories = _Level("测评项目", "category", "I")
    indicators = _Level("测评指标", "indicator", "II")
    items = _Level("测评内容", "item", "III")
    for row in table.rows:
        cat = categories.resolve(row, (), table, problems)
        if cat is None and not row.text("category", punctuation=False):
            problems.add(table.sheet, row.number, table.col("category"), "测评项目不能为空")
        ind = None
        if cat is not None and (row.text("indicator") or row.text("indicator_code")):
            ind = indicators.resolve(row, (id(cat),), table, problems)
            if ind is None and not row.text("indicator"):
                problems.add(table.sheet, row.number, table.col("indicator"), "填写了指标编码时须填写测评指标")
        item = None
        if cat is not None:
            item = items.resolve(row, (id(cat), id(ind) if ind else None), table, problems)
            if item is not None:
                item.indicator = ind
        if item is None and not row.text("item", punctuation=False):
            problems.add(table.sheet, row.number, table.col("item"), "测评内容不能为空")
        if any(row.text(k) for k in ("code", "text", "methods", "full_marks")):
            standard = _read_standard(row, table, problems, ctx)
            if item is not None:
                item.standard_rows += 1
                if standard is not None:
                    item.standards.append(standard)
    for item in items.groups:
        if item.standard_rows == 0:
            problems.add(table.sheet, item.row, table.col("text"), f"测评内容“{item.name}”没有测评标准")
    if not table.rows:
        problems.add(table.sheet, None, None, "工作表中没有任何测评标准")
    categories.assign_codes(range(1, len(categories.groups) + 1))
    indicators.assign_codes(range(1, len(indicators.groups) + 1))
    items.assign_codes(range(1, len(items.groups) + 1))
    if len(problems):
        return []
    return [
        Category(
            code=cat.code,
            name=cat.name,
            indicators=[Indicator(code=i.code, name=i.name) for i in indicators.groups if i.scope == (id(cat),)],
            items=[
                Item(
                    code=i.code,
                    name=i.name,
                    indicator=i.indicator.code if i.indicator else None,
                    standards=i.standards,
                )
                for i in items.groups
                if i.scope[0] == id(cat)
            ],
        )
        for cat in categories.groups
    ]


def read_workbook(
    path: str | Path,
    *,
    known_units: Iterable[str] | None = None,
    known_point_types: Iterable[str] | None = None,
    existing_units: Sequence[Unit] = (),
) -> IndexFile:
    """Read an index workbook. Raises WorkbookInvalid listing every problem, each at its cell.

    Units named by standards must be in ``known_units`` (names; the store's), in ``existing_units`` or in
    the workbook's 单位 sheet; point types in ``known_point_types`` or the 点位类型 sheet. Either check is
    skipped when its argument is None. ``existing_units`` (the store's) are used to check the 单位 sheet.
    """
    problems = Problems(path)
    book = Book(path, problems)
    meta = _read_meta(book, problems)

    point_types: list[PointType] = []
    if table := book.table(POINT_TYPES_SHEET, POINT_TYPE_COLUMNS, optional=True):
        point_types = read_point_types_table(table, problems)
    units: list[Unit] = []
    if table := book.table(UNITS_SHEET, UNIT_COLUMNS, optional=True):
        units = read_units_table(table, problems, existing=existing_units, extra_names=known_units or ())
    ctx = _Context(
        units=UnitDirectory(existing_units, units, known_units or ()).names(),
        check_units=known_units is not None,
        point_types=Lookup([*(t.name for t in point_types), *(known_point_types or ())]),
        check_point_types=known_point_types is not None,
    )

    categories: list[Category] = []
    ws = book.sheet(STANDARDS_SHEET) or book.find_table_sheet(STANDARD_COLUMNS)
    if ws is None:
        problems.add(STANDARDS_SHEET, None, None, f"缺少工作表“{STANDARDS_SHEET}”")
    elif table := book.read_table(ws, STANDARD_COLUMNS):
        categories = _read_standards(table, problems, ctx)
    problems.raise_if_any()
    try:
        index = EvaluationIndex(point_types=point_types, categories=categories, **meta)
    except ValidationError as e:
        raise WorkbookInvalid(
            [Problem(problems.file, _loc(err["loc"]), None, None, _error_message(err)) for err in e.errors()]
        ) from e
    return IndexFile(index, units)


# --- writing the workbook ----------------------------------------------------------------------


def _standard_rows(index: EvaluationIndex) -> list[dict[str, Any]]:
    rows = []
    for cat in index.categories:
        indicators = {i.code: i for i in cat.indicators}
        for item in cat.items:
            ind = indicators.get(item.indicator) if item.indicator else None
            for s in item.standards:
                rows.append(
                    dict(
                        _cat=cat.code,
                        category=cat.name,
                        category_code=cat.code,
                        _ind=(cat.code, ind.code) if ind else None,
                        indicator=ind.name if ind else None,
                        indicator_code=ind.code if ind else None,
                        _item=item.code,
                        item=item.name,
                        item_code=item.code,
                        code=s.code,
                        text=s.text,
                        methods="、".join(m.label for m in s.methods),
                        full_marks=s.full_marks,
                        scoring_mode=s.scoring_mode.label,
                        per_instance=s.per_instance,
                        cap=s.cap,
                        point_types="、".join(s.point_types),
                        lead_unit=s.lead_unit,
                        supporting_units="、".join(s.supporting_units),
                        responsibility=s.responsibility.label,
                        veto=s.veto.label,
                        instructions=s.instructions,
                        severity=s.severity.label,
                        deadline_days=s.deadline_days,
                    )
                )
    return rows


def write_workbook(index: EvaluationIndex, path: str | Path, *, units: Sequence[Unit] | None = None) -> None:
    """Write ``index`` in the template form (parent levels merged); ``read_workbook`` gives it back equal.

    ``units`` (e.g. those the standards name) fill the 单位 sheet.
    """
    units = list(units or [])
    w = Writer(path)
    w.key_values(
        META_SHEET,
        [
            ("名称", index.name, "必填"),
            ("版本", index.version, "必填，同名体系以版本区分"),
            ("年份", index.year, "必填，四位数字"),
            ("类型", index.edition, "县级 / 地级 / 自定义"),
            ("说明", index.description, "选填"),
        ],
        choices={"类型": Choice(tuple(EDITIONS))},
    )
    choices = dict(_CHOICES)
    choices["point_types"] = Choice(tuple(t.name for t in index.point_types), strict=False)
    names = tuple(u.name for u in units)
    choices["lead_unit"] = Choice(names, strict=False)
    w.table(
        STANDARDS_SHEET,
        STANDARD_COLUMNS,
        _standard_rows(index),
        choices=choices,
        merge=[
            ("_cat", ("category", "category_code")),
            ("_ind", ("indicator", "indicator_code")),
            ("_item", ("item", "item_code")),
        ],
    )
    w.table(POINT_TYPES_SHEET, POINT_TYPE_COLUMNS, [point_type_row(t) for t in index.point_types])
    w.table(UNITS_SHEET, UNIT_COLUMNS, [unit_row(u) for u in units], choices=UNIT_CHOICES)
    w.notes(
        "测评体系填写说明",
        _NOTES,
        [
            (META_SHEET, META_COLUMNS),
            (STANDARDS_SHEET, STANDARD_COLUMNS),
            (POINT_TYPES_SHEET, POINT_TYPE_COLUMNS),
            (UNITS_SHEET, UNIT_COLUMNS),
        ],
    )
    w.close()


EXAMPLE_INDEX = EvaluationIndex(
    name="XX县文明城市测评体系（示例）",
    version="2024版",
    year=2024,
    edition="县级",
    description="示例：导入前请改为本地测评体系的名称和版本，并把示例行改成真实内容。",
    point_types=[PointType(code="PT01", name="农贸市场", description="含集贸市场、早夜市")],
    categories=[
        Category(
            code="I-01",
            name="公共环境",
            indicators=[Indicator(code="II-01", name="市容环境")],
            items=[
                Item(
                    code="III-01",
                    name="农贸市场",
                    indicator="II-01",
                    standards=[
                        Standard(
                            code="III-01-1",
                            text="市场内地面干净，无积水、无垃圾堆积，摊位摆放整齐",
                            methods=[Method.field],
                            full_marks=2,
                            scoring_mode=ScoringMode.deduction,
                            per_instance=0.5,
                            cap=2,
                            point_types=["农贸市场"],
                            lead_unit="县市场监督管理局",
                            supporting_units=["县城市管理局"],
                            instructions="从正门进入，步行200米，查看2处以上摊位区",
                            deadline_days=3,
                        )
                    ],
                )
            ],
        )
    ],
)
EXAMPLE_UNITS = [
    Unit(code="D28", name="县市场监督管理局", kind=UnitKind.department),
    Unit(code="D19", name="县城市管理局", kind=UnitKind.department),
]


def write_template(path: str | Path) -> None:
    """The empty template: headers, drop-downs, notes, and one example standard (with its point type and units)."""
    write_workbook(EXAMPLE_INDEX, path, units=EXAMPLE_UNITS)


# --- text form ---------------------------------------------------------------------------------

_ENUM_FIELDS: dict[str, type[LabelledEnum]] = {
    "methods": Method,
    "scoring_mode": ScoringMode,
    "responsibility": Responsibility,
    "veto": Veto,
    "severity": Severity,
}


def _loc(loc: Sequence[Any]) -> str | None:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (("." if out else "") + str(part))
    return out or None


def _error_message(err: dict) -> str:
    kind, value, ctx = err["type"], err.get("input"), err.get("ctx") or {}
    fields = [p for p in err["loc"] if isinstance(p, str)]
    if kind == "enum" and fields and fields[-1] in _ENUM_FIELDS:
        cls = _ENUM_FIELDS[fields[-1]]
        return f"“{value}”无效，可选：" + "、".join(f"{m.value}（{m.label}）" for m in cls)
    if kind == "value_error":
        return str(err["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than_equal", "greater_than") and ctx.get("ge", ctx.get("gt")) == 0:
        return f"不能为负数（填的是“{value}”）"
    messages = {
        "missing": "缺少必填项",
        "extra_forbidden": "未知字段",
        "float_parsing": f"“{value}”不是数字",
        "float_type": f"“{value}”不是数字",
        "int_parsing": f"“{value}”不是整数",
        "int_type": f"“{value}”不是整数",
        "int_from_float": f"“{value}”不是整数",
        "string_type": "应为文本",
        "list_type": "应为列表",
        "dict_type": "应为键值映射",
        "model_type": "应为键值映射",
        "too_short": "至少需要一项",
        "bool_parsing": "应为 true 或 false",
        "less_than_equal": f"不能大于 {ctx.get('le')}",
        "greater_than_equal": f"不能小于 {ctx.get('ge')}",
    }
    return messages.get(kind, f"取值无效：{err['msg']}")


def _labels_to_values(data: Any) -> None:
    """Let hand-written YAML use the Chinese labels of enums (实地考察, 扣分…) as well as their values."""

    def children(parent: Any, key: str) -> list:
        found = parent.get(key) if isinstance(parent, dict) else None
        return found if isinstance(found, list) else []

    for cat in children(data, "categories"):
        for item in children(cat, "items"):
            for s in children(item, "standards"):
                if not isinstance(s, dict):
                    continue
                for key, cls in _ENUM_FIELDS.items():
                    v = s.get(key)
                    if isinstance(v, list):
                        s[key] = [(m.value if isinstance(x, str) and (m := cls.parse(x)) else x) for x in v]
                    elif isinstance(v, str) and (m := cls.parse(v)):
                        s[key] = m.value


_MULTILINE_KEYS = {"description", "instructions"}
_CODE_KEYS = {"code", "indicator"}


def _clean_strings(data: Any, key: str = "") -> Any:
    """Normalise the strings of YAML data as workbook cells are (so both forms read the same text):
    codes fully, free text keeping its line breaks, everything else like names."""
    if isinstance(data, dict):
        return {k: _clean_strings(v, k) for k, v in data.items()}
    if isinstance(data, list):
        return [_clean_strings(v, key) for v in data]
    if isinstance(data, str):
        return clean(data, punctuation=key in _CODE_KEYS, multiline=key in _MULTILINE_KEYS)
    return data


def check_index(
    index: EvaluationIndex,
    *,
    known_units: Iterable[str] | None = None,
    known_point_types: Iterable[str] | None = None,
) -> list[tuple[str, str]]:
    """What pydantic cannot see: duplicate codes, items under unknown indicators, unknown point types and
    units (checked only when given). Returns (field path, Chinese message) pairs."""
    found: list[tuple[str, str]] = []
    seen: dict[str, dict[str, str]] = {"项目编码": {}, "指标编码": {}, "内容编码": {}, "标准编码": {}}

    def unique(kind: str, code: str, where: str) -> None:
        if code in seen[kind]:
            found.append((where, f"{kind}“{code}”重复（另见 {seen[kind][code]}）"))
        else:
            seen[kind][code] = where

    if not YEARS[0] <= index.year <= YEARS[1]:
        found.append(("year", f"年份“{index.year}”不在 {YEARS[0]}～{YEARS[1]} 之间"))
    types = {t.name for t in index.point_types} | set(known_point_types or ())
    units = set(known_units or ())
    pt_names: dict[str, str] = {}
    for ti, t in enumerate(index.point_types):
        if t.name in pt_names:
            found.append((f"point_types[{ti}].name", f"点位类型“{t.name}”重复（另见 {pt_names[t.name]}）"))
        pt_names.setdefault(t.name, f"point_types[{ti}]")
    for ci, cat in enumerate(index.categories):
        here = f"categories[{ci}]"
        unique("项目编码", cat.code, here + ".code")
        for ii, ind in enumerate(cat.indicators):
            unique("指标编码", ind.code, f"{here}.indicators[{ii}].code")
        ind_codes = {i.code for i in cat.indicators}
        for ii, item in enumerate(cat.items):
            there = f"{here}.items[{ii}]"
            unique("内容编码", item.code, there + ".code")
            if item.indicator and item.indicator not in ind_codes:
                found.append((there + ".indicator", f"指标编码“{item.indicator}”不在本测评项目的指标中"))
            for si, s in enumerate(item.standards):
                at = f"{there}.standards[{si}]"
                unique("标准编码", s.code, at + ".code")
                if s.deadline_days is not None and s.deadline_days > MAX_DEADLINE_DAYS:
                    found.append((at + ".deadline_days", f"整改天数不能超过 {MAX_DEADLINE_DAYS} 天"))
                if known_point_types is not None:
                    for pi, p in enumerate(s.point_types):
                        if p not in types:
                            found.append((f"{at}.point_types[{pi}]", f"点位类型“{p}”不在点位类型中"))
                if known_units is not None:
                    if s.lead_unit and s.lead_unit not in units:
                        found.append((f"{at}.lead_unit", f"牵头单位“{s.lead_unit}”不在单位名录中"))
                    for ui, u in enumerate(s.supporting_units):
                        if u not in units:
                            found.append((f"{at}.supporting_units[{ui}]", f"配合单位“{u}”不在单位名录中"))
    return found


class _Dumper(yaml.SafeDumper):
    """Block style, with multi-line text (instructions, descriptions) written as literal blocks."""


_Dumper.add_representer(
    str,
    lambda dumper, value: dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|" if "\n" in value else None),
)


def write_text(index: EvaluationIndex, path: str | Path) -> None:
    """The index as YAML (block style, Chinese as is, defaults left out)."""
    data = index.model_dump(mode="json", exclude_defaults=True)
    text = yaml.dump(data, Dumper=_Dumper, allow_unicode=True, sort_keys=False, default_flow_style=False)
    Path(path).write_text(f"# 测评体系：{index.title}\n" + text, encoding="utf-8")


# libyaml's safe loader when PyYAML has it (its wheels do): the pure-Python one took 0.8 of the sample index's 1.3 s
# import (benchmarks/, issue 7). Both build the same plain data and report errors by line and column.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def read_text(
    path: str | Path,
    *,
    known_units: Iterable[str] | None = None,
    known_point_types: Iterable[str] | None = None,
) -> EvaluationIndex:
    """Read an index from YAML. Raises WorkbookInvalid with problems located by field path
    (``categories[2].items[0].standards[3].full_marks``) or, for syntax errors, by line and column."""
    problems = Problems(path)
    try:
        text = Path(path).read_text(encoding="utf-8")
        data = yaml.load(text, Loader=_YAML_LOADER)
    except (OSError, UnicodeDecodeError) as e:
        raise WorkbookInvalid([Problem(problems.file, None, None, None, f"无法读取文件：{e}")]) from e
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        row, col = (mark.line + 1, mark.column + 1) if mark else (None, None)
        problems.add(None, row, col, f"YAML 格式错误：{getattr(e, 'problem', None) or e}")
        problems.raise_if_any()
    if not isinstance(data, dict):
        problems.add(None, None, None, "文件内容应为一个测评体系（键值映射）")
        problems.raise_if_any()
    data = _clean_strings(data)
    _labels_to_values(data)
    try:
        index = EvaluationIndex.model_validate(data)
    except ValidationError as e:
        for err in e.errors():
            problems.add(_loc(err["loc"]), None, None, _error_message(err))
        problems.raise_if_any()
    for where, message in check_index(index, known_units=known_units, known_point_types=known_point_types):
        problems.add(where, None, None, message)
    problems.raise_if_any()
    return index


# --- dispatch and store ------------------------------------------------------------------------

EXCEL_SUFFIXES = (".xlsx", ".xlsm")
TEXT_SUFFIXES = (".yaml", ".yml")


def _unsupported(path: Path) -> WorkbookInvalid:
    return WorkbookInvalid(
        [Problem(path.name, None, None, None, f"不支持的文件类型“{path.suffix}”，请使用 .xlsx 或 .yaml 文件")]
    )


def read_index(
    path: str | Path,
    *,
    known_units: Iterable[str] | None = None,
    known_point_types: Iterable[str] | None = None,
    existing_units: Sequence[Unit] = (),
) -> IndexFile:
    """Read an index from .xlsx (``read_workbook``) or .yaml/.yml (``read_text``)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        return read_workbook(
            path, known_units=known_units, known_point_types=known_point_types, existing_units=existing_units
        )
    if suffix in TEXT_SUFFIXES:
        known = None if known_units is None else {*known_units, *(u.name for u in existing_units)}
        return IndexFile(read_text(path, known_units=known, known_point_types=known_point_types))
    raise _unsupported(path)


def write_index(index: EvaluationIndex, path: str | Path, *, units: Sequence[Unit] | None = None) -> None:
    """Write an index as .xlsx (with ``units`` in its 单位 sheet) or .yaml/.yml."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in EXCEL_SUFFIXES:
        write_workbook(index, path, units=units)
    elif suffix in TEXT_SUFFIXES:
        write_text(index, path)
    else:
        raise _unsupported(path)


def import_index(
    engine: sa.Engine, actor: Actor, path: str | Path, *, replace: bool = False
) -> tuple[int, EvaluationIndex]:
    """Validate an index file against the store and store it (with the units of its 单位 sheet) in one
    transaction, as ``actor`` (who must be allowed to manage indexes). Raises WorkbookInvalid (or StoreError,
    e.g. the same name and version already stored, unless ``replace``); nothing is stored then.
    Returns (index id, the index as stored)."""
    require(actor, Action.manage_index)
    with audit.writing(engine, actor, context=f"导入测评体系 {Path(path).name}") as conn:
        existing = repo.list_units(conn)
        store_types = repo.list_point_types(conn)
        found = read_index(
            path,
            known_units={u.name for u in existing},
            known_point_types={t.name for t in store_types},
            existing_units=existing,
        )
        index = found.index
        declared = {t.name for t in index.point_types}
        used = {p for _, _, s in index.standards() for p in s.point_types}
        extra = [t for t in store_types if t.name in used - declared]
        if extra:  # types the index uses from the register: record them with the index
            index = index.model_copy(update={"point_types": [*index.point_types, *extra]})
        if found.units:
            repo.save_units(conn, found.units)
        index_id = repo.save_index(conn, index, replace=replace)
    return index_id, index


def export_index(engine: sa.Engine, actor: Actor, index_id: int, path: str | Path) -> EvaluationIndex:
    """Write a stored index as .xlsx (its 单位 sheet holding the units it names, and their parents) or .yaml."""
    require(actor, Action.view_index)
    with engine.connect() as conn:
        index = repo.load_index(conn, index_id)
        all_units = repo.list_units(conn)
    by_name = {u.name: u for u in all_units}
    wanted = {n for _, _, s in index.standards() for n in [s.lead_unit, *s.supporting_units] if n}
    todo = list(wanted)
    while todo:
        parent = by_name[todo.pop()].parent
        if parent and parent not in wanted:
            wanted.add(parent)
            todo.append(parent)
    write_index(index, path, units=[u for u in all_units if u.name in wanted])
    return index


# --- reading stored indexes (what the app calls) -----------------------------------------------


def stored_indexes(conn: sa.Connection, actor: Actor) -> list[repo.IndexInfo]:
    require(actor, Action.view_index)
    return repo.list_indexes(conn)


def stored_index(conn: sa.Connection, actor: Actor, index_id: int) -> EvaluationIndex:
    require(actor, Action.view_index)
    return repo.load_index(conn, index_id)


def delete_index(engine: sa.Engine, actor: Actor, index_id: int, *, reason: str = "") -> None:
    require(actor, Action.manage_index)
    with audit.writing(engine, actor, context=f"删除测评体系 {index_id}", reason=reason) as conn:
        repo.delete_index(conn, index_id)
