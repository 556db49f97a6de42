"""Questionnaires (问卷调查): definitions tied to the index's survey standards, answers imported from the
spreadsheets online survey tools export (问卷星, 腾讯问卷) or entered from paper on a tablet, and the rates of
DOMAIN.md ("Survey definitions the product uses") with quota coverage by street, community and unit.

Definitions (the figures every page, export and the CLI show):

- A questionnaire's questions are of five kinds: 知晓 (awareness), 支持 (support), 参与 (participation), 满意度
  (satisfaction) and 其他 (free, not scored). A scored question may name the index standard it measures (a standard
  whose methods include 问卷调查).
- 知晓率 / 支持率 / 参与率 = answers counted as yes ÷ answers given, over the valid questionnaires' answers to the
  questions of that kind. A question left blank is left out of that question's denominator (it is neither yes nor
  no). The yes answers are configured per question (default: 是、知道、支持、参与过、参加过、了解、有).
- 满意度 = the mean score of the valid questionnaires' answers to satisfaction questions, scored 满意 100, 基本满意 60,
  不满意 0 unless the questionnaire configures other scores (0–100). An answer without a score (a "说不清" choice)
  and a blank are left out.
- A questionnaire (one respondent) is 无效 (kept, listed with its reason, never counted) when it answers fewer than
  half of the scored questions (``MIN_ANSWERED_SHARE``), when it was answered outside the survey's dates, or when
  someone voided it. Everything else is valid.
- Coverage = valid questionnaires ÷ quota; quota = ⌈population × share⌉ of that street, town, community or unit.
  Default shares (``DEFAULT_SHARES``): towns 40%, urban streets 60%, a community its street's or town's share,
  every other unit 100% of its staff; a population row may set its own share. A questionnaire counts for every
  group it names (its street, its community, its unit).
- Overall coverage = all valid questionnaires ÷ the sum of the quotas of streets, towns and units (communities are
  inside their streets and are not added again).

Imports are all or nothing. A file with a problem that must be fixed before it can be counted (a street, community
or unit not in the register, an answer that is not one of the question's choices, a bad time, a duplicate respondent
number, a mapping that names a column twice) is refused with every problem located (``文件:工作表:R行:C列: 原因``).
A respondent with too few answers is not a problem of the file: the questionnaire is stored as 无效问卷. A second
import of the same export skips the respondents already stored (by the tool's respondent number, or, when the file
has none, by the row's content).
"""

from __future__ import annotations

import codecs
import csv
import dataclasses
import datetime as dt
import difflib
import hashlib
import io
import json
import math
import re
import tempfile
import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import openpyxl
import sqlalchemy as sa
import xlsxwriter
from pydantic import BaseModel, ConfigDict, Field

from civeval import audit
from civeval.models import Actor, EvaluationIndex, LabelledEnum, Method, UnitKind, register_labels
from civeval.permissions import Action, PermissionDenied, allowed, reach, require
from civeval.registers import unit_subtree
from civeval.store import repo
from civeval.store import schema as t
from civeval.workbook import (
    Book,
    Choice,
    Column,
    Problem,
    Problems,
    WorkbookInvalid,
    Writer,
    clean,
    match_key,
    parse_number,
)

# --- vocabulary and defaults (the one place for them) ----------------------------------------------------------------


class QuestionKind(LabelledEnum):
    awareness = "awareness"
    support = "support"
    participation = "participation"
    satisfaction = "satisfaction"
    free = "free"


class RespondentKind(LabelledEnum):
    resident = "resident"
    staff = "staff"


register_labels(
    "QuestionKind",
    {
        "awareness": ("知晓", "知晓率", "知晓题", "知晓度"),
        "support": ("支持", "支持率", "支持题"),
        "participation": ("参与", "参与率", "参与题"),
        "satisfaction": ("满意度", "满意", "满意率", "满意度题"),
        "free": ("其他", "其它", "开放题", "自由题"),
    },
)
register_labels(
    "RespondentKind",
    {
        "resident": ("居民", "市民", "群众", "村民", "住户"),
        "staff": ("职工", "干部职工", "单位职工", "机关事业单位职工", "工作人员", "干部"),
    },
)

RATE_KINDS = (QuestionKind.awareness, QuestionKind.support, QuestionKind.participation)
SCORED_KINDS = (*RATE_KINDS, QuestionKind.satisfaction)
RATE_LABELS = {
    QuestionKind.awareness: "知晓率",
    QuestionKind.support: "支持率",
    QuestionKind.participation: "参与率",
    QuestionKind.satisfaction: "满意度",
}

DEFAULT_SATISFACTION_SCORES: dict[str, float] = {"满意": 100.0, "基本满意": 60.0, "不满意": 0.0}
DEFAULT_YES_VALUES = ("是", "知道", "支持", "参与过", "参加过", "了解", "有")
DEFAULT_CHOICES: dict[QuestionKind, tuple[str, ...]] = {
    QuestionKind.awareness: ("知道", "不知道"),
    QuestionKind.support: ("支持", "不支持"),
    QuestionKind.participation: ("参与过", "没有参与过"),
    QuestionKind.satisfaction: tuple(DEFAULT_SATISFACTION_SCORES),
    QuestionKind.free: (),
}
# Share of a population that must answer (the quota), by the kind of unit; see default_share().
DEFAULT_SHARES: dict[UnitKind, float] = {UnitKind.street: 0.60, UnitKind.town: 0.40}
STAFF_SHARE = 1.0  # every unit that is not a street, town or community: its staff
AREA_KINDS = (UnitKind.street, UnitKind.town)
MIN_ANSWERED_SHARE = 0.5  # a questionnaire answering fewer of its scored questions than this is 无效问卷

LEVELS = ("street", "community", "unit")
LEVEL_LABELS = {"street": "街道（镇）", "community": "社区（村）", "unit": "单位"}

DEFINITIONS: tuple[tuple[str, str], ...] = (
    (
        "知晓率、支持率、参与率",
        "有效问卷中该类题目的回答里，答“是”（如知道、支持、参与过）的比例；某题未答不计入该题分母。",
    ),
    ("满意度", "有效问卷中满意度题回答的平均分：满意 100、基本满意 60、不满意 0（分值可按问卷设置）；未答不计。"),
    ("无效问卷", "计分题答了不到一半、答卷时间不在调查时间内或被作废的问卷：保留备查，不计入任何比率和覆盖率。"),
    (
        "覆盖率",
        "有效问卷数 ÷ 配额；配额 = ⌈人口 × 比例⌉。默认比例：镇 40%，城区街道 60%，社区（村）随所属街道（镇），"
        "单位按职工 100%。",
    ),
)


def default_share(kind: UnitKind, parent_kind: UnitKind | None = None) -> float:
    """The share of a unit's population its quota is, unless its population row sets one: towns 40%, urban streets
    60%, a community (or village) its street's (town's) share, any other unit 100% of its staff."""
    if kind in DEFAULT_SHARES:
        return DEFAULT_SHARES[kind]
    if kind is UnitKind.community:
        return DEFAULT_SHARES.get(parent_kind, DEFAULT_SHARES[UnitKind.street]) if parent_kind else 0.60
    return STAFF_SHARE


def quota_of(population: int | None, share: float | None) -> int | None:
    """⌈population × share⌉ (None without a population)."""
    if population is None or share is None:
        return None
    return math.ceil(population * share - 1e-9)


class SurveyError(Exception):
    """A questionnaire, answer or population the store refuses; ``messages`` lists every reason, in Chinese."""

    def __init__(self, messages: str | Sequence[str]):
        self.messages = [messages] if isinstance(messages, str) else list(messages)
        super().__init__("；".join(self.messages))


def _require_any(actor: Actor, *actions: Action) -> None:
    if not any(allowed(actor, a) for a in actions):
        require(actor, actions[0])


# --- definitions ----------------------------------------------------------------------------------------------------


class QuestionSpec(BaseModel):
    """One question as the office defines it."""

    model_config = ConfigDict(extra="forbid")

    code: str
    text: str
    kind: QuestionKind
    standard: str | None = None  # code of the index's survey standard it measures
    choices: list[str] = Field(default_factory=list)  # the answers offered, in order; empty: free text
    yes_values: list[str] | None = None  # answers counted as yes; None: the defaults found among the choices


