"""How the pages word things: Chinese labels, formatted values and table rows (no Streamlit here).

Field labels are shared with the editing forms (civeval.editing) so that an error names a field
exactly as the table heading does.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from civeval.lookup import Row, Workload, units_for_standard
from civeval.models import (
    GRADE_FACTORS,
    Category,
    EvaluationIndex,
    Item,
    Point,
    ScoringMode,
    Standard,
    Unit,
)

NONE = "—"  # shown for an empty value

POINT_LABELS: dict[str, str] = {
    "code": "点位编号",
    "name": "点位名称",
    "point_type": "点位类型",
    "street": "所属街道/镇",
    "address": "地址",
    "custodian_unit": "包保单位",
    "road_chief_unit": "路长单位",
    "owner_leader": "责任领导",
    "lat": "纬度",
    "lon": "经度",
    "active": "启用",
}

UNIT_LABELS: dict[str, str] = {
    "code": "单位编号",
    "name": "单位名称",
    "kind": "单位类型",
    "parent": "上级单位",
    "contact": "联系人",
    "phone": "联系电话",
    "active": "启用",
}

POINT_ROLE_LABELS: dict[str, str] = {"custodian": "包保", "road_chief": "路长", "street": "属地"}


def marks(x: float | None) -> str:
    """A mark without a useless ``.0``: 2.0 → "2", 0.5 → "0.5"."""
    if x is None:
        return NONE
    return f"{x:g}"


def join(names: Iterable[str | None]) -> str:
    names = [n for n in names if n]
    return "、".join(names) if names else NONE


def scoring_text(s: Standard) -> str:
    """计分方式 in words, with the per-instance deduction and the cap."""
    if s.scoring_mode is ScoringMode.deduction:
        return f"{s.scoring_mode.label}：每处扣 {marks(s.per_instance)} 分，最多扣 {marks(s.cap)} 分"
    if s.scoring_mode is ScoringMode.graded:
        grades = "、".join(f"{g} {round(f * 100)}%" for g, f in GRADE_FACTORS.items())
        return f"{s.scoring_mode.label}（{grades}）"
    return s.scoring_mode.label


def marks_line(s: Standard) -> str:
    """Full marks and how they are scored, in one short line for a scoring sheet."""
    full = f"{s.full_marks:g} 分"
    if s.scoring_mode is ScoringMode.deduction:
        return f"{full} · 每处扣 {s.per_instance:g} 分，最多扣 {s.cap:g} 分"
    if s.scoring_mode is ScoringMode.graded:
        return f"{full} · 等级 " + "/".join(f"{g} {f:.0%}" for g, f in GRADE_FACTORS.items())
    return f"{full} · 符合/不符合"


def deadline_text(s: Standard) -> str:
    """整改时限: the severity and the deadline in days (当日 for zero)."""
    days = s.default_deadline_days()
    when = "当日整改" if days == 0 else f"{days} 天内整改"
    own = "（本标准另定）" if s.deadline_days is not None else ""
    return f"{s.severity.label}：{when}{own}"


def methods_text(s: Standard) -> str:
    return "、".join(m.label for m in s.methods)


def indicator_of(category: Category, item: Item) -> str | None:
    if not item.indicator:
        return None
    return next((i.name for i in category.indicators if i.code == item.indicator), item.indicator)


def path_text(category: Category, item: Item) -> str:
    """测评项目 › 指标 › 测评内容."""
    parts = [f"{category.code} {category.name}", indicator_of(category, item), f"{item.code} {item.name}"]
    return " › ".join(p for p in parts if p)


def standard_details(category: Category, item: Item, s: Standard) -> list[tuple[str, str]]:
    """Every field of a standard (DOMAIN.md's table), labelled in Chinese, in reading order."""
    who = units_for_standard(s)
    return [
        ("标准编号", s.code),
        ("测评标准", s.text),
        ("所属", path_text(category, item)),
        ("测评方式", methods_text(s)),
        ("分值", f"{marks(s.full_marks)} 分"),
        ("计分方式", scoring_text(s)),
        ("点位类型", join(s.point_types)),
        ("牵头单位", who.lead or NONE),
        ("配合单位", join(who.supporting)),
        ("责任归属", f"{s.responsibility.label}（{_responsibility_hint(s)}）"),
        ("一票否决", s.veto.label),
        ("操作提示", s.instructions or NONE),
        ("整改时限", deadline_text(s)),
    ]


def _responsibility_hint(s: Standard) -> str:
    if s.responsibility.value == "custodian":
        return "问题交点位包保单位整改"
    return "问题交牵头单位整改"


def standard_line(category: Category, item: Item, s: Standard) -> str:
    """One standard as a line of Markdown that wraps on a narrow screen: code, text, then marks, methods, item."""
    return f"**{s.code}**　{s.text}　:gray[{marks(s.full_marks)} 分 · {methods_text(s)} · {item.code} {item.name}]"


def standard_list(rows: Iterable[Row]) -> str:
    """Standards as a Markdown bullet list (see standard_line)."""
    return "\n".join(f"- {standard_line(c, i, s)}" for c, i, s in rows)


def workload_rows(loads: Iterable[Workload]) -> list[dict[str, object]]:
    return [
        {
            "单位": w.unit,
            "牵头标准数": w.lead_count,
            "牵头分值": w.lead_marks,
            "配合标准数": w.support_count,
            "配合分值": w.support_marks,
        }
        for w in loads
    ]


def point_rows(points: Iterable[Point]) -> list[dict[str, object]]:
    """Points as table rows keyed by POINT_LABELS (the editing table reads the same keys back)."""
    return [
        {
            POINT_LABELS["code"]: p.code,
            POINT_LABELS["name"]: p.name,
            POINT_LABELS["point_type"]: p.point_type,
            POINT_LABELS["street"]: p.street,
            POINT_LABELS["address"]: p.address,
            POINT_LABELS["custodian_unit"]: p.custodian_unit,
            POINT_LABELS["road_chief_unit"]: p.road_chief_unit,
            POINT_LABELS["owner_leader"]: p.owner_leader,
            POINT_LABELS["lat"]: p.lat,
            POINT_LABELS["lon"]: p.lon,
            POINT_LABELS["active"]: p.active,
        }
        for p in points
    ]


def point_table(points: Iterable[Point]) -> list[dict[str, object]]:
    """Points as rows of a read-only table: no empty-value placeholders, coordinates as one column."""
    return [
        {
            POINT_LABELS["code"]: p.code,
            POINT_LABELS["name"]: p.name,
            POINT_LABELS["point_type"]: p.point_type,
            POINT_LABELS["street"]: p.street or "",
            POINT_LABELS["custodian_unit"]: p.custodian_unit or "",
            POINT_LABELS["address"]: p.address,
            POINT_LABELS["road_chief_unit"]: p.road_chief_unit or "",
            POINT_LABELS["owner_leader"]: p.owner_leader,
            "经纬度": f"{p.lat:.5f}, {p.lon:.5f}" if p.lat is not None and p.lon is not None else "未填",
            POINT_LABELS["active"]: "是" if p.active else "停用",
        }
        for p in points
    ]


def unit_rows(units: Iterable[Unit]) -> list[dict[str, object]]:
    """Units as table rows keyed by UNIT_LABELS (empty parent as "")."""
    return [
        {
            UNIT_LABELS["code"]: u.code,
            UNIT_LABELS["name"]: u.name,
            UNIT_LABELS["kind"]: u.kind.label,
            UNIT_LABELS["parent"]: u.parent or "",
            UNIT_LABELS["contact"]: u.contact,
            UNIT_LABELS["phone"]: u.phone,
            UNIT_LABELS["active"]: "是" if u.active else "停用",
        }
        for u in units
    ]


# --- the index as a tree -----------------------------------------------------------------------


@dataclass
class ItemNode:
    item: Item
    standards: list[Standard] = field(default_factory=list)

    @property
    def full_marks(self) -> float:
        return sum(s.full_marks for s in self.standards)


@dataclass
class IndicatorNode:
    name: str | None  # None: items that sit directly under the category
    items: list[ItemNode] = field(default_factory=list)


@dataclass
class CategoryNode:
    category: Category
    groups: list[IndicatorNode] = field(default_factory=list)

    @property
    def n_standards(self) -> int:
        return sum(len(i.standards) for g in self.groups for i in g.items)

    @property
    def full_marks(self) -> float:
        return sum(i.full_marks for g in self.groups for i in g.items)


def tree(rows: Iterable[Row]) -> list[CategoryNode]:
    """Group (category, item, standard) rows into category → indicator → item → standards, keeping their order."""
    cats: dict[str, CategoryNode] = {}
    groups: dict[tuple[str, str | None], IndicatorNode] = {}
    items: dict[tuple[str, str], ItemNode] = {}
    for category, item, s in rows:
        cnode = cats.get(category.code)
        if cnode is None:
            cnode = cats[category.code] = CategoryNode(category)
        ind = indicator_of(category, item)
        gnode = groups.get((category.code, ind))
        if gnode is None:
            gnode = groups[(category.code, ind)] = IndicatorNode(ind)
            cnode.groups.append(gnode)
        inode = items.get((category.code, item.code))
        if inode is None:
            inode = items[(category.code, item.code)] = ItemNode(item)
            gnode.items.append(inode)
        inode.standards.append(s)
    return list(cats.values())


def index_summary(index: EvaluationIndex) -> dict[str, object]:
    """Counts shown above the browser: categories, items, standards, full marks, field standards."""
    standards = [s for _, _, s in index.standards()]
    return {
        "测评项目": len(index.categories),
        "测评内容": sum(len(c.items) for c in index.categories),
        "测评标准": len(standards),
        "总分值": sum(s.full_marks for s in standards),
        "实地考察标准": sum(1 for s in standards if s.is_field),
    }
