"""The composite mock score (综合模拟得分): the national score is field inspection, materials review and the public
questionnaire together. Each part's score rate is weighted (default field 40, materials 40, survey 20, out of 100),
and the rounds of a multi-year cycle are weighted by year (default 15 / 25 / 60 for the first, second and third
year).

- Field part: the round's field score rate (``scoring.round_field_score``: each standard once).
- Materials part: the same rule over the round's materials observations (each materials standard once, full marks ×
  its Σ score / Σ full over the units that answered it).
- Survey part: Σ full × rate / Σ full over the index's survey standards that the round's questionnaire asks, the rate
  of a standard being the questionnaire's 知晓率 / 支持率 / 参与率 or 满意度 ÷ 100 (``survey.standard_rates``).

A part with nothing scored is missing: the composite then says so, and gives the score of the parts present scaled to
their weights (``scaled``) beside the plain weighted sum (``score``), never passing one off as the other.
Weights are stored in ``composite_settings`` (changed with ``save_settings``; the CLI and the dashboard read them).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import sqlalchemy as sa

from civeval import audit, rounds, scoring
from civeval.models import Actor
from civeval.permissions import Action, require
from civeval.store import schema as t

PARTS = ("field", "materials", "survey")
PART_LABELS = {"field": "实地考察", "materials": "材料审核", "survey": "问卷调查"}
DEFAULT_PART_WEIGHTS = {"field": 40.0, "materials": 40.0, "survey": 20.0}
DEFAULT_YEAR_WEIGHTS = (15.0, 25.0, 60.0)


class CompositeError(ValueError):
    """Weights or inputs that make no composite; the message is Chinese."""


@dataclass(frozen=True)
class Settings:
    part_weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_PART_WEIGHTS))
    year_weights: tuple[float, ...] = DEFAULT_YEAR_WEIGHTS
    cycle_start_year: int | None = None  # the first year of the current cycle; None: the latest round's year − 2

    def __post_init__(self) -> None:
        if set(self.part_weights) != set(PARTS):
            raise CompositeError("权重须包含实地考察、材料审核、问卷调查三部分")
        if any(w < 0 or not math.isfinite(w) for w in self.part_weights.values()):
            raise CompositeError("权重不能为负数")
        if sum(self.part_weights.values()) <= 0:
            raise CompositeError("三部分权重之和须大于 0")
        if not self.year_weights or any(w < 0 for w in self.year_weights) or sum(self.year_weights) <= 0:
            raise CompositeError("年度权重须为非负数，且之和大于 0")


def parse_weights(text: str, n: int) -> tuple[float, ...]:
    """ "40/40/20", "40,40,20", "40% 40% 20%" → (40.0, 40.0, 20.0); exactly ``n`` numbers."""
    parts = [p for p in text.replace("，", ",").replace("/", ",").replace("%", "").replace(" ", ",").split(",") if p]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        raise CompositeError(f"无法识别的权重“{text}”：请写成 40/40/20 这样的数字") from None
    if len(values) != n:
        raise CompositeError(f"权重“{text}”须有 {n} 个数字")
    return values


def load_settings(conn: sa.Connection) -> Settings:
    stored = {r.key: r.value for r in conn.execute(sa.select(t.composite_settings))}
    return Settings(
        part_weights={**DEFAULT_PART_WEIGHTS, **(stored.get("part_weights") or {})},
        year_weights=tuple(stored.get("year_weights") or DEFAULT_YEAR_WEIGHTS),
        cycle_start_year=stored.get("cycle_start_year"),
    )


def save_settings(engine: sa.Engine, actor: Actor, settings: Settings) -> None:
    """Store the weights (the office's administrators only)."""
    require(actor, Action.manage_rounds)
    values = {
        "part_weights": dict(settings.part_weights),
        "year_weights": list(settings.year_weights),
        "cycle_start_year": settings.cycle_start_year,
    }
    with audit.writing(engine, actor, context="综合得分权重") as conn:
        for key, value in values.items():
            done = conn.execute(
                sa.update(t.composite_settings).where(t.composite_settings.c.key == key).values(value=value)
            ).rowcount
            if not done:
                conn.execute(sa.insert(t.composite_settings).values(key=key, value=value))


# --- one round ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Composite:
    """A round's composite: the parts' rates (None: missing), the weights, and the score out of Σ weights (100)."""

    rates: Mapping[str, float | None]
    weights: Mapping[str, float]

    @property
    def total_weight(self) -> float:
        return math.fsum(self.weights.values())

    @property
    def present(self) -> list[str]:
        return [p for p in PARTS if self.rates.get(p) is not None]

    @property
    def missing(self) -> list[str]:
        return [p for p in PARTS if self.rates.get(p) is None and self.weights.get(p, 0) > 0]

    @property
    def complete(self) -> bool:
        return not self.missing

    def points(self, part: str) -> float | None:
        """What a part adds: weight × rate (e.g. 40 × 0.85 = 34)."""
        r = self.rates.get(part)
        return None if r is None else self.weights[part] * r

    @property
    def score(self) -> float:
        """Σ weight × rate over the parts present, out of the total weight; a missing part adds nothing."""
        return math.fsum(self.points(p) for p in self.present)

    @property
    def scaled(self) -> float | None:
        """The parts present scaled to the full weight (score ÷ their weights × total); None when none present."""
        w = math.fsum(self.weights[p] for p in self.present)
        return self.score / w * self.total_weight if w else None

    def sentence(self) -> str:
        parts = "，".join(
            f"{PART_LABELS[p]} {self.points(p):.2f}（得分率 {self.rates[p] * 100:.1f}% × {self.weights[p]:g}）"
            for p in self.present
        )
        text = f"综合模拟得分 {self.score:.2f} / {self.total_weight:g}：{parts or '尚无任何部分'}。"
        if self.missing and self.scaled is not None:
            text += f"{'、'.join(PART_LABELS[p] for p in self.missing)}尚无得分，按已有部分折算为 {self.scaled:.2f}。"
        return text


def combine(rates: Mapping[str, float | None], weights: Mapping[str, float] | None = None) -> Composite:
    weights = dict(weights or DEFAULT_PART_WEIGHTS)
    Settings(part_weights=weights)  # validates
    for p, r in rates.items():
        if r is not None and not 0 <= r <= 1 + 1e-9:
            raise CompositeError(f"{PART_LABELS.get(p, p)}得分率须在 0 与 1 之间")
    return Composite({p: rates.get(p) for p in PARTS}, weights)


def materials_rate(records: Sequence[rounds.ScoredRecord]) -> float | None:
    """The materials part of a round: each materials standard once, as the field score counts field standards."""
    mats = [r for r in records if r.point_code is None and r.applicable]
    if not mats:
        return None
    return scoring.round_field_score(scoring.FieldRecord(r.scored, r.item_code, r.unit) for r in mats).rate


def survey_rate(conn: sa.Connection, round_id: int) -> float | None:
    """The survey part of a round: its questionnaires' rates on the index's survey standards, full-mark weighted."""
    qids = list(conn.execute(sa.select(t.questionnaires.c.id).where(t.questionnaires.c.round_id == round_id)).scalars())
    if not qids:
        return None
    from civeval import survey  # the questionnaire module (survey → rounds; imported when a round has one)

    rates: dict[str, float] = {}
    for qid in qids:
        rates.update({k: v for k, v in survey.standard_rates(conn, qid).items() if v is not None})
    if not rates:
        return None
    index_id = conn.execute(sa.select(t.rounds.c.index_id).where(t.rounds.c.id == round_id)).scalar_one()
    index, _ = rounds.round_index(conn, index_id)
    full = {s.code: float(s.full_marks) for _, _, s in index.standards()}
    total = math.fsum(float(full.get(code, 0)) for code in rates)
    if total <= 0:
        return None
    return math.fsum(float(full.get(code, 0)) * r for code, r in rates.items()) / total


def round_composite(conn: sa.Connection, actor: Actor, round_id: int) -> Composite:
    """The composite of one round with the stored weights (the actor must see scores)."""
    require(actor, Action.view_scores)
    from civeval import archive  # archive reads this module

    if s := archive.for_actor(conn, actor, [round_id]).get(round_id):  # a closed round's recorded figures
        rates = {"field": s.field_rate, "materials": s.materials_rate, "survey": survey_rate(conn, round_id)}
        return combine(rates, load_settings(conn).part_weights)
    return of_scores(conn, rounds.round_scores(conn, actor, round_id))


def of_scores(conn: sa.Connection, s: rounds.RoundScores) -> Composite:
    """The composite of a round whose scores are already computed (the dashboard's, the bulletin's)."""
    materials = s.materials.rate if s.materials is not None else None  # materials_rate(s.records), summed already
    rates = {"field": s.field.rate, "materials": materials, "survey": survey_rate(conn, s.round.id)}
    return combine(rates, load_settings(conn).part_weights)


# --- a cycle of years ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class YearScore:
    year: int
    round_id: int | None
    round_name: str | None
    composite: Composite | None


@dataclass(frozen=True)
class Cycle:
    years: list[YearScore]  # the cycle's years in order
    weights: tuple[float, ...]

    @property
    def score(self) -> float | None:
        """Σ year weight × the year's composite score / Σ weights of the years that have one (out of 100)."""
        got = [(w, y.composite) for w, y in zip(self.weights, self.years, strict=True) if y.composite is not None]
        total = math.fsum(w for w, _ in got)
        return math.fsum(w * c.score for w, c in got) / total if total else None

    @property
    def missing_years(self) -> list[int]:
        return [y.year for y in self.years if y.composite is None]

    def sentence(self) -> str:
        if self.score is None:
            return ""
        text = (
            f"本周期（{self.years[0].year}–{self.years[-1].year} 年，年度权重 "
            f"{'/'.join(f'{w:g}' for w in self.weights)}）加权得分 {self.score:.2f}"
        )
        if self.missing_years:
            text += f"，{'、'.join(map(str, self.missing_years))} 年尚无模拟测评，按已有年度折算"
        return text + "。"


def cycle_score(year_scores: Sequence[float | None], weights: Sequence[float] = DEFAULT_YEAR_WEIGHTS) -> float | None:
    """Σ w × score / Σ w over the years with a score (None when none): 15/25/60 of 80, 85, 90 → 87.25."""
    if len(year_scores) != len(weights):
        raise CompositeError(f"周期有 {len(weights)} 年，给出了 {len(year_scores)} 个年度得分")
    got = [(w, s) for w, s in zip(weights, year_scores, strict=True) if s is not None]
    total = math.fsum(w for w, _ in got)
    return math.fsum(w * s for w, s in got) / total if total else None


def cycle(
    conn: sa.Connection, actor: Actor, *, upto: dt.date | None = None, known: Mapping[int, Composite] | None = None
) -> Cycle:
    """The current cycle: for each of its years, the composite of the year's last mock round (by start date).
    ``known``: composites already computed, by round id (the dashboard's own round), not computed again."""
    require(actor, Action.view_scores)
    settings = load_settings(conn)
    infos = [
        i for i in rounds.list_rounds(conn, actor) if i.kind.value == "mock" and (upto is None or i.start_date <= upto)
    ]
    n = len(settings.year_weights)
    last_year = max((i.start_date.year for i in infos), default=(upto or audit.today()).year)
    first = settings.cycle_start_year or last_year - n + 1
    years = []
    for k in range(n):
        year = first + k
        mine = sorted((i for i in infos if i.start_date.year == year), key=lambda i: (i.start_date, i.id))
        if mine:
            last = mine[-1]
            c = (known or {}).get(last.id) or round_composite(conn, actor, last.id)
            years.append(YearScore(year, last.id, last.name, c))
        else:
            years.append(YearScore(year, None, None, None))
    return Cycle(years, settings.year_weights)