class QuestionnaireSpec(BaseModel):
    """A questionnaire as the office defines it (what save_questionnaire stores)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    index_id: int | None = None
    round_id: int | None = None
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    satisfaction_scores: dict[str, float] | None = None  # None: DEFAULT_SATISFACTION_SCORES
    questions: list[QuestionSpec] = Field(default_factory=list)


@dataclass(frozen=True)
class Question:
    id: int
    position: int
    code: str
    text: str
    kind: QuestionKind
    standard: str | None
    choices: tuple[str, ...]
    yes_values: tuple[str, ...]

    @property
    def scored(self) -> bool:
        return self.kind in SCORED_KINDS

    @property
    def label(self) -> str:
        return f"{self.code} {self.text}"


@dataclass(frozen=True)
class Questionnaire:
    id: int
    name: str
    index_id: int | None
    round_id: int | None
    start_date: dt.date | None
    end_date: dt.date | None
    scores: dict[str, float]
    mapping: dict[str, str]
    created_at: dt.datetime
    created_by: str
    questions: tuple[Question, ...]

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)

    @property
    def scored_questions(self) -> list[Question]:
        return [q for q in self.questions if q.scored]

    def spec(self) -> QuestionnaireSpec:
        return QuestionnaireSpec(
            name=self.name,
            index_id=self.index_id,
            round_id=self.round_id,
            start_date=self.start_date,
            end_date=self.end_date,
            satisfaction_scores=dict(self.scores),
            questions=[
                QuestionSpec(
                    code=q.code,
                    text=q.text,
                    kind=q.kind,
                    standard=q.standard,
                    choices=list(q.choices),
                    yes_values=list(q.yes_values) if q.kind in RATE_KINDS else None,
                )
                for q in self.questions
            ],
        )


@dataclass(frozen=True)
class QuestionnaireInfo:
    id: int
    name: str
    round_id: int | None
    start_date: dt.date | None
    end_date: dt.date | None
    questions: int
    responses: int
    valid: int

    @property
    def title(self) -> str:
        return self.name


def list_questionnaires(conn: sa.Connection, actor: Actor) -> list[QuestionnaireInfo]:
    """Every questionnaire, newest first, with its counts of questions and (all, valid) questionnaires answered."""
    _require_any(actor, Action.view_scores, Action.enter_surveys, Action.manage_surveys)
    q, r = t.questionnaires, t.survey_responses
    nq = sa.select(sa.func.count()).select_from(t.survey_questions)
    nq = nq.where(t.survey_questions.c.questionnaire_id == q.c.id).scalar_subquery()
    nr = sa.select(sa.func.count()).select_from(r).where(r.c.questionnaire_id == q.c.id).scalar_subquery()
    nv = sa.select(sa.func.count()).select_from(r).where(r.c.questionnaire_id == q.c.id, r.c.valid.is_(True))
    rows = conn.execute(
        sa.select(q, nq.label("nq"), nr.label("nr"), nv.scalar_subquery().label("nv")).order_by(q.c.id.desc())
    ).mappings()
    return [
        QuestionnaireInfo(x["id"], x["name"], x["round_id"], x["start_date"], x["end_date"], x["nq"], x["nr"], x["nv"])
        for x in rows
    ]


def _load(conn: sa.Connection, questionnaire_id: int) -> Questionnaire:
    head = conn.execute(sa.select(t.questionnaires).where(t.questionnaires.c.id == questionnaire_id)).mappings().first()
    if head is None:
        raise SurveyError(f"问卷 {questionnaire_id} 不存在")
    qs = t.survey_questions
    rows = conn.execute(
        sa.select(qs, t.standards.c.code.label("standard_code"))
        .select_from(qs.outerjoin(t.standards, t.standards.c.id == qs.c.standard_id))
        .where(qs.c.questionnaire_id == questionnaire_id)
        .order_by(qs.c.position, qs.c.id)
    ).mappings()
    questions = tuple(
        Question(
            r["id"],
            r["position"],
            r["code"],
            r["text"],
            QuestionKind(r["kind"]),
            r["standard_code"],
            tuple(r["choices"] or ()),
            tuple(r["yes_values"] or ()),
        )
        for r in rows
    )
    scores = head["satisfaction_scores"] or DEFAULT_SATISFACTION_SCORES
    return Questionnaire(
        head["id"],
        head["name"],
        head["index_id"],
        head["round_id"],
        head["start_date"],
        head["end_date"],
        {str(k): float(v) for k, v in scores.items()},
        dict(head["column_mapping"] or {}),
        head["created_at"],
        head["created_by"],
        questions,
    )


def get_questionnaire(conn: sa.Connection, actor: Actor, questionnaire_id: int) -> Questionnaire:
    _require_any(actor, Action.view_scores, Action.enter_surveys, Action.manage_surveys)
    return _load(conn, questionnaire_id)


def find_questionnaire(conn: sa.Connection, ref: str) -> int:
    """A questionnaire named by id or by name (the CLI's ``--questionnaire``)."""
    rows = conn.execute(sa.select(t.questionnaires.c.id, t.questionnaires.c.name)).all()
    ref = ref.strip()
    for qid, name in rows:
        if name == ref or (ref.isdigit() and qid == int(ref)):
            return qid
    known = "；".join(f"{i}={n}" for i, n in rows) or "无"
    raise SurveyError(f"找不到问卷“{ref}”。已有：{known}")


def _survey_standards(conn: sa.Connection, index_id: int) -> dict[str, tuple[int, bool]]:
    """code -> (standard id, whether its methods include survey) for one index."""
    rows = conn.execute(
        sa.select(t.standards.c.code, t.standards.c.id, t.standards.c.methods).where(t.standards.c.index_id == index_id)
    ).all()
    return {code: (sid, Method.survey.value in (methods or [])) for code, sid, methods in rows}


def _yes_values(q: QuestionSpec, choices: list[str]) -> list[str]:
    if q.kind not in RATE_KINDS:
        return []
    if q.yes_values is None:
        return [c for c in choices if c in DEFAULT_YES_VALUES]
    return [clean(v, punctuation=False) for v in q.yes_values if clean(v, punctuation=False)]


def _check_spec(conn: sa.Connection, spec: QuestionnaireSpec, questionnaire_id: int | None) -> dict[str, Any]:
    """Every reason the spec cannot be stored (SurveyError), else what to store: the head row and question rows."""
    errors: list[str] = []
    name = clean(spec.name, punctuation=False)
    if not name:
        errors.append("问卷名称不能为空")
    elif len(name) > 200:
        errors.append("问卷名称不能超过 200 个字")
    else:
        other = conn.execute(sa.select(t.questionnaires.c.id).where(t.questionnaires.c.name == name)).scalar()
        if other is not None and other != questionnaire_id:
            errors.append(f"已有同名问卷“{name}”")
    index_id = spec.index_id
    if spec.round_id is not None:
        round_index = conn.execute(sa.select(t.rounds.c.index_id).where(t.rounds.c.id == spec.round_id)).scalar()
        if round_index is None:
            errors.append(f"测评轮次 {spec.round_id} 不存在")
        elif index_id is None:
            index_id = round_index
        elif index_id != round_index:
            errors.append("问卷的测评体系须与所属测评轮次的测评体系相同")
    standards: dict[str, tuple[int, bool]] | None = None  # None: no index to check against
    if index_id is not None:
        if conn.execute(sa.select(t.indexes.c.id).where(t.indexes.c.id == index_id)).scalar() is None:
            errors.append(f"测评体系 {index_id} 不存在")
        else:
            standards = _survey_standards(conn, index_id)
    if spec.start_date and spec.end_date and spec.end_date < spec.start_date:
        errors.append("调查结束日期不能早于开始日期")
    scores = dict(DEFAULT_SATISFACTION_SCORES if spec.satisfaction_scores is None else spec.satisfaction_scores)
    scores = {clean(k, punctuation=False): float(v) for k, v in scores.items() if clean(k, punctuation=False)}
    if not scores:
        errors.append("满意度分值不能为空（如 满意 100、基本满意 60、不满意 0）")
    for k, v in scores.items():
        if not 0 <= v <= 100:
            errors.append(f"满意度分值“{k}”须在 0 到 100 之间（填的是 {v:g}）")
    if not spec.questions:
        errors.append("问卷至少要有一道题")
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for n, q in enumerate(spec.questions, start=1):
        code = clean(q.code)
        where = f"第{n}题（{code}）" if code else f"第{n}题"
        text = clean(q.text, punctuation=False)
        if not code:
            errors.append(f"第{n}题的编号不能为空")
        elif len(code) > 32:
            errors.append(f"{where}的编号不能超过 32 个字符")
        elif match_key(code) in seen:
            errors.append(f"{where}的编号与第{seen[match_key(code)]}题重复")
        else:
            seen[match_key(code)] = n
        if not text:
            errors.append(f"{where}的题目不能为空")
        choices = [clean(c, punctuation=False) for c in q.choices if clean(c, punctuation=False)]
        if len({match_key(c) for c in choices}) != len(choices):
            errors.append(f"{where}的选项有重复")
        yes = _yes_values(q, choices)
        if q.kind in RATE_KINDS:
            if len(choices) < 2:
                errors.append(f"{where}是{q.kind.label}题，至少要有两个选项")
            elif not yes:
                errors.append(f"{where}没有计为“是”的选项（如 {'、'.join(DEFAULT_CHOICES[q.kind][:1])}）")
            elif any(v not in choices for v in yes):
                wrong = "、".join(v for v in yes if v not in choices)
                errors.append(f"{where}计为“是”的“{wrong}”不在选项中")
        if q.kind is QuestionKind.satisfaction:
            if len(choices) < 2:
                errors.append(f"{where}是满意度题，至少要有两个选项")
            elif not any(c in scores for c in choices):
                errors.append(f"{where}的选项没有一个有满意度分值（分值：{'、'.join(scores)}）")
        standard_id = None
        if q.standard and clean(q.standard):
            scode = clean(q.standard)
            if q.kind is QuestionKind.free:
                errors.append(f"{where}是其他题，不计分，不能对应测评标准")
            elif index_id is None:
                errors.append(f"{where}对应测评标准“{scode}”，但问卷没有选择测评体系")
            elif standards is None:
                pass  # the index itself is missing: reported above
            elif scode not in standards:
                errors.append(f"{where}对应的测评标准“{scode}”不在测评体系中")
            elif not standards[scode][1]:
                errors.append(f"{where}对应的测评标准“{scode}”的测评方式不含问卷调查")
            else:
                standard_id = standards[scode][0]
        rows.append(
            dict(
                position=n,
                code=code,
                text=text,
                kind=q.kind.value,
                standard_id=standard_id,
                choices=choices,
                yes_values=yes,
            )
        )
    if errors:
        raise SurveyError(errors)
    head = dict(
        name=name,
        index_id=index_id,
        round_id=spec.round_id,
        start_date=spec.start_date,
        end_date=spec.end_date,
        satisfaction_scores=scores,
    )
    return {"head": head, "questions": rows}


def save_questionnaire(
    engine: sa.Engine, actor: Actor, spec: QuestionnaireSpec, questionnaire_id: int | None = None
) -> int:
    """Create a questionnaire (``questionnaire_id`` None) or update one with its questions, matched by code: new
    codes are added, missing ones removed (refused while a questionnaire holds an answer to them). Raises
    SurveyError listing every problem. Returns the questionnaire's id."""
    require(actor, Action.manage_surveys)
    verb = "新建" if questionnaire_id is None else "修改"
    with audit.writing(engine, actor, context=f"{verb}问卷 {spec.name}"[:300]) as conn:
        todo = _check_spec(conn, spec, questionnaire_id)
        qt, qs = t.questionnaires, t.survey_questions
        if questionnaire_id is None:
            questionnaire_id = conn.execute(
                sa.insert(qt).values(**todo["head"], created_at=audit.now(), created_by=actor.username)
            ).inserted_primary_key[0]
            existing: dict[str, int] = {}
        else:
            if conn.execute(sa.select(qt.c.id).where(qt.c.id == questionnaire_id)).scalar() is None:
                raise SurveyError(f"问卷 {questionnaire_id} 不存在")
            conn.execute(sa.update(qt).where(qt.c.id == questionnaire_id).values(**todo["head"]))
            mine = qs.c.questionnaire_id == questionnaire_id
            existing = {code: x for code, x in conn.execute(sa.select(qs.c.code, qs.c.id).where(mine))}
        wanted = {r["code"] for r in todo["questions"]}
        gone = {code: qid for code, qid in existing.items() if code not in wanted}
        if gone:
            used = conn.execute(
                sa.select(qs.c.code, sa.func.count())
                .join(t.survey_answers, t.survey_answers.c.question_id == qs.c.id)
                .where(qs.c.id.in_(list(gone.values())))
                .group_by(qs.c.code)
            ).all()
            if used:
                raise SurveyError([f"题目 {code} 已有 {n} 份答卷作答，不能删除" for code, n in used])
            conn.execute(sa.delete(qs).where(qs.c.id.in_(list(gone.values()))))
        for row in todo["questions"]:
            if row["code"] in existing:
                conn.execute(sa.update(qs).where(qs.c.id == existing[row["code"]]).values(**row))
            else:
                conn.execute(sa.insert(qs).values(questionnaire_id=questionnaire_id, **row))
    return questionnaire_id


_RATE_PATTERN = re.compile(r"(知晓率|知晓度|认同度|支持率|参与率|参加率|满意度|满意率|评价)")
_SUBJECT = re.compile(
    r"^(?:市民|群众|居民|患者|办事群众|学生和家长|游客|公众)?(?:对)?(?P<subject>.+?)(?:的)?"
    r"(?:基本内容的)?(?:知晓率|知晓度|认同度|支持率|参与率|参加率|满意度|满意率|评价)"
)
_KIND_WORDS = {
    "知晓率": QuestionKind.awareness,
    "知晓度": QuestionKind.awareness,
    "认同度": QuestionKind.support,
    "支持率": QuestionKind.support,
    "参与率": QuestionKind.participation,
    "参加率": QuestionKind.participation,
    "满意度": QuestionKind.satisfaction,
    "满意率": QuestionKind.satisfaction,
    "评价": QuestionKind.satisfaction,
}
FREE_QUESTION = "您对文明城市创建工作还有哪些意见和建议？"


def _subject(text: str) -> str | None:
    """What a survey standard asks about ("市民对本地诚信建设状况的满意度" → "本地诚信建设状况"); None when its
    first clause names no rate."""
    body = clean(text, punctuation=False).rstrip("。；;.")
    first = re.split(r"[，,；;]", body)[0]
    m = _SUBJECT.match(first)
    if not m:
        return None
    subject = re.sub(r"(和|及|与)$", "", m.group("subject")).replace("和对", "和").strip()
    return re.sub(r"的?总体$", "总体", subject) or None


def _question_text(kind: QuestionKind, word: str, standard_text: str) -> str:
    subject = _subject(standard_text)
    if subject is None:
        clause = re.split(r"[，,；;。]", clean(standard_text, punctuation=False))[0]
        return f"您对“{clause}”的情况是否满意？" if kind is QuestionKind.satisfaction else f"{clause}？"
    if kind is QuestionKind.awareness:
        return f"您是否知道{subject}？"
    if kind is QuestionKind.support:
        return f"您是否{'认同' if word == '认同度' else '支持'}{subject}？"
    if kind is QuestionKind.participation:
        for verb in ("参加", "参与"):
            if subject.startswith(verb):
                return f"您是否{verb}过{subject[len(verb) :]}？"
        return f"您是否参与过{subject}？"
    return f"您对{subject}是否满意？"


def default_questionnaire(
    index: EvaluationIndex, *, name: str = "", index_id: int | None = None, round_id: int | None = None
) -> QuestionnaireSpec:
    """A first draft: one question per survey standard of the index (two when its text names two rates, as
    "知晓率和参与率"), the kind read from the rate it names (满意度 when it names none), default choices, and one free
    question for suggestions at the end. The office edits the wording before using it."""
    questions: list[QuestionSpec] = []
    for _, _, s in index.standards():
        if Method.survey not in s.methods:
            continue
        kinds: dict[QuestionKind, str] = {}
        for word in _RATE_PATTERN.findall(s.text):
            kinds.setdefault(_KIND_WORDS[word], word)
        for kind, word in (kinds or {QuestionKind.satisfaction: ""}).items():
            questions.append(
                QuestionSpec(
                    code=f"Q{len(questions) + 1}",
                    text=_question_text(kind, word, s.text),
                    kind=kind,
                    standard=s.code,
                    choices=list(DEFAULT_CHOICES[kind]),
                )
            )
    questions.append(QuestionSpec(code=f"Q{len(questions) + 1}", text=FREE_QUESTION, kind=QuestionKind.free))
    return QuestionnaireSpec(
        name=name or f"{index.name}问卷", index_id=index_id, round_id=round_id, questions=questions
    )


# --- units --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Unit:
    id: int
    name: str
    code: str
    kind: UnitKind
    parent_id: int | None


class _Units:
    """The unit register, looked up by name (or code) as respondents and spreadsheets write them."""

    SUFFIXES = ("办事处", "人民政府", "居民委员会", "居委会", "村民委员会", "村委会")

    def __init__(self, conn: sa.Connection):
        rows = conn.execute(
            sa.select(t.units.c.id, t.units.c.name, t.units.c.code, t.units.c.kind, t.units.c.parent_id)
        )
        self.by_id = {r.id: _Unit(r.id, r.name, r.code, UnitKind(r.kind), r.parent_id) for r in rows}
        self._keys: dict[str, int] = {}
        for u in self.by_id.values():
            self._keys.setdefault(match_key(u.name), u.id)
            self._keys.setdefault(self._stem(u.name), u.id)
        for u in self.by_id.values():
            self._keys.setdefault(match_key(u.code), u.id)

    def _stem(self, name: str) -> str:
        key = match_key(name)
        for s in self.SUFFIXES:
            if key.endswith(s) and len(key) > len(s):
                return key[: -len(s)]
        return key

    def find(self, text: str, kinds: Iterable[UnitKind] | None = None) -> _Unit | None:
        uid = self._keys.get(match_key(text))
        if uid is None:
            uid = self._keys.get(self._stem(text))
        u = self.by_id.get(uid) if uid is not None else None
        if u is not None and kinds is not None and u.kind not in set(kinds):
            return None
        return u

    def closest(self, text: str, kinds: Iterable[UnitKind] | None = None) -> str | None:
        kinds = set(kinds) if kinds is not None else None
        names = [u.name for u in self.by_id.values() if kinds is None or u.kind in kinds]
        found = difflib.get_close_matches(clean(text, punctuation=False), names, n=1, cutoff=0.3)
        return found[0] if found else None

    def parent(self, u: _Unit) -> _Unit | None:
        return self.by_id.get(u.parent_id) if u.parent_id is not None else None


def _scope_ids(conn: sa.Connection, actor: Actor, action: Action) -> set[int] | None:
    """The ids of the units the actor reaches for ``action`` (a street and what lies under it); None: everywhere."""
    where = reach(actor, action)
    if where is None:
        return None
    inside = unit_subtree(repo.list_units(conn), where)
    return set(conn.execute(sa.select(t.units.c.id).where(t.units.c.name.in_(sorted(inside)))).scalars())


def _scope_clause(ids: set[int] | None):
    r = t.survey_responses
    if ids is None:
        return sa.true()
    ids_list = sorted(ids)
    return sa.or_(r.c.street_id.in_(ids_list), r.c.community_id.in_(ids_list), r.c.unit_id.in_(ids_list))


# --- answers: matching and validity -------------------------------------------------------------------------------

_BLANKS = {"", "(跳过)", "跳过", "(空)", "空", "-", "—", "--", "n/a", "(未填)", "未填", "(未作答)", "未作答"}
_CHOICE_PREFIX = re.compile(r"^(?:[A-Za-z]|\d{1,2})\s*[.、:)\]．：）]\s*")


def _is_blank(value: Any) -> bool:
    return match_key(value) in _BLANKS


def match_choice(value: Any, choices: Sequence[str]) -> str | None:
    """The choice an answer names: the choice itself (compared normalised), a choice written with its letter or
    number ("A.满意", "2、基本满意"), or only its letter or 1-based number ("A", "2") as survey tools export when
    asked for option numbers. None when it names none of them."""
    key = match_key(value)
    by_key = {match_key(c): c for c in choices}
    if key in by_key:
        return by_key[key]
    stripped = _CHOICE_PREFIX.sub("", clean(value), count=1)
    if stripped != clean(value) and match_key(stripped) in by_key:
        return by_key[match_key(stripped)]
    if key.isdigit() and 1 <= int(key) <= len(choices):
        return choices[int(key) - 1]
    if len(key) == 1 and "a" <= key <= "z" and ord(key) - ord("a") < len(choices):
        return choices[ord(key) - ord("a")]
    return None


def _validity(q: Questionnaire, answers: Mapping[int, str], answered_at: dt.datetime | None) -> tuple[bool, str]:
    """Whether a questionnaire counts, and why not: too few scored questions answered, or outside the dates."""
    scored = q.scored_questions
    given = sum(1 for x in scored if x.id in answers)
    if scored and given < MIN_ANSWERED_SHARE * len(scored):
        return False, f"计分题 {len(scored)} 道只答了 {given} 道（不足一半）"
    if answered_at is not None and (q.start_date or q.end_date):
        day = audit.local_date(answered_at)
        if (q.start_date and day < q.start_date) or (q.end_date and day > q.end_date):
            span = f"{q.start_date or '…'} 至 {q.end_date or '…'}"
            return False, f"答卷日期 {day} 不在调查时间（{span}）内"
    return True, ""


# --- reading an export ------------------------------------------------------------------------------------------


@dataclass
class AnswerFile:
    """A spreadsheet of answers, one row per respondent: its header (made unique) and its data rows."""

    filename: str
    sheet: str | None  # None for CSV
    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[Any]]]  # (1-based row number, cells)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
