"""The vocabulary of DOMAIN.md as pydantic models.

Models refer to units and point types by name, as the workbooks people write do; the store keeps ids.

Names follow DOMAIN.md ("Words for the code"); every enum carries its Chinese label so that
import, export and the interface speak the same words.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class LabelledEnum(StrEnum):
    """A str enum whose members have a Chinese label (``.label``) and accepted synonyms."""

    @property
    def label(self) -> str:
        return _LABELS[type(self).__name__][self.value][0]

    @classmethod
    def labels(cls) -> list[str]:
        return [m.label for m in cls]

    @classmethod
    def parse(cls, text: str) -> LabelledEnum | None:
        """The member named by a label, a synonym or the English value; None when unknown."""
        key = text.strip().lower()
        for member in cls:
            if key == member.value or key in (s.lower() for s in _LABELS[cls.__name__][member.value]):
                return member
        return None


class Method(LabelledEnum):
    field = "field"
    materials = "materials"
    survey = "survey"
    simulation = "simulation"


class ScoringMode(LabelledEnum):
    pass_fail = "pass_fail"
    graded = "graded"
    deduction = "deduction"


class Responsibility(LabelledEnum):
    custodian = "custodian"  # 属地/包保: the point's custodian unit answers
    lead = "lead"  # 行业: the standard's lead unit answers


class Veto(LabelledEnum):
    none = "none"
    zero_item = "zero_item"
    alert = "alert"


class Severity(LabelledEnum):
    immediate = "immediate"
    urgent = "urgent"
    normal = "normal"
    serious = "serious"
    complex = "complex"


class Role(LabelledEnum):
    admin = "admin"
    inspector = "inspector"
    liaison = "liaison"
    coordinator = "coordinator"
    leader = "leader"


class UnitKind(LabelledEnum):
    department = "department"
    street = "street"
    town = "town"
    community = "community"
    work_group = "work_group"
    other = "other"


# value -> (label, synonyms...). The first entry is the label shown and exported.
_LABELS: dict[str, dict[str, tuple[str, ...]]] = {
    "Method": {
        "field": ("实地考察", "实地", "实地测评", "实地察看"),
        "materials": ("材料审核", "网上申报", "材料", "网上材料审核", "资料审核"),
        "survey": ("问卷调查", "问卷", "入户调查"),
        "simulation": ("模拟测试", "电话测试", "电话调查", "实景模拟", "电话/实景模拟", "暗访测试"),
    },
    "ScoringMode": {
        "pass_fail": ("符合/不符合", "符合不符合", "是否符合", "达标/不达标", "二值"),
        "graded": ("等级", "等级评定", "ABCD", "A/B/C/D"),
        "deduction": ("扣分", "按处扣分", "每处扣分"),
    },
    "Responsibility": {
        "custodian": ("属地", "包保", "属地/包保", "点位包保单位"),
        "lead": ("行业", "牵头单位", "行业主管"),
    },
    "Veto": {
        "none": ("否", "无", "不否决"),
        "zero_item": ("本项归零", "是", "一票否决", "归零"),
        "alert": ("专项预警", "预警"),
    },
    "Severity": {
        "immediate": ("立行立改", "立即", "当日"),
        "urgent": ("紧急",),
        "normal": ("一般",),
        "serious": ("较重", "较难"),
        "complex": ("复杂", "长期"),
    },
    "Role": {
        "admin": ("办公室管理员", "管理员", "创文办"),
        "inspector": ("测评员", "督查员", "检查员"),
        "liaison": ("单位联络员", "联络员"),
        "coordinator": ("街道协调员", "协调员", "街道"),
        "leader": ("领导", "指挥部领导", "分管领导"),
    },
    "UnitKind": {
        "department": ("部门", "县直部门", "市直部门", "单位"),
        "street": ("街道",),
        "town": ("镇", "乡镇", "乡"),
        "community": ("社区", "村", "村居", "社区/村"),
        "work_group": ("工作组", "专项组", "组"),
        "other": ("其他",),
    },
}


def register_labels(enum_name: str, labels: dict[str, tuple[str, ...]]) -> None:
    """Give a LabelledEnum defined in another module its labels (value -> (label, synonyms...))."""
    _LABELS[enum_name] = labels


# Default rectification deadline in days for each severity (configurable per deployment; a
# standard may also override it with its own deadline_days).
DEFAULT_DEADLINE_DAYS: dict[Severity, int] = {
    Severity.immediate: 0,
    Severity.urgent: 2,
    Severity.normal: 3,
    Severity.serious: 7,
    Severity.complex: 15,
}

# Graded scoring: share of full marks for each grade.
GRADE_FACTORS: dict[str, float] = {"A": 1.0, "B": 0.66, "C": 0.33, "D": 0.0}


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", use_enum_values=False)


class PointType(_Model):
    code: str
    name: str
    description: str = ""


class Standard(_Model):
    """测评标准: the unit that gets scored."""

    code: str
    text: str
    methods: list[Method] = Field(min_length=1)
    full_marks: float = Field(ge=0)
    scoring_mode: ScoringMode = ScoringMode.pass_fail
    per_instance: float | None = Field(default=None, ge=0)  # deduction per problem instance
    cap: float | None = Field(default=None, ge=0)  # most that deductions may take off
    point_types: list[str] = Field(default_factory=list)  # point type names
    lead_unit: str | None = None  # unit name
    supporting_units: list[str] = Field(default_factory=list)
    responsibility: Responsibility = Responsibility.custodian
    veto: Veto = Veto.none
    instructions: str = ""  # 操作提示
    severity: Severity = Severity.normal
    deadline_days: int | None = Field(default=None, ge=0)  # overrides the severity's default

    @model_validator(mode="after")
    def _check(self) -> Standard:
        if self.scoring_mode is ScoringMode.deduction and (self.per_instance is None or self.cap is None):
            raise ValueError("扣分方式须填写每处扣分和扣分上限")
        if Method.field in self.methods and not self.point_types:
            raise ValueError("实地考察标准须填写点位类型")
        return self

    @property
    def is_field(self) -> bool:
        return Method.field in self.methods

    def default_deadline_days(self, table: dict[Severity, int] | None = None) -> int:
        if self.deadline_days is not None:
            return self.deadline_days
        return (table or DEFAULT_DEADLINE_DAYS)[self.severity]


class Item(_Model):
    """测评内容."""

    code: str
    name: str
    indicator: str | None = None  # code of the indicator it sits under, if any
    standards: list[Standard] = Field(min_length=1)


class Indicator(_Model):
    """测评指标: an optional level between category and item."""

    code: str
    name: str


class Category(_Model):
    """测评项目."""

    code: str
    name: str
    indicators: list[Indicator] = Field(default_factory=list)
    items: list[Item] = Field(min_length=1)


class EvaluationIndex(_Model):
    """测评体系: one named, versioned edition (county edition, prefecture edition, a city's own)."""

    name: str
    version: str
    year: int
    edition: str = ""  # e.g. 县级 / 地级 / 自定义
    description: str = ""
    point_types: list[PointType] = Field(default_factory=list)
    categories: list[Category] = Field(min_length=1)

    @field_validator("name", "version")
    @classmethod
    def _not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("不能为空")
        return v.strip()

    def standards(self) -> list[tuple[Category, Item, Standard]]:
        return [(c, i, s) for c in self.categories for i in c.items for s in i.standards]

    def standard(self, code: str) -> Standard | None:
        return next((s for _, _, s in self.standards() if s.code == code), None)

    @property
    def title(self) -> str:
        return f"{self.name}（{self.version}）"


class Unit(_Model):
    """单位: department, street/town, community or work group."""

    code: str
    name: str
    kind: UnitKind = UnitKind.department
    parent: str | None = None  # parent unit name
    contact: str = ""
    phone: str = ""
    active: bool = True


class Point(_Model):
    """点位: a field inspection point in the register."""

    code: str
    name: str
    point_type: str  # point type name
    street: str | None = None  # street/town unit name (属地)
    address: str = ""
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    custodian_unit: str | None = None  # unit name (包保单位)
    road_chief_unit: str | None = None  # unit name (路长单位)
    owner_leader: str = ""  # the city leader who "owns" the point
    active: bool = True


class Grant(_Model):
    """A role held city-wide (scope None) or within one unit (a street/town for a coordinator, a unit for a liaison)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    role: Role
    scope: str | None = None  # unit name

    @property
    def label(self) -> str:
        return f"{self.role.label}（{self.scope}）" if self.scope else self.role.label


class Actor(_Model):
    """Who is acting: a logged-in user with their grants, or the system (user_id None: CLI, demo, import jobs)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: int | None
    username: str
    display_name: str = ""
    grants: tuple[Grant, ...] = ()

    @classmethod
    def system(cls, what: str) -> Actor:
        """The system acting on an operator's command: holds the administrator's rights."""
        return cls(
            user_id=None, username=f"system:{what}", display_name=f"系统（{what}）", grants=(Grant(role=Role.admin),)
        )

    @property
    def name(self) -> str:
        return self.display_name or self.username

    def roles(self) -> set[Role]:
        return {g.role for g in self.grants}

    def scopes(self, role: Role) -> list[str | None]:
        return [g.scope for g in self.grants if g.role is role]


# --- rounds, sampling, observations (issue 4) ---------------------------------------------------


class RoundKind(LabelledEnum):
    mock = "mock"
    patrol = "patrol"
    unannounced = "unannounced"
    reinspection = "reinspection"


class RoundStatus(LabelledEnum):
    planned = "planned"
    in_progress = "in_progress"
    closed = "closed"


class Result(LabelledEnum):
    """An inspector's answer for one standard: pass/fail/not applicable, or a grade; a deduction standard's
    answer is a count of problem instances (result pass when 0, fail otherwise)."""

    passed = "pass"
    failed = "fail"
    na = "na"
    A = "A"
    B = "B"
    C = "C"
    D = "D"


register_labels(
    "RoundKind",
    {
        "mock": ("模拟测评", "模拟"),
        "patrol": ("日常督查", "督查", "巡查"),
        "unannounced": ("暗访", "神秘人"),
        "reinspection": ("复查",),
    },
)
register_labels(
    "RoundStatus",
    {
        "planned": ("计划中", "未开始"),
        "in_progress": ("进行中",),
        "closed": ("已结束", "已关闭"),
    },
)
register_labels(
    "Result",
    {
        "pass": ("符合", "合格", "通过", "是"),
        "fail": ("不符合", "不合格", "否"),
        "na": ("不适用", "无此项"),
        "A": ("A", "优"),
        "B": ("B", "良"),
        "C": ("C", "中"),
        "D": ("D", "差"),
    },
)


class Quota(_Model):
    """How many points of one point type to draw: a count, or a share of that type's eligible points."""

    point_type: str
    count: int | None = Field(default=None, ge=0)
    share: float | None = Field(default=None, ge=0, le=1)

    @model_validator(mode="after")
    def _one(self) -> Quota:
        if (self.count is None) == (self.share is None):
            raise ValueError("每类点位须且只须指定抽取数量或比例之一")
        return self


class SamplePlan(_Model):
    """抽样方案: quotas per point type, stratified by street; optional exclusions and fixed points."""

    quotas: list[Quota] = Field(min_length=1)
    seed: int
    streets: list[str] = Field(default_factory=list)  # limit to these streets/towns; empty = all
    exclude_last_rounds: int = Field(default=0, ge=0)  # leave out points drawn in the last N rounds
    fixed_points: list[str] = Field(default_factory=list)  # point codes always included


class Answer(_Model):
    """What an inspector records for one standard at one point (or for one unit, for materials review)."""

    result: Result
    instances: int | None = Field(default=None, ge=0)  # deduction standards: problem instances seen
    note: str = ""


# --- findings (issue 5) -------------------------------------------------------------------------


class FindingStatus(LabelledEnum):
    assigned = "assigned"
    in_progress = "in_progress"
    submitted = "submitted"
    closed = "closed"
    long_term = "long_term"
    voided = "voided"


class FindingSource(LabelledEnum):
    round = "round"
    patrol = "patrol"
    unannounced = "unannounced"
    hotline = "hotline"
    snapshot = "snapshot"
    leader = "leader"
    suggestion = "suggestion"
    other = "other"


register_labels(
    "FindingStatus",
    {
        "assigned": ("已交办", "待整改"),
        "in_progress": ("整改中",),
        "submitted": ("待复查", "已提交"),
        "closed": ("已销号", "已整改"),
        "long_term": ("长效整改",),
        "voided": ("已作废",),
    },
)
register_labels(
    "FindingSource",
    {
        "round": ("测评发现", "模拟测评"),
        "patrol": ("日常督查", "督查"),
        "unannounced": ("暗访",),
        "hotline": ("市民热线", "热线", "12345"),
        "snapshot": ("随手拍",),
        "leader": ("领导督办", "领导检查"),
        "suggestion": ("意见建议", "群众意见建议"),
        "other": ("其他",),
    },
)