SUFFIXES = (".xlsx", ".csv")


def safe_name(name: str) -> str:
    base = PurePosixPath(_CONTROL.sub("", name or "").replace("\\", "/")).name.strip()
    return base if base not in ("", ".", "..") else "答卷.xlsx"


def _decode(data: bytes) -> str | None:
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    for encoding in ("utf-8", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return None


def _unique_headers(cells: Sequence[Any]) -> list[str]:
    out: list[str] = []
    seen: dict[str, int] = {}
    for c in cells:
        h = clean(c, punctuation=False)
        if h:
            seen[h] = seen.get(h, 0) + 1
            if seen[h] > 1:
                h = f"{h}（{seen[h]}）"
        out.append(h)
    return out


def read_answer_file(filename: str, data: bytes) -> AnswerFile:
    """Read an .xlsx (the first visible sheet with data) or .csv (UTF-8 with or without BOM, GBK/GB18030, UTF-16;
    comma, tab or semicolon separated). The header is the first row with two or more cells filled among the first
    ten. Raises WorkbookInvalid when the file cannot be read."""
    name = safe_name(filename)
    suffix = Path(name).suffix.lower()

    def refuse(message: str) -> WorkbookInvalid:
        return WorkbookInvalid([Problem(name, None, None, None, message)])

    if suffix == ".xls":
        raise refuse("不支持旧版 Excel（.xls）文件：请在 Excel 或 WPS 中另存为 .xlsx，或从问卷平台导出 .xlsx / .csv")
    if suffix not in SUFFIXES:
        raise refuse(f"不支持的文件类型“{suffix or '（无扩展名）'}”，答卷请使用 .xlsx 或 .csv 文件")
    sheet: str | None = None
    if suffix == ".csv":
        text = _decode(data)
        if text is None:
            raise refuse("无法识别文件编码：请另存为 UTF-8 或 GBK 编码的 CSV，或导出 .xlsx")
        first = text.split("\n", 1)[0]
        delimiter = max((",", "\t", ";"), key=first.count)
        grid = [list(r) for r in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)]
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as e:  # not a zip, broken XML inside, …
            raise refuse(f"无法打开工作簿：文件已损坏或不是 .xlsx（{type(e).__name__}）") from e
        grid = []
        for ws in wb.worksheets:
            if ws.sheet_state != "visible":
                continue
            rows = [list(r) for r in ws.iter_rows(values_only=True)]
            if any(any(not _is_blank(c) for c in r) for r in rows):
                grid, sheet = rows, ws.title
                break
        wb.close()
    header_at = next(
        (i for i, r in enumerate(grid[:10]) if sum(1 for c in r if clean(c)) >= 2),
        None,
    )
    if header_at is None:
        raise WorkbookInvalid([Problem(name, sheet, None, None, "找不到表头：前10行中没有填了两列以上的行")])
    headers = _unique_headers(grid[header_at])
    rows_out: list[tuple[int, list[Any]]] = []
    for i in range(header_at + 1, len(grid)):
        cells = list(grid[i]) + [None] * max(0, len(headers) - len(grid[i]))
        if all(clean(c) == "" for c in cells):
            continue
        rows_out.append((i + 1, cells))
    return AnswerFile(name, sheet, header_at + 1, headers, rows_out)


# --- the column mapping ---------------------------------------------------------------------------------------------

IGNORE = ""
FIELDS: dict[str, str] = {
    IGNORE: "（不导入）",
    "external_id": "答卷编号",
    "answered_at": "答卷时间",
    "street": "所在街道（镇）",
    "community": "所在社区（村）",
    "unit": "所在单位",
    "respondent_kind": "受访者身份",
}
QUESTION_PREFIX = "q:"
_NUMBERING = re.compile(
    r"^(?:第\s*\d{1,3}\s*题\s*[、.．:：)）]?|[Qq]\s*\d{1,3}(?:[-._]\d{1,3})?\s*[、.．:：)）]?|\d{1,3}(?:[-.]\d{1,3})?"
    r"\s*[、.．:：)）]|[(（]\d{1,3}[)）])\s*"
)
_TAG = re.compile(r"\s*[(（\[【][^()（）\[\]【】]{0,8}(?:题|选|填|必答|必填)[^()（）\[\]【】]{0,4}[)）\]】]\s*$")
_ID_HEADERS = {"序号", "编号", "答卷编号", "答卷序号", "id", "答卷id", "回答id", "问卷编号", "问卷序号", "答题序号"}
_DURATION_WORDS = ("所用", "用时", "时长", "耗时")


def question_field(code: str) -> str:
    return f"{QUESTION_PREFIX}{code}"


def field_options(q: Questionnaire) -> dict[str, str]:
    """Every field a column may be mapped to, with its label (for the mapping's selectboxes)."""
    out = dict(FIELDS)
    for x in q.questions:
        out[question_field(x.code)] = f"{x.code}（{x.kind.label}）{x.text}"
    return out


def _core(header: str) -> str:
    text = clean(header)
    text = _NUMBERING.sub("", text, count=1)
    text = _TAG.sub("", text)
    return match_key(text.strip().rstrip("*:：").strip())


def _field_for(header: str) -> str | None:
    key = _core(header)
    if not key or len(key) > 16:
        return None
    if key in _ID_HEADERS:
        return "external_id"
    if "时间" in key or "日期" in key:
        return None if any(w in key for w in _DURATION_WORDS) else "answered_at"
    if "社区" in key or "村" in key:
        return "community"
    if "街道" in key or "乡镇" in key or "街镇" in key or key.endswith("镇") or "(镇)" in key:
        return "street"
    if "单位" in key:
        return "unit"
    if any(w in key for w in ("身份", "人员类别", "人员类型", "受访者类型", "调查对象", "对象类型")):
        return "respondent_kind"
    return None


def _time_rank(header: str) -> int:
    key = _core(header)
    return 3 if "提交" in key else 2 if ("结束" in key or "完成" in key) else 1


def propose_mapping(q: Questionnaire, headers: Sequence[str], saved: Mapping[str, str] | None = None) -> dict[str, str]:
    """Column header -> field for a file's headers: what the questionnaire's saved mapping says for a header it
    knows, else a guess: a question whose text is most like the header (numbering such as "1、" and tags such as
    "(单选题)" left aside; similarity ≥ 0.6, each question once), else a field named by the header ("序号",
    "提交答卷时间", "所在街道", "所在社区", "单位", "身份"), else not imported."""
    saved = dict(q.mapping if saved is None else saved)
    valid = set(field_options(q))
    out: dict[str, str] = {}
    taken: set[str] = set()
    for h in headers:
        if h and h in saved and saved[h] in valid and (saved[h] == IGNORE or saved[h] not in taken):
            out[h] = saved[h]
            if saved[h]:
                taken.add(saved[h])
    # questions, best match first
    scores: list[tuple[float, int, str]] = []
    for i, h in enumerate(headers):
        if not h or h in out:
            continue
        core = _core(h)
        for x in q.questions:
            f = question_field(x.code)
            if f in taken:
                continue
            if match_key(h) == match_key(x.code):
                scores.append((2.0, i, f))
                continue
            qcore = _core(x.text)
            if not core or not qcore:
                continue
            ratio = difflib.SequenceMatcher(None, core, qcore, autojunk=False).ratio()
            if min(len(core), len(qcore)) >= 6 and (core in qcore or qcore in core):
                ratio = max(ratio, 0.9)
            if ratio >= 0.6:
                scores.append((ratio, i, f))
    for _, i, f in sorted(scores, key=lambda s: (-s[0], s[1])):
        h = headers[i]
        if h not in out and f not in taken:
            out[h] = f
            taken.add(f)
    # fields named by the header
    candidates: dict[str, list[tuple[int, int, str]]] = {}
    for i, h in enumerate(headers):
        if h and h not in out:
            f = _field_for(h)
            if f and f not in taken:
                rank = _time_rank(h) if f == "answered_at" else 0
                candidates.setdefault(f, []).append((-rank, i, h))
    for f, found in candidates.items():
        out[sorted(found)[0][2]] = f
        taken.add(f)
    return {h: out.get(h, IGNORE) for h in headers if h}


# --- importing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AnswerImport:
    """What checking or importing an answer file found.

    ``rows``: data rows; ``new``: respondents to store (or stored); ``invalid``: of those, 无效问卷;
    ``skipped``: respondents already stored by an earlier import; ``problems``: what refuses the file;
    ``warnings``: what is worth knowing (a scored question without a column)."""

    filename: str
    headers: tuple[str, ...] = ()
    mapping: dict[str, str] = field(default_factory=dict)
    rows: int = 0
    new: int = 0
    invalid: int = 0
    skipped: int = 0
    invalid_reasons: dict[str, int] = field(default_factory=dict)
    problems: tuple[Problem, ...] = ()
    warnings: tuple[str, ...] = ()
    imported: bool = False

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]

    @property
    def summary(self) -> str:
        if self.imported:
            text = f"已导入 {self.new} 份答卷，其中无效 {self.invalid} 份"
        else:
            text = f"可导入 {self.new} 份，其中无效 {self.invalid} 份"
        if self.skipped:
            text += f"；已导入过的 {self.skipped} 份{'已' if self.imported else '将'}跳过"
        return text


@dataclass
class _Parsed:
    row: int
    external_id: str
    answered_at: dt.datetime | None
    street: _Unit | None
    community: _Unit | None
    unit: _Unit | None
    kind: RespondentKind
    answers: dict[int, str]
    valid: bool = True
    reason: str = ""


_TIME_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y/%m/%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%Y年%m月%d日 %H:%M:%S",
    "%Y年%m月%d日 %H:%M",
    "%Y年%m月%d日",
    "%Y.%m.%d %H:%M:%S",
    "%Y.%m.%d",
)


def _utc(local: dt.datetime) -> dt.datetime:
    """An office-local wall time as the store keeps time (naive UTC)."""
    return local.replace(tzinfo=audit.local_zone()).astimezone(dt.UTC).replace(tzinfo=None)


def parse_time(value: Any) -> dt.datetime | None:
    """A survey tool's time (office local time) as a store timestamp; None when blank; ValueError otherwise."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, dt.datetime):
        return _utc(value)
    if isinstance(value, dt.date):
        return _utc(dt.datetime.combine(value, dt.time()))
    text = clean(value)
    text = re.sub(r"\.\d+$", "", text)  # fractions of a second
    for fmt in _TIME_FORMATS:
        try:
            return _utc(dt.datetime.strptime(text, fmt))
        except ValueError:
            continue
    raise ValueError(f"答卷时间“{text}”不是日期时间（如 2025-10-12 14:30:05）")


def _row_hash(cells: Sequence[Any]) -> str:
    payload = json.dumps([clean(c, punctuation=False) for c in cells], ensure_ascii=False)
    return "h:" + hashlib.sha1(payload.encode()).hexdigest()[:16]


def _check_mapping(
    q: Questionnaire, f: AnswerFile, mapping: Mapping[str, str], problems: Problems
) -> tuple[dict[str, int], list[str]]:
    """field -> 0-based column of the file, reporting what cannot work; and warnings."""
    options = field_options(q)
    cols: dict[str, int] = {}
    by_header = {h: i for i, h in enumerate(f.headers) if h}
    for h, fld in mapping.items():
        if h not in by_header or not fld:
            continue
        i = by_header[h]
        if fld not in options:
            problems.add(f.sheet, f.header_row, i + 1, f"列“{h}”对应的“{fld}”不是本问卷的字段或题目")
        elif fld in cols:
            first = f.headers[cols[fld]]
            problems.add(
                f.sheet, f.header_row, i + 1, f"列“{h}”和列“{first}”都对应“{options[fld]}”，每个字段只能对应一列"
            )
        else:
            cols[fld] = i
    if not any(k.startswith(QUESTION_PREFIX) for k in cols):
        problems.add(f.sheet, f.header_row, None, "没有任何一列对应本问卷的题目：请在列对应中为题目选择列")
    if not {"street", "community", "unit"} & set(cols):
        problems.add(f.sheet, f.header_row, None, "没有对应“所在街道（镇）”“所在社区（村）”或“所在单位”的列")
    warnings_: list[str] = []
    missing = [x.code for x in q.scored_questions if question_field(x.code) not in cols]
    if missing:
        warnings_.append(f"计分题 {'、'.join(missing)} 没有对应的列：这些题将全部记为未答")
    return cols, warnings_


class _RowReader:
    """Reads one data row of an answer file through the columns of the mapping, reporting problems located."""

    def __init__(self, q: Questionnaire, f: AnswerFile, cols: dict[str, int], units: _Units, problems: Problems):
        self.q, self.f, self.cols, self.units, self.problems = q, f, cols, units, problems
        self.questions = {question_field(x.code): x for x in q.questions}
        self.number = 0
        self.cells: list[Any] = []

    def at(self, number: int, cells: list[Any]) -> _RowReader:
        self.number, self.cells = number, cells
        return self

    def cell(self, fld: str) -> Any:
        i = self.cols.get(fld)
        return self.cells[i] if i is not None and i < len(self.cells) else None

    def bad(self, fld: str | None, message: str) -> None:
        col = self.cols[fld] + 1 if fld in self.cols else None
        self.problems.add(self.f.sheet, self.number, col, message)

    def unit(self, fld: str, kinds: tuple[UnitKind, ...] | None, what: str) -> _Unit | None:
        raw = self.cell(fld)
        if _is_blank(raw):
            return None
        text = clean(raw, punctuation=False)
        found = self.units.find(text, kinds)
        if found is None:
            self.bad(fld, _unknown_unit(self.units, text, kinds, what))
        return found

    def answers(self) -> dict[int, str]:
        out: dict[int, str] = {}
        for fld, x in self.questions.items():
            if fld not in self.cols:
                continue
            raw = self.cell(fld)
            if _is_blank(raw):
                continue
            if not x.choices:
                out[x.id] = clean(raw, punctuation=False, multiline=True)
                continue
            choice = match_choice(raw, x.choices)
            if choice is None:
                self.bad(
                    fld,
                    f"{x.code}“{_short(x.text)}”的回答“{clean(raw, punctuation=False)}”不是可选答案"
                    f"（可选：{'、'.join(x.choices)}）",
                )
            else:
                out[x.id] = choice
        return out

    def read(self, external_id: str) -> _Parsed | None:
        """The row as a questionnaire to store; None (with its problems reported) when it cannot be stored."""
        before = len(self.problems)
        try:
            answered_at = parse_time(self.cell("answered_at"))
        except ValueError as e:
            self.bad("answered_at", str(e))
            answered_at = None
        street = self.unit("street", AREA_KINDS, "街道（镇）")
        community = self.unit("community", (UnitKind.community,), "社区（村）")
        unit = self.unit("unit", None, "单位")
        street, message = _street_of(self.units, street, community)
        if message:
            self.bad("community", message)
        if street is None and unit is None and len(self.problems) == before:
            where = next((k for k in ("street", "community", "unit") if k in self.cols), None)
            self.bad(where, "没有填写所在街道（镇）、社区（村）或单位")
        kind_raw = self.cell("respondent_kind")
        kind = _default_kind(street, unit)
        if not _is_blank(kind_raw):
            parsed = RespondentKind.parse(clean(kind_raw, punctuation=False))
            if parsed is None:
                labels = "、".join(RespondentKind.labels())
                self.bad("respondent_kind", f"受访者身份“{clean(kind_raw)}”无效，可选：{labels}")
            else:
                kind = RespondentKind(parsed)
        answers = self.answers()
        if len(self.problems) > before:
            return None
        valid, reason = _validity(self.q, answers, answered_at)
        return _Parsed(self.number, external_id, answered_at, street, community, unit, kind, answers, valid, reason)


def _unknown_unit(units: _Units, text: str, kinds: tuple[UnitKind, ...] | None, what: str) -> str:
    other = units.find(text)
    if other is not None:  # known, but not of the kind wanted (a department written as the street)
        return f"{what}“{text}”是{other.kind.label}，不是{what}"
    near = units.closest(text, kinds)
    return f"{what}“{text}”不在单位名录中" + (f"，是不是“{near}”？" if near else "")


def _street_of(units: _Units, street: _Unit | None, community: _Unit | None) -> tuple[_Unit | None, str]:
    """The street a questionnaire counts for: the one given, or the community's; and a message when the community
    lies in another street."""
    if community is None:
        return street, ""
    parent = units.parent(community)
    if street is None:
        return (parent if parent is not None and parent.kind in AREA_KINDS else None), ""
    if parent is None or parent.id != street.id:
        owner = f"属于“{parent.name}”" if parent else "没有上级街道（镇）"
        return street, f"社区（村）“{community.name}”不属于“{street.name}”（{owner}）"
    return street, ""


def _default_kind(street: _Unit | None, unit: _Unit | None) -> RespondentKind:
    """Staff when only a unit is named, else a resident."""
    return RespondentKind.staff if unit is not None and street is None else RespondentKind.resident


def _parse(
    conn: sa.Connection, q: Questionnaire, f: AnswerFile, mapping: Mapping[str, str], problems: Problems
) -> tuple[list[_Parsed], int, list[str]]:
    """The rows of a file that are new for the questionnaire, checked; how many were skipped as already stored."""
    cols, warnings_ = _check_mapping(q, f, mapping, problems)
    if len(problems):
        return [], 0, warnings_
    known = set(
        conn.execute(
            sa.select(t.survey_responses.c.external_id).where(
                t.survey_responses.c.questionnaire_id == q.id, t.survey_responses.c.external_id.is_not(None)
            )
        ).scalars()
    )
    reader = _RowReader(q, f, cols, _Units(conn), problems)
    out: list[_Parsed] = []
    skipped = 0
    ids_seen: dict[str, int] = {}
    hashes: dict[str, int] = {}
    for number, cells in f.rows:
        row = reader.at(number, cells)
        if "external_id" in cols:
            ext = clean(row.cell("external_id"))
            message = ""
            if not ext:
                message = f"{f.headers[cols['external_id']]}不能为空（用来识别已导入过的答卷）"
            elif len(ext) > 100:
                message = "答卷编号不能超过 100 个字符"
            elif ext in ids_seen:
                message = f"答卷编号“{ext}”重复（与第{ids_seen[ext]}行相同）"
            if message:
                row.bad("external_id", message)
                continue
            ids_seen[ext] = number
        else:
            base = _row_hash(cells)
            hashes[base] = hashes.get(base, 0) + 1
            ext = base if hashes[base] == 1 else f"{base}#{hashes[base]}"
        if ext in known:
            skipped += 1
            continue
        parsed = row.read(ext)
        if parsed is not None:
            out.append(parsed)
    return out, skipped, warnings_


def _short(text: str, n: int = 16) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _store_responses(conn: sa.Connection, actor: Actor, qid: int, parsed: Sequence[_Parsed], source: str) -> list[int]:
    """Insert questionnaires and their answers (one statement each for an import: a few hundred rows at a time)."""
    r = t.survey_responses
    now = audit.now()
    rows = [
        dict(
            questionnaire_id=qid,
            source=source,
            external_id=p.external_id or None,
            street_id=p.street.id if p.street else None,
            community_id=p.community.id if p.community else None,
            unit_id=p.unit.id if p.unit else None,
            respondent_kind=p.kind.value,
            valid=p.valid,
            invalid_reason=p.reason,
            answered_at=p.answered_at,
            entered_by=actor.username,
            entered_at=now,
        )
        for p in parsed
    ]
    if not rows:
        return []
    if len(rows) == 1 or any(row["external_id"] is None for row in rows):
        ids = [conn.execute(sa.insert(r).values(**row)).inserted_primary_key[0] for row in rows]
    else:  # imported rows all carry an external id, unique within the questionnaire: find the new ids by it
        conn.execute(sa.insert(r), rows)
        wanted = [row["external_id"] for row in rows]
        found: dict[str, int] = {}
        for i in range(0, len(wanted), 500):
            chunk = wanted[i : i + 500]
            found.update(
                conn.execute(
                    sa.select(r.c.external_id, r.c.id).where(r.c.questionnaire_id == qid, r.c.external_id.in_(chunk))
                ).all()
            )
        ids = [found[e] for e in wanted]
    answer_rows = [
        dict(response_id=rid, question_id=k, value=v)
        for rid, p in zip(ids, parsed, strict=True)
        for k, v in p.answers.items()
    ]
    if answer_rows:
        conn.execute(sa.insert(t.survey_answers), answer_rows)
    return ids


def _run_import(
    conn: sa.Connection,
    actor: Actor,
    questionnaire_id: int,
    filename: str,
    data: bytes,
    mapping: Mapping[str, str] | None,
    *,
    store: bool,
) -> AnswerImport:
    q = _load(conn, questionnaire_id)
    name = safe_name(filename)
    try:
        f = read_answer_file(name, data)
    except WorkbookInvalid as e:
        return AnswerImport(name, problems=tuple(e.problems))
    used = propose_mapping(q, f.headers) if mapping is None else {h: mapping.get(h, IGNORE) for h in f.headers if h}
    problems = Problems(name)
    parsed, skipped, warnings_ = _parse(conn, q, f, used, problems)
    reasons: dict[str, int] = {}
    for p in parsed:
        if not p.valid:
            key = (
                "计分题答了不到一半"
                if "不足一半" in p.reason
                else "不在调查时间内"
                if "调查时间" in p.reason
                else p.reason
            )
            reasons[key] = reasons.get(key, 0) + 1
    result = AnswerImport(
        name,
        headers=tuple(f.headers),
        mapping=used,
        rows=len(f.rows),
        new=len(parsed),
        invalid=sum(1 for p in parsed if not p.valid),
        skipped=skipped,
        invalid_reasons=reasons,
        problems=tuple(sorted(problems, key=lambda p: (p.row or 0, p.col or 0))),
        warnings=tuple(warnings_),
    )
    if store and result.ok:
        _store_responses(conn, actor, q.id, parsed, "import")
        conn.execute(
            sa.update(t.questionnaires)
            .where(t.questionnaires.c.id == q.id)
            .values(column_mapping={**q.mapping, **used})
        )
        return dataclasses.replace(result, imported=True)
    return result


def check_answers(
    engine: sa.Engine,
    actor: Actor,
    questionnaire_id: int,
    filename: str,
    data: bytes,
    mapping: Mapping[str, str] | None = None,
) -> AnswerImport:
    """Check an answer file as importing it would (``mapping`` None: the proposed one), storing nothing. The
    result's ``problems`` list every problem, located; ``mapping`` is the mapping used."""
    require(actor, Action.manage_surveys)
    with engine.connect() as conn:
        return _run_import(conn, actor, questionnaire_id, filename, data, mapping, store=False)


def import_answers(
    engine: sa.Engine,
    actor: Actor,
    questionnaire_id: int,
    filename: str,
    data: bytes,
    mapping: Mapping[str, str] | None = None,
) -> AnswerImport:
    """Import an answer file, all or nothing, and save the mapping used on the questionnaire for the next import.
    Raises WorkbookInvalid (every problem, located) when anything must be fixed first; nothing is stored then."""
    require(actor, Action.manage_surveys)
    with audit.writing(engine, actor, context=f"导入答卷 {safe_name(filename)}"[:300]) as conn:
        result = _run_import(conn, actor, questionnaire_id, filename, data, mapping, store=True)
        if not result.ok:
            raise WorkbookInvalid(result.problems)
    return result


def save_mapping(engine: sa.Engine, actor: Actor, questionnaire_id: int, mapping: Mapping[str, str]) -> None:
    """Keep a column mapping on the questionnaire (merged into what it holds) without importing."""
    require(actor, Action.manage_surveys)
    with audit.writing(engine, actor, context="保存答卷列对应") as conn:
        q = _load(conn, questionnaire_id)
        conn.execute(
            sa.update(t.questionnaires)
            .where(t.questionnaires.c.id == q.id)
            .values(column_mapping={**q.mapping, **dict(mapping)})
        )


# --- paper questionnaires ---------------------------------------------------------------------------------------


class PaperResponse(BaseModel):
    """One paper questionnaire as typed in on a tablet: where the respondent lives or works, and the answers by
    question code (a question missing or blank is unanswered)."""

    model_config = ConfigDict(extra="forbid")

    street: str | None = None
    community: str | None = None
    unit: str | None = None
    respondent_kind: RespondentKind | None = None
    answers: dict[str, str | None] = Field(default_factory=dict)
    external_id: str | None = None  # the number written on the sheet, when there is one
    answered_at: dt.datetime | None = None  # the day written on the sheet (store time, naive UTC), if any


@dataclass(frozen=True)
class SavedResponse:
    id: int
    valid: bool
    invalid_reason: str
    answered: int  # questions answered
    entered: int  # paper questionnaires this user has entered for the questionnaire, this one included


def save_paper_response(
    engine: sa.Engine, actor: Actor, questionnaire_id: int, response: PaperResponse
) -> SavedResponse:
    """Store one paper questionnaire at once (one call per sheet). A street, community or unit not in the register,
    or an answer that is not one of the choices, is refused (SurveyError); too few answers store it as 无效问卷."""
    require(actor, Action.enter_surveys)
    with audit.writing(engine, actor, context="录入纸质问卷") as conn:
        q = _load(conn, questionnaire_id)
        units = _Units(conn)
        errors: list[str] = []
        found: dict[str, _Unit | None] = {}
        for key, text, kinds, what in (
            ("street", response.street, AREA_KINDS, "街道（镇）"),
            ("community", response.community, (UnitKind.community,), "社区（村）"),
            ("unit", response.unit, None, "单位"),
        ):
            name = clean(text or "", punctuation=False)
            found[key] = units.find(name, kinds) if name else None
            if name and found[key] is None:
                errors.append(_unknown_unit(units, name, kinds, what))
        community, unit = found["community"], found["unit"]
        street, message = _street_of(units, found["street"], community)
        if message:
            errors.append(message)
        if street is None and unit is None and not errors:
            errors.append("请选择所在街道（镇）、社区（村）或单位")
        answers: dict[int, str] = {}
        by_code = {x.code: x for x in q.questions}
        for code, value in response.answers.items():
            x = by_code.get(code)
            if x is None:
                errors.append(f"问卷没有题目 {code}")
                continue
            if value is None or _is_blank(value):
                continue
            if x.choices:
                choice = match_choice(value, x.choices)
                if choice is None:
                    errors.append(f"{x.code} 的回答“{value}”不是可选答案（可选：{'、'.join(x.choices)}）")
                    continue
                answers[x.id] = choice
            else:
                answers[x.id] = clean(value, punctuation=False, multiline=True)
        ext = clean(response.external_id) or None
        if (
            ext
            and conn.execute(
                sa.select(t.survey_responses.c.id).where(
                    t.survey_responses.c.questionnaire_id == q.id, t.survey_responses.c.external_id == ext
                )
            ).first()
        ):
            errors.append(f"问卷编号“{ext}”已录入过")
        if errors:
            raise SurveyError(errors)
        within = {u.name for u in (street, community, unit) if u is not None}
        require(actor, Action.enter_surveys, within=within)
        kind = response.respondent_kind or _default_kind(street, unit)
        valid, reason = _validity(q, answers, response.answered_at)  # no date on the sheet: no date check
        parsed = _Parsed(0, ext or "", response.answered_at, street, community, unit, kind, answers, valid, reason)
        (rid,) = _store_responses(conn, actor, q.id, [parsed], "paper")
        entered = conn.execute(
            sa.select(sa.func.count()).where(
                t.survey_responses.c.questionnaire_id == q.id,
                t.survey_responses.c.source == "paper",
                t.survey_responses.c.entered_by == actor.username,
            )
        ).scalar_one()
    return SavedResponse(rid, valid, reason, len(answers), entered)


def paper_count(conn: sa.Connection, actor: Actor, questionnaire_id: int) -> int:
    """Paper questionnaires this user has entered for the questionnaire."""
    r = t.survey_responses
    return conn.execute(
        sa.select(sa.func.count()).where(
            r.c.questionnaire_id == questionnaire_id, r.c.source == "paper", r.c.entered_by == actor.username
        )
    ).scalar_one()


def void_response(engine: sa.Engine, actor: Actor, response_id: int, reason: str) -> None:
    """Mark a questionnaire 无效 (作废) with a reason: the office any; whoever entered a paper questionnaire, their
    own. It stays stored and listed."""
    reason = clean(reason, punctuation=False)
    if not reason:
        raise SurveyError("作废须填写原因")
    _require_any(actor, Action.manage_surveys, Action.enter_surveys)
    with audit.writing(engine, actor, context=f"作废问卷答卷 {response_id}", reason=reason) as conn:
        r = t.survey_responses
        row = conn.execute(sa.select(r).where(r.c.id == response_id)).mappings().first()
        if row is None:
            raise SurveyError(f"答卷 {response_id} 不存在")
        if not allowed(actor, Action.manage_surveys):
            if row["entered_by"] != actor.username:
                raise PermissionDenied(f"{actor.name}只能作废本人录入的问卷")
            names = set(
                conn.execute(
                    sa.select(t.units.c.name).where(
                        t.units.c.id.in_([x for x in (row["street_id"], row["community_id"], row["unit_id"]) if x])
                    )
                ).scalars()
            )
            require(actor, Action.enter_surveys, within=names)
        conn.execute(sa.update(r).where(r.c.id == response_id).values(valid=False, invalid_reason=f"已作废：{reason}"))


@dataclass(frozen=True)
class ResponseRow:
    id: int
    source: str
    external_id: str | None
    street: str | None
    community: str | None
    unit: str | None
    respondent_kind: RespondentKind
    valid: bool
    invalid_reason: str
    answered_at: dt.datetime | None
    entered_by: str
    entered_at: dt.datetime
    answered: int


def list_responses(
    conn: sa.Connection,
    actor: Actor,
    questionnaire_id: int,
    *,
    valid: bool | None = None,
    source: str | None = None,
    limit: int | None = 500,
) -> list[ResponseRow]:
    """The questionnaire's answer sheets, newest first, within the actor's reach (office: all; an enterer: their
    street's)."""
    _require_any(actor, Action.manage_surveys, Action.enter_surveys)
    action = Action.manage_surveys if allowed(actor, Action.manage_surveys) else Action.enter_surveys
    r = t.survey_responses
    st_, co, un = t.units.alias("st"), t.units.alias("co"), t.units.alias("un")
    n = sa.select(sa.func.count()).select_from(t.survey_answers).where(t.survey_answers.c.response_id == r.c.id)
    query = (
        sa.select(
            r, st_.c.name.label("sn"), co.c.name.label("cn"), un.c.name.label("un"), n.scalar_subquery().label("n")
        )
        .select_from(
            r.outerjoin(st_, st_.c.id == r.c.street_id)
            .outerjoin(co, co.c.id == r.c.community_id)
            .outerjoin(un, un.c.id == r.c.unit_id)
        )
        .where(r.c.questionnaire_id == questionnaire_id, _scope_clause(_scope_ids(conn, actor, action)))
        .order_by(r.c.id.desc())
    )
    if valid is not None:
        query = query.where(r.c.valid.is_(valid))
    if source:
        query = query.where(r.c.source == source)
    if limit:
        query = query.limit(limit)
    return [
        ResponseRow(
            x["id"],
            x["source"],
            x["external_id"],
            x["sn"],
            x["cn"],
            x["un"],
            RespondentKind(x["respondent_kind"]),
            x["valid"],
            x["invalid_reason"],
            x["answered_at"],
            x["entered_by"],
            x["entered_at"],
            x["n"],
        )
        for x in conn.execute(query).mappings()
    ]


# --- rates --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """answers counted as yes among answers given (blanks left out)."""

    yes: int = 0
    answered: int = 0

    @property
    def value(self) -> float | None:
        return self.yes / self.answered if self.answered else None


@dataclass(frozen=True)
class GroupRates:
    """The rates and coverage of one group (the whole questionnaire, a street or town, a community, a unit)."""

    level: str  # "all" / "street" / "community" / "unit"
    unit_id: int | None
    name: str
    kind: UnitKind | None
    parent: str | None
    responses: int  # every questionnaire naming the group, valid or not
    valid: int
    awareness: Rate
    support: Rate
    participation: Rate
    satisfaction: float | None  # mean score, 0–100
    satisfaction_answers: int
    population: int | None
    share: float | None
    quota: int | None

    @property
    def invalid(self) -> int:
        return self.responses - self.valid

    @property
    def coverage(self) -> float | None:
        return self.valid / self.quota if self.quota else None

    @property
    def shortfall(self) -> int | None:
        return None if self.quota is None else max(0, self.quota - self.valid)

    @property
    def below_quota(self) -> bool:
        return self.quota is not None and self.valid < self.quota

    def rate(self, kind: QuestionKind) -> float | None:
        """知晓率 / 支持率 / 参与率 as a fraction; 满意度 as a score 0–100."""
        if kind is QuestionKind.satisfaction:
            return self.satisfaction
        return {
            QuestionKind.awareness: self.awareness,
            QuestionKind.support: self.support,
            QuestionKind.participation: self.participation,
        }[kind].value


@dataclass
class _Tally:
    responses: int = 0
    valid: int = 0
    yes: dict[QuestionKind, int] = field(default_factory=lambda: dict.fromkeys(RATE_KINDS, 0))
    answered: dict[QuestionKind, int] = field(default_factory=lambda: dict.fromkeys(RATE_KINDS, 0))
    score_sum: float = 0.0
    scored: int = 0


_GROUP_COLUMN = {
    "street": t.survey_responses.c.street_id,
    "community": t.survey_responses.c.community_id,
    "unit": t.survey_responses.c.unit_id,
}


def _tallies(conn: sa.Connection, q: Questionnaire, by: str | None, scope: set[int] | None) -> dict[int | None, _Tally]:
    r, a = t.survey_responses, t.survey_answers
    group = [_GROUP_COLUMN[by]] if by else []
    tallies: dict[int | None, _Tally] = {}
    where = sa.and_(r.c.questionnaire_id == q.id, _scope_clause(scope))
    counts = sa.select(*group, r.c.valid, sa.func.count()).where(where).group_by(*group, r.c.valid)
    for row in conn.execute(counts):
        g, valid, n = (row[0], row[1], row[2]) if by else (None, row[0], row[1])
        tally = tallies.setdefault(g, _Tally())
        tally.responses += n
        if valid:
            tally.valid += n
    questions = {x.id: x for x in q.questions}
    rows = conn.execute(
        sa.select(*group, a.c.question_id, a.c.value, sa.func.count())
        .select_from(a.join(r, r.c.id == a.c.response_id))
        .where(where, r.c.valid.is_(True))
        .group_by(*group, a.c.question_id, a.c.value)
    )
    for row in rows:
        g, question_id, value, n = row if by else (None, *row)
        x = questions.get(question_id)
        if x is None:
            continue
        tally = tallies.setdefault(g, _Tally())
        if x.kind in RATE_KINDS:
            tally.answered[x.kind] += n
            if value in x.yes_values:
                tally.yes[x.kind] += n
        elif x.kind is QuestionKind.satisfaction and value in q.scores:
            tally.score_sum += q.scores[value] * n
            tally.scored += n
    return tallies


@dataclass(frozen=True)
class _Pop:
    population: int
    share: float | None


def _populations(conn: sa.Connection) -> dict[int, _Pop]:
    p = t.survey_populations
    return {
        uid: _Pop(pop, share) for uid, pop, share in conn.execute(sa.select(p.c.unit_id, p.c.population, p.c.share))
    }


def _effective_share(units: _Units, u: _Unit, pop: _Pop | None) -> float:
    if pop is not None and pop.share is not None:
        return pop.share
    parent = units.parent(u)
    return default_share(u.kind, parent.kind if parent else None)


def _level_of(kind: UnitKind) -> str:
    return "street" if kind in AREA_KINDS else "community" if kind is UnitKind.community else "unit"


def _group(
    level: str, u: _Unit | None, units: _Units, tally: _Tally | None, pop: _Pop | None, name: str = ""
) -> GroupRates:
    tally = tally or _Tally()
    share = quota = population = None
    if u is not None and pop is not None and not (level == "unit" and _level_of(u.kind) != "unit"):
        population = pop.population
        share = _effective_share(units, u, pop)
        quota = quota_of(population, share)
    parent = units.parent(u) if u is not None else None
    return GroupRates(
        level=level,
        unit_id=u.id if u else None,
        name=u.name if u else name,
        kind=u.kind if u else None,
        parent=parent.name if parent else None,
        responses=tally.responses,
        valid=tally.valid,
        awareness=Rate(tally.yes[QuestionKind.awareness], tally.answered[QuestionKind.awareness]),
        support=Rate(tally.yes[QuestionKind.support], tally.answered[QuestionKind.support]),
        participation=Rate(tally.yes[QuestionKind.participation], tally.answered[QuestionKind.participation]),
        satisfaction=tally.score_sum / tally.scored if tally.scored else None,
        satisfaction_answers=tally.scored,
        population=population,
        share=share,
        quota=quota,
    )


def survey_rates(conn: sa.Connection, actor: Actor, questionnaire_id: int, by: str | None = None) -> list[GroupRates]:
    """知晓率, 支持率, 参与率, 满意度 and coverage (definitions: this module's docstring), for the whole questionnaire
    (``by`` None: one group, "全部"), or by "street" (streets and towns: every one), "community" or "unit" (those
    with a population or a questionnaire). Within the actor's reach (a coordinator: their street and what lies
    under it). Groups in register order (streets before towns, then by code)."""
    require(actor, Action.view_scores)
    if by is not None and by not in LEVELS:
        raise ValueError(f"unknown grouping {by!r}")
    q = _load(conn, questionnaire_id)
    scope = _scope_ids(conn, actor, Action.view_scores)
    units = _Units(conn)
    pops = _populations(conn)
    tallies = _tallies(conn, q, by, scope)
    if by is None:
        quota = population = None
        for uid, pop in pops.items():
            u = units.by_id.get(uid)
            if u is None or u.kind is UnitKind.community or (scope is not None and uid not in scope):
                continue
            population = (population or 0) + pop.population
            quota = (quota or 0) + (quota_of(pop.population, _effective_share(units, u, pop)) or 0)
        g = _group("all", None, units, tallies.get(None), None, name="全部")
        return [dataclasses.replace(g, population=population, quota=quota)]
    wanted: set[int] = {g for g in tallies if g is not None}
    for u in units.by_id.values():
        if _level_of(u.kind) != by:
            continue
        if by == "street" or u.id in pops:
            wanted.add(u.id)
    if scope is not None:
        wanted &= scope
    order = {UnitKind.street: 0, UnitKind.town: 1}
    chosen = sorted((units.by_id[i] for i in wanted), key=lambda u: (order.get(u.kind, 2), u.code, u.name))
    return [_group(by, u, units, tallies.get(u.id), pops.get(u.id)) for u in chosen]


def coverage_board(
    conn: sa.Connection, actor: Actor, questionnaire_id: int, levels: Sequence[str] = LEVELS
) -> list[GroupRates]:
    """The streets, towns, communities and units below their quota, worst first (lowest coverage, then the largest
    shortfall), with ``shortfall`` = quota − valid questionnaires."""
    below = [g for level in levels for g in survey_rates(conn, actor, questionnaire_id, by=level) if g.below_quota]
    return sorted(below, key=lambda g: (g.coverage or 0.0, -(g.shortfall or 0), g.name))


@dataclass(frozen=True)
class QuestionRate:
    question: Question
    answered: int  # valid questionnaires answering it
    value: float | None  # share of yes (知晓/支持/参与), mean score (满意度), None (其他 or no answer)
    counts: dict[str, int]  # answers given, by choice (free text: not listed)

    @property
    def rate(self) -> float | None:
        """The question's rate as a fraction (满意度 ÷ 100)."""
        if self.value is None:
            return None
        return self.value / 100 if self.question.kind is QuestionKind.satisfaction else self.value


def _question_rates(conn: sa.Connection, q: Questionnaire, scope: set[int] | None) -> list[QuestionRate]:
    r, a = t.survey_responses, t.survey_answers
    counts: dict[int, dict[str, int]] = {}
    for qid, value, n in conn.execute(
        sa.select(a.c.question_id, a.c.value, sa.func.count())
        .select_from(a.join(r, r.c.id == a.c.response_id))
        .where(r.c.questionnaire_id == q.id, r.c.valid.is_(True), _scope_clause(scope))
        .group_by(a.c.question_id, a.c.value)
    ):
        counts.setdefault(qid, {})[value] = n
    out = []
    for x in q.questions:
        c = counts.get(x.id, {})
        answered = sum(c.values())
        value: float | None = None
        if x.kind in RATE_KINDS and answered:
            value = sum(n for v, n in c.items() if v in x.yes_values) / answered
        elif x.kind is QuestionKind.satisfaction:
            scored = {v: n for v, n in c.items() if v in q.scores}
            if sum(scored.values()):
                value = sum(q.scores[v] * n for v, n in scored.items()) / sum(scored.values())
        shown = {ch: c.get(ch, 0) for ch in x.choices} if x.choices else {}
        out.append(QuestionRate(x, answered, value, shown))
    return out


def question_rates(conn: sa.Connection, actor: Actor, questionnaire_id: int) -> list[QuestionRate]:
    """Each question's rate and answer counts over the valid questionnaires within the actor's reach."""
    require(actor, Action.view_scores)
    return _question_rates(conn, _load(conn, questionnaire_id), _scope_ids(conn, actor, Action.view_scores))


def standard_rates(conn: sa.Connection, questionnaire_id: int) -> dict[str, float]:
    """The survey score rate (0–1) of each index standard the questionnaire's questions measure, city-wide: the
    question's 知晓率 / 支持率 / 参与率, or 满意度 ÷ 100; a standard measured by several questions gets their mean.
    Standards whose questions have no valid answer yet are left out. (For the composite mock score.)"""
    by_standard: dict[str, list[float]] = {}
    for qr in _question_rates(conn, _load(conn, questionnaire_id), None):
        if qr.question.standard and qr.rate is not None:
            by_standard.setdefault(qr.question.standard, []).append(qr.rate)
    return {code: math.fsum(v) / len(v) for code, v in by_standard.items()}


def report(conn: sa.Connection, actor: Actor, questionnaire_id: int, by: str | None = "street") -> dict:
    """The rates as plain data (the CLI's ``survey rates --json``): rates are fractions 0..1, 满意度 a score 0–100,
    ``null`` when there is nothing to divide by."""
    q = _load(conn, questionnaire_id)

    def as_dict(g: GroupRates) -> dict:
        return {
            "name": g.name,
            "level": g.level,
            "kind": g.kind.value if g.kind else None,
            "parent": g.parent,
            "responses": g.responses,
            "valid": g.valid,
            "invalid": g.invalid,
            "awareness_rate": g.awareness.value,
            "support_rate": g.support.value,
            "participation_rate": g.participation.value,
            "satisfaction": g.satisfaction,
            "population": g.population,
            "share": g.share,
            "quota": g.quota,
            "coverage": g.coverage,
            "shortfall": g.shortfall,
        }

    out = {
        "report": "survey",
        "version": 1,
        "questionnaire": {"id": q.id, "name": q.name, "round_id": q.round_id},
        "overall": as_dict(survey_rates(conn, actor, q.id)[0]),
    }
    if by:
        out["by"] = by
        out["groups"] = [as_dict(g) for g in survey_rates(conn, actor, q.id, by=by)]
    out["definitions"] = [{"term": a, "text": b} for a, b in DEFINITIONS]
    return out


def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


def score_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


# --- populations ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PopulationRow:
    unit: str
    kind: UnitKind
    parent: str | None
    population: int | None
    share: float | None  # set on the row; None: the default
    default_share: float

    @property
    def effective_share(self) -> float:
        return self.default_share if self.share is None else self.share

    @property
    def quota(self) -> int | None:
        return quota_of(self.population, self.effective_share)


def list_populations(conn: sa.Connection, actor: Actor, *, all_units: bool = False) -> list[PopulationRow]:
    """Streets, towns and communities (every one), and the other units with a population (or, with ``all_units``,
    every active unit), with their populations and shares."""
    _require_any(actor, Action.manage_surveys, Action.view_scores)
    units = _Units(conn)
    pops = _populations(conn)
    active = set(conn.execute(sa.select(t.units.c.id).where(t.units.c.active.is_(True))).scalars())
    order = {UnitKind.street: 0, UnitKind.town: 1, UnitKind.community: 2}
    out = []
    for u in sorted(units.by_id.values(), key=lambda u: (order.get(u.kind, 3), u.code)):
        if u.id not in pops and not (u.kind in order and u.id in active) and not (all_units and u.id in active):
            continue
        parent = units.parent(u)
        pop = pops.get(u.id)
        out.append(
            PopulationRow(
                u.name,
                u.kind,
                parent.name if parent else None,
                pop.population if pop else None,
                pop.share if pop else None,
                default_share(u.kind, parent.kind if parent else None),
            )
        )
    return out


def _store_population(conn: sa.Connection, unit_id: int, population: int | None, share: float | None) -> None:
    p = t.survey_populations
    exists = conn.execute(sa.select(p.c.unit_id).where(p.c.unit_id == unit_id)).first()
    if population is None:
        if exists:
            conn.execute(sa.delete(p).where(p.c.unit_id == unit_id))
    elif exists:
        conn.execute(sa.update(p).where(p.c.unit_id == unit_id).values(population=population, share=share))
    else:
        conn.execute(sa.insert(p).values(unit_id=unit_id, population=population, share=share))


def _check_population(unit: str, population: int | None, share: float | None) -> list[str]:
    errors = []
    if population is not None and population < 0:
        errors.append(f"“{unit}”的人口不能为负数")
    if share is not None and not 0 < share <= 1:
        errors.append(f"“{unit}”的比例须大于 0、不超过 100%")
    return errors


def set_populations(
    engine: sa.Engine, actor: Actor, rows: Iterable[tuple[str, int | None, float | None]], *, context: str = ""
) -> int:
    """Set (unit name, population, share) rows, all or nothing; a population of None removes the row; a share of
    None uses the default for the unit's kind. Returns how many rows were written."""
    require(actor, Action.manage_surveys)
    rows = list(rows)
    with audit.writing(engine, actor, context=context or "设置问卷人口基数") as conn:
        units = _Units(conn)
        errors: list[str] = []
        todo = []
        for name, population, share in rows:
            u = units.find(name)
            if u is None:
                near = units.closest(name)
                errors.append(f"单位“{name}”不在单位名录中" + (f"，是不是“{near}”？" if near else ""))
                continue
            errors += _check_population(u.name, population, share)
            todo.append((u.id, population, share))
        if errors:
            raise SurveyError(errors)
        for uid, population, share in todo:
            _store_population(conn, uid, population, share)
    return len(todo)


def set_population(
    engine: sa.Engine, actor: Actor, unit: str, population: int | None, share: float | None = None
) -> None:
    """The population (residents of a street, town or community; staff of a unit) a quota is a share of."""
    set_populations(engine, actor, [(unit, population, share)], context=f"设置问卷人口基数 {unit}")


POPULATION_SHEET = "人口"
POPULATION_COLUMNS: tuple[Column, ...] = (
    Column(
        "unit",
        "单位",
        ("单位名称", "街道", "街道(镇)", "名称", "社区", "单位编码"),
        required=True,
        width=22,
        note="街道、镇、社区（村）或单位的名称（或编码），须在单位名录中",
        example="城关街道",
    ),
    Column("kind", "单位类型", ("类型",), width=10, note="导出时填写，导入时不读"),
    Column("parent", "上级单位", ("所属街道", "上级"), width=16, note="导出时填写，导入时不读"),
    Column(
        "population",
        "人口/职工数",
        ("人口", "职工数", "人数", "常住人口", "人口数", "人口(职工数)", "人口数/职工数"),
        required=True,
        width=14,
        note="街道、镇、社区（村）填常住人口，单位填职工数；留空的行不导入",
        example=12000,
    ),
    Column(
        "share",
        "比例",
        ("调查比例", "配额比例", "覆盖比例"),
        width=10,
        note="配额占人口的比例，如 60% 或 0.6；留空用默认：镇 40%，城区街道 60%，社区随所属街道（镇），单位 100%",
        example="",
    ),
    Column("quota", "配额", (), width=10, note="导出时按人口和比例算出，导入时不读"),
)


def _parse_share(value: Any) -> float | None:
    text = clean(value)
    if not text:
        return None
    if text.endswith("%"):
        number = parse_number(text[:-1], "比例")
        return None if number is None else number / 100
    number = parse_number(value, "比例")
    if number is None:
        return None
    return number / 100 if number > 1 else number


@contextmanager
def _temp_file(filename: str, data: bytes) -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="civeval-survey-") as tmp:
        path = Path(tmp) / safe_name(filename)
        path.write_bytes(data)
        yield path


def import_populations(engine: sa.Engine, actor: Actor, filename: str, data: bytes) -> int:
    """Import a populations workbook (sheet 人口: 单位, 人口/职工数, 比例), all or nothing: raises WorkbookInvalid
    with every problem located. Rows with a blank population are left alone. Returns the rows written."""
    require(actor, Action.manage_surveys)
    name = safe_name(filename)
    if Path(name).suffix.lower() != ".xlsx":
        raise WorkbookInvalid([Problem(name, None, None, None, "人口表请使用 .xlsx 文件")])
    problems = Problems(name)
    with _temp_file(name, data) as path, audit.writing(engine, actor, context=f"导入问卷人口基数 {name}") as conn:
        book = Book(path, problems)
        ws = book.sheet(POPULATION_SHEET) or book.find_table_sheet(POPULATION_COLUMNS)
        table = book.read_table(ws, POPULATION_COLUMNS) if ws is not None else None
        if ws is None:
            problems.add(
                POPULATION_SHEET, None, None, f"缺少工作表“{POPULATION_SHEET}”（须有“单位”和“人口/职工数”两列）"
            )
        units = _Units(conn)
        todo: dict[int, tuple[int, int, float | None]] = {}
        for row in table.rows if table else []:
            col = table.col
            text = row.text("unit", punctuation=False)
            raw_pop = row.get("population")
            if not text:
                problems.add(table.sheet, row.number, col("unit"), "单位不能为空")
                continue
            u = units.find(text)
            if u is None:
                near = units.closest(text)
                problems.add(
                    table.sheet,
                    row.number,
                    col("unit"),
                    f"单位“{text}”不在单位名录中" + (f"，是不是“{near}”？" if near else ""),
                )
                continue
            if u.id in todo:
                problems.add(table.sheet, row.number, col("unit"), f"单位“{u.name}”重复（与第{todo[u.id][0]}行相同）")
                continue
            try:
                population = parse_number(raw_pop, "人口/职工数")
                if population is not None and not population.is_integer():
                    raise ValueError(f"人口/职工数“{clean(raw_pop)}”不是整数")
            except ValueError as e:
                problems.add(table.sheet, row.number, col("population"), str(e))
                continue
            try:
                share = _parse_share(row.get("share"))
                if share is not None and not 0 < share <= 1:
                    raise ValueError(f"比例“{clean(row.get('share'))}”须大于 0、不超过 100%")
            except ValueError as e:
                problems.add(table.sheet, row.number, col("share"), str(e))
                continue
            if population is None:
                continue
            todo[u.id] = (row.number, int(population), share)
        problems.raise_if_any()
        for uid, (_, population, share) in todo.items():
            _store_population(conn, uid, population, share)
    return len(todo)


def _xlsx_bytes(build) -> bytes:
    with tempfile.TemporaryDirectory(prefix="civeval-survey-") as tmp:
        path = Path(tmp) / "out.xlsx"
        build(path)
        return path.read_bytes()


def populations_workbook(conn: sa.Connection, actor: Actor) -> bytes:
    """Every street, town, community and active unit with its population, share and quota, as the workbook
    import_populations reads (the template when nothing is set yet)."""
    rows = list_populations(conn, actor, all_units=True)

    def build(path: Path) -> None:
        w = Writer(path)
        w.table(
            POPULATION_SHEET,
            POPULATION_COLUMNS,
            [
                {
                    "unit": r.unit,
                    "kind": r.kind.label,
                    "parent": r.parent or "",
                    "population": r.population,
                    "share": f"{r.share * 100:g}%" if r.share is not None else "",
                    "quota": r.quota,
                }
                for r in rows
            ],
        )
        w.notes(
            "问卷人口基数 填写说明",
            [
                "配额 = ⌈人口 × 比例⌉；覆盖率 = 有效问卷数 ÷ 配额。",
                "比例留空时用默认值：镇 40%，城区街道 60%，社区（村）随所属街道（镇），单位按职工 100%。",
                "人口/职工数留空的行导入时不改动；单位类型、上级单位和配额三列只供查看，导入时不读。",
            ],
            [(POPULATION_SHEET, POPULATION_COLUMNS)],
        )
        w.close()

    return _xlsx_bytes(build)


ANSWER_SHEET = "答卷"
QUESTIONS_SHEET = "题目"
TEMPLATE_FIELDS = (
    ("external_id", "序号"),
    ("answered_at", "提交答卷时间"),
    ("street", "所在街道（镇）"),
    ("community", "所在社区（村）"),
    ("unit", "所在单位"),
    ("respondent_kind", "受访者身份"),
)


def answer_template(conn: sa.Connection, actor: Actor, questionnaire_id: int) -> bytes:
    """An .xlsx to collect answers in (paper sheets typed in later, or the questions to set up an online survey
    tool): sheet 答卷 with one column per field and question (drop-downs of the register's streets and
    communities and each question's choices), sheet 题目 listing the questions, and 填写说明. Importing it back
    needs no mapping change."""
    q = get_questionnaire(conn, actor, questionnaire_id)
    units = _Units(conn)
    streets = tuple(u.name for u in sorted(units.by_id.values(), key=lambda u: u.code) if u.kind in AREA_KINDS)
    communities = tuple(
        u.name for u in sorted(units.by_id.values(), key=lambda u: u.code) if u.kind is UnitKind.community
    )
    columns = [Column(k, h, width=14 if k != "answered_at" else 20) for k, h in TEMPLATE_FIELDS]
    columns += [
        Column(question_field(x.code), f"{n}、{x.text}", width=24, wrap=True) for n, x in enumerate(q.questions, 1)
    ]
    choices: dict[str, Choice] = {
        "street": Choice(streets),
        "community": Choice(communities),
        "respondent_kind": Choice(tuple(RespondentKind.labels())),
    }
    choices.update({question_field(x.code): Choice(x.choices) for x in q.questions if x.choices})
    question_columns = (
        Column("n", "题号", width=6),
        Column("code", "编号", width=8),
        Column("text", "题目", width=50, wrap=True),
        Column("kind", "类型", width=8),
        Column("standard", "对应测评标准", width=14),
        Column("choices", "选项", width=30, wrap=True),
        Column("yes", "计为“是”的选项", width=16),
    )

    def build(path: Path) -> None:
        w = Writer(path)
        w.table(ANSWER_SHEET, columns, [], choices={k: v for k, v in choices.items() if v.values})
        w.table(
            QUESTIONS_SHEET,
            question_columns,
            [
                {
                    "n": n,
                    "code": x.code,
                    "text": x.text,
                    "kind": x.kind.label,
                    "standard": x.standard or "",
                    "choices": "、".join(x.choices),
                    "yes": "、".join(x.yes_values),
                }
                for n, x in enumerate(q.questions, 1)
            ],
        )
        scores = "、".join(f"{k} {v:g}" for k, v in q.scores.items())
        w.notes(
            f"{q.name} 答卷 填写说明",
            [
                "每行一份问卷（一位受访者）。“序号”用来识别已导入过的答卷，同一问卷内不能重复。",
                "所在街道（镇）、社区（村）或单位至少填一项，名称须与单位名录一致；填了社区可不填街道。",
                "每题从下拉列表中选择；不答的题留空。计分题答了不到一半的问卷为无效问卷，保留但不计入比率。",
                f"满意度分值：{scores}。",
                *(f"{a}：{b}" for a, b in DEFINITIONS),
            ],
            [(ANSWER_SHEET, columns)],
        )
        w.close()

    return _xlsx_bytes(build)


def answer_template_name(q: Questionnaire) -> str:
    return safe_name(f"{q.name}-答卷模板.xlsx".replace("/", "_"))


# --- the demo city's questionnaire ---------------------------------------------------------------------------------


def demo_survey(engine: sa.Engine, seed: int | str = 1) -> dict[str, int]:
    """The demo city's questionnaire for its latest round: drafted from the index (default_questionnaire), with
    populations for every street, town and community and six units' staff, and a few hundred answers written as
    问卷星 exports them (an .xlsx: 序号, 提交答卷时间, 所用时间, 来源, then one column per question) and imported
    through import_answers with the mapping it proposes. Some streets meet their quota, some do not; a few
    respondents skip most questions (无效问卷). Returns the counts. Deterministic for a seed."""
    import random

    rng = random.Random(f"{seed}:survey")
    office = Actor.system("演示数据")
    with engine.connect() as conn:
        index_id = conn.execute(sa.select(t.indexes.c.id).order_by(t.indexes.c.id)).scalars().first()
        last = conn.execute(sa.select(t.rounds).order_by(t.rounds.c.start_date.desc())).mappings().first()
        index = repo.load_index(conn, index_id)
        units = _Units(conn)
    start = last["start_date"] if last else audit.today() - dt.timedelta(days=2)
    end = last["end_date"] if last else audit.today() + dt.timedelta(days=2)
    spec = default_questionnaire(index, name=f"{start.year}年{start.month}月文明城市创建问卷调查", index_id=index_id)
    spec = spec.model_copy(update={"round_id": last["id"] if last else None, "start_date": start, "end_date": end})
    qid = save_questionnaire(engine, office, spec)

    by_code = sorted(units.by_id.values(), key=lambda u: u.code)
    areas = [u for u in by_code if u.kind in AREA_KINDS]
    small = len(areas) > 20  # the city-scale demo: smaller samples, so it still loads in seconds
    communities = {a.id: [u for u in by_code if u.parent_id == a.id] for a in areas}
    departments = [u for u in by_code if u.kind is UnitKind.department]
    staff_units = rng.sample(departments, min(6, len(departments)))
    pops: list[tuple[str, int, float | None]] = []
    plan: list[tuple[_Unit | None, _Unit | None]] = []  # (street, unit) of each respondent
    efforts = [1.15, 0.75, 1.1, 0.6, 1.2, 0.9] * (len(areas) // 6 + 1)  # half the areas meet their quota
    rng.shuffle(efforts)
    for a, effort in zip(areas, efforts, strict=False):
        lo, hi = (80, 110) if a.kind is UnitKind.street else (40, 70)
        population = rng.randint(lo, hi) // (2 if small else 1)
        pops.append((a.name, population, None))
        comms = communities[a.id]
        for c in comms:
            pops.append((c.name, max(5, population // max(1, len(comms)) + rng.randint(-3, 3)), None))
        plan += [(a, None)] * round(quota_of(population, default_share(a.kind)) * effort)
    for u in staff_units:
        staff = rng.randint(10, 30)
        pops.append((u.name, staff, None))
        plan += [(None, u)] * round(staff * rng.choice([0.6, 0.8, 1.0, 1.0]))
    set_populations(engine, office, pops, context="演示数据：问卷人口基数")
    rng.shuffle(plan)

    q = _load_questionnaire(engine, qid)
    quality = {a.id: rng.uniform(0.72, 0.95) for a in areas} | {u.id: rng.uniform(0.8, 0.97) for u in staff_units}
    header = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]
    header += ["1、您所在的街道（镇）：", "2、您所在的社区（村）：", "3、您的工作单位：", "4、您的身份："]
    header += [f"{n}、{x.text}" for n, x in enumerate(q.questions, start=5)]
    local = audit.local_zone()
    first = dt.datetime.combine(start, dt.time(8), tzinfo=local)
    latest = audit.now().replace(tzinfo=dt.UTC).astimezone(local) - dt.timedelta(minutes=10)
    latest = min(latest, dt.datetime.combine(end, dt.time(20), tzinfo=local))
    span = max(60.0, (latest - first).total_seconds())
    moments = sorted(first + dt.timedelta(seconds=rng.uniform(0, span)) for _ in plan)
    rows = []
    for n, ((street, unit), moment) in enumerate(zip(plan, moments, strict=True), start=1):
        p = quality[(street or unit).id]
        comms = communities.get(street.id, []) if street else []
        community = rng.choice(comms).name if comms and rng.random() < 0.9 else ""
        skip = rng.random() < 0.04  # answers little: 无效问卷
        answers = []
        for x in q.questions:
            if x.kind is QuestionKind.free:
                answers.append(rng.choice(["", "", "", "多设置垃圾分类宣传栏", "背街小巷路灯需要维修", "加强停车管理"]))
            elif (skip and rng.random() < 0.8) or rng.random() < 0.03:
                answers.append("(跳过)")
            elif x.kind is QuestionKind.satisfaction:
                roll = rng.random()
                answers.append("满意" if roll < p - 0.15 else "基本满意" if roll < p + 0.1 else "不满意")
            else:
                chance = {QuestionKind.awareness: p, QuestionKind.support: min(0.98, p + 0.05)}.get(x.kind, p - 0.3)
                answers.append(x.choices[0] if rng.random() < chance else x.choices[1])
        rows.append(
            [
                n,
                moment.strftime("%Y/%m/%d %H:%M:%S"),
                f"{rng.randint(60, 400)}秒",
                rng.choice(["微信", "微信", "手机提交", "链接"]),
                "直接访问",
                f"10.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
                street.name if street else "",
                community,
                unit.name if unit else "",
                "职工" if unit else "居民",
                *answers,
            ]
        )
    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf, {"in_memory": True})
    sheet = book.add_worksheet("Sheet1")
    for r, row in enumerate([header, *rows]):
        sheet.write_row(r, 0, row)
    book.close()
    done = import_answers(engine, office, qid, f"问卷星导出_{qid}_{start:%Y%m%d}.xlsx", buf.getvalue())
    return {"questionnaire": qid, "responses": done.new, "invalid": done.invalid}


def _load_questionnaire(engine: sa.Engine, questionnaire_id: int) -> Questionnaire:
    with engine.connect() as conn:
        return _load(conn, questionnaire_id)
