"""Scoring (DOMAIN.md, "Scoring definitions the product uses"): pure functions, no database, no Streamlit.

- One observation: pass/fail → full marks or 0; graded → factor × full marks (A/B/C/D = 100/66/33/0 %,
  ``GRADE_FACTORS``); deduction → full − min(cap, per_instance × instances), never below 0.
  Not applicable (``na``) counts in neither score nor full marks.
- Failed (becomes a finding) = applicable and score < full marks.
- Score rate of any group = Σ score / Σ full over its observations; None when Σ full = 0.
- Rankings sort by score rate (descending), ties by fewer findings, then by name.
- Round field score: each standard scores full × (Σ score / Σ full over the points it was checked at), so it counts
  once however many points were drawn; the field score is the sum over standards. A failed observation of a standard
  with veto ``zero_item`` zeroes its whole item (测评内容); veto ``alert`` is listed and scores as usual.
- Round-over-round delta = current rate − previous rate; None when either is None.

Scores are not rounded here; rounding is for display. Rates are compared to 9 decimals when ranking, so that
1.98 / 3 and 0.66 tie.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, Protocol, TypeVar

from civeval.models import GRADE_FACTORS, Result, ScoringMode, Veto

T = TypeVar("T")

_GRADES = frozenset({Result.A, Result.B, Result.C, Result.D})
_RATE_DIGITS = 9  # rates equal to this many decimals tie in a ranking


class ScoringError(ValueError):
    """An answer that does not fit its standard's scoring mode (or inconsistent round records)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"测评标准 {code}：{message}")
        self.code = code


class StandardLike(Protocol):
    """What scoring needs of a standard (``civeval.models.Standard`` has it)."""

    code: str
    full_marks: float
    scoring_mode: ScoringMode
    per_instance: float | None
    cap: float | None
    veto: Veto


class AnswerLike(Protocol):
    """What scoring needs of an answer (``civeval.models.Answer`` has it); result may be a Result or its value."""

    result: Result | str
    instances: int | None


# --- one observation ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScoredObservation:
    """One standard's answer at one point (or for one unit), scored.

    ``full_marks`` is the standard's; ``full`` is what the observation adds to full marks (0 when not applicable).
    """

    standard_code: str
    scoring_mode: ScoringMode
    full_marks: float
    veto: Veto
    result: Result
    instances: int | None
    score: float
    full: float
    failed: bool
    applicable: bool

    @property
    def rate(self) -> float | None:
        return rate(self.score, self.full)


def observation_score(standard: StandardLike, answer: AnswerLike) -> float | None:
    """The score of one answer; None when not applicable. Raises ScoringError for an answer that does not fit."""
    code = standard.code
    try:
        result = Result(answer.result)
    except ValueError:
        raise ScoringError(code, f"无法识别的测评结果“{answer.result}”") from None
    instances = answer.instances
    full = float(standard.full_marks)
    mode = ScoringMode(standard.scoring_mode)
    if full < 0:
        raise ScoringError(code, "分值不能为负数")
    if result is Result.na:
        return None
    if mode is ScoringMode.pass_fail:
        if result in _GRADES:
            raise ScoringError(code, f"按“符合/不符合”计分，不能给等级“{result.value}”")
        return full if result is Result.passed else 0.0
    if mode is ScoringMode.graded:
        if result not in _GRADES:
            raise ScoringError(code, f"按等级（A/B/C/D）计分，不能填“{result.label}”")
        return GRADE_FACTORS[result.value] * full
    # deduction
    if standard.per_instance is None or standard.cap is None:
        raise ScoringError(code, "扣分方式须填写每处扣分和扣分上限")
    if result in _GRADES:
        raise ScoringError(code, f"按处扣分，不能给等级“{result.value}”")
    if instances is None:
        if result is Result.failed:
            raise ScoringError(code, "按处扣分，判为不符合时须填写问题处数")
        instances = 0
    if instances < 0:
        raise ScoringError(code, "问题处数不能为负数")
    if result is Result.passed and instances > 0:
        raise ScoringError(code, f"判为符合，却填写了 {instances} 处问题")
    if result is Result.failed and instances == 0:
        raise ScoringError(code, "判为不符合，问题处数却为 0")
    deduction = min(float(standard.cap), float(standard.per_instance) * instances)
    return max(0.0, full - deduction)


def score_observation(standard: StandardLike, answer: AnswerLike) -> ScoredObservation:
    """Score one answer against its standard.

    Pass/fail and graded standards ignore ``instances``. A deduction standard's answer is a count: result pass with
    instances None counts as 0; fail needs a count above 0; pass with a count above 0 is a contradiction.
    """
    score = observation_score(standard, answer)
    applicable = score is not None
    full = float(standard.full_marks) if applicable else 0.0
    score = score if score is not None else 0.0
    return ScoredObservation(
        standard_code=standard.code,
        scoring_mode=ScoringMode(standard.scoring_mode),
        full_marks=float(standard.full_marks),
        veto=Veto(standard.veto),
        result=Result(answer.result),
        instances=answer.instances,
        score=score,
        full=full,
        failed=applicable and score < full,
        applicable=applicable,
    )


# --- groups and rankings --------------------------------------------------------------------------


def rate(score: float, full: float) -> float | None:
    """Score rate (得分率): score / full; None when full is 0."""
    return score / full if full else None


@dataclass(frozen=True)
class GroupRate:
    """A group's totals: ``observations`` counts its applicable observations, ``findings`` its failed ones."""

    key: Hashable
    score: float
    full: float
    rate: float | None
    findings: int
    observations: int


def group_rates(
    observations: Iterable[T],
    key: Callable[[T], Hashable],
    *,
    score: Callable[[T], float] = attrgetter("score"),
    full: Callable[[T], float] = attrgetter("full"),
    failed: Callable[[T], bool] = attrgetter("failed"),
    applicable: Callable[[T], bool] | None = None,
) -> list[GroupRate]:
    """Score rate of each group of ``observations`` (any records carrying score, full and failed).

    Groups come in order of first appearance (use ``ranking`` to order them). ``applicable`` tells which records
    count as observations; by default the record's ``applicable`` attribute when it has one, else every record.
    A group whose observations are all not applicable has rate None.
    """
    is_applicable = applicable or (lambda r: getattr(r, "applicable", True))
    scores: dict[Hashable, list[float]] = {}
    fulls: dict[Hashable, list[float]] = {}
    findings: dict[Hashable, int] = {}
    counts: dict[Hashable, int] = {}
    for record in observations:
        k = key(record)
        if k not in scores:
            scores[k], fulls[k], findings[k], counts[k] = [], [], 0, 0
        scores[k].append(score(record))
        fulls[k].append(full(record))
        findings[k] += bool(failed(record))
        counts[k] += bool(is_applicable(record))
    out = []
    for k in scores:
        s, f = math.fsum(scores[k]), math.fsum(fulls[k])
        out.append(GroupRate(key=k, score=s, full=f, rate=rate(s, f), findings=findings[k], observations=counts[k]))
    return out


def group_rate(
    observations: Iterable[T],
    *,
    score: Callable[[T], float] = attrgetter("score"),
    full: Callable[[T], float] = attrgetter("full"),
    failed: Callable[[T], bool] = attrgetter("failed"),
    key: Hashable = None,
) -> GroupRate:
    """All ``observations`` as one group (e.g. a whole round); rate None when there are none."""
    rates = group_rates(observations, lambda _: key, score=score, full=full, failed=failed)
    return rates[0] if rates else GroupRate(key=key, score=0.0, full=0.0, rate=None, findings=0, observations=0)


@dataclass(frozen=True)
class RankedGroup:
    """A place in a ranking: ``rank`` 1..n, or None for a group without a rate (listed last)."""

    rank: int | None
    group: GroupRate

    @property
    def key(self) -> Hashable:
        return self.group.key

    @property
    def rate(self) -> float | None:
        return self.group.rate

    @property
    def findings(self) -> int:
        return self.group.findings


def ranking(rates: Iterable[GroupRate], *, name: Callable[[Hashable], str] = str) -> list[RankedGroup]:
    """Groups by score rate (highest first), ties by fewer findings, then by ``name(key)``; numbered 1..n, no shared
    ranks. Groups without a rate (nothing applicable) come last, ordered the same way, with rank None."""
    groups = list(rates)
    rated_groups = sorted(
        (g for g in groups if g.rate is not None),
        key=lambda g: (-round(g.rate, _RATE_DIGITS), g.findings, name(g.key)),
    )
    unrated = sorted((g for g in groups if g.rate is None), key=lambda g: (g.findings, name(g.key)))
    return [RankedGroup(i, g) for i, g in enumerate(rated_groups, 1)] + [RankedGroup(None, g) for g in unrated]


# --- round field score ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FieldRecord:
    """One scored observation in a round, with the item (测评内容) its standard belongs to and, for the lists of
    vetoes and alerts, the point it was made at."""

    observation: ScoredObservation
    item_code: str
    point: Hashable = None

    @property
    def standard_code(self) -> str:
        return self.observation.standard_code


def field_record(standard: StandardLike, answer: AnswerLike, item_code: str, point: Hashable = None) -> FieldRecord:
    return FieldRecord(score_observation(standard, answer), item_code, point)


@dataclass(frozen=True)
class StandardScore:
    """One standard in a round's field score.

    ``raw_score`` = full marks × (Σ score / Σ full over its applicable observations); ``score`` is what the field
    score counts (0 when a veto zeroed its item); ``full`` is what it adds to the field full marks (its full marks
    when at least one observation was applicable, else 0); ``rate`` = raw_score / full.
    """

    code: str
    item_code: str
    full_marks: float
    full: float
    raw_score: float
    score: float
    rate: float | None
    observations: int  # applicable
    not_applicable: int
    findings: int
    vetoed: bool


@dataclass(frozen=True)
class VetoHit:
    """A veto standard that failed in the round: ``points`` where it failed (the records' ``point``)."""

    standard_code: str
    item_code: str
    veto: Veto
    findings: int
    points: tuple[Hashable, ...]


@dataclass(frozen=True)
class FieldScore:
    score: float
    full: float
    rate: float | None
    by_standard: list[StandardScore]
    vetoes: list[VetoHit]  # veto zero_item triggered: their items scored 0
    alerts: list[VetoHit]  # veto alert triggered: listed, scored as usual

    @property
    def zeroed_items(self) -> list[str]:
        return list(dict.fromkeys(v.item_code for v in self.vetoes))


def round_field_score(records: Iterable[FieldRecord]) -> FieldScore:
    """A round's field score: each standard counts once, full × (Σ score / Σ full over its points), summed; a failed
    observation of a ``zero_item`` veto standard zeroes its whole item. Standards come in order of first appearance.

    Raises ScoringError when one standard's records disagree on full marks, veto or item.
    """
    tally = FieldTally()
    for r in records:
        tally.add(r.observation, r.item_code, r.point)
    return tally.result()


class FieldTally:
    """``round_field_score`` taken one observation at a time, so that a round's 40,000 records are gone through once
    for every figure of it (``civeval.rounds.round_scores``)."""

    def __init__(self) -> None:
        # standard code → [first observation, item code, scores, fulls, not applicable, points where it failed]
        self._by_code: dict[str, list] = {}

    def add(self, o: ScoredObservation, item_code: str, point: Hashable = None) -> None:
        e = self._by_code.get(o.standard_code)
        if e is None:
            e = self._by_code[o.standard_code] = [o, item_code, [], [], 0, []]
        else:
            first = e[0]
            if o.full_marks != first.full_marks:
                raise ScoringError(o.standard_code, "同一轮次中分值不一致")
            if o.veto is not first.veto:
                raise ScoringError(o.standard_code, "同一轮次中一票否决设置不一致")
            if item_code != e[1]:
                raise ScoringError(o.standard_code, "同一轮次中所属测评内容不一致")
        if o.applicable:
            e[2].append(o.score)
            e[3].append(o.full)
            if o.failed:
                e[5].append(point)
        else:
            e[4] += 1

    def result(self) -> FieldScore:
        vetoes: list[VetoHit] = []
        alerts: list[VetoHit] = []
        for code, (first, item_code, _, _, _, failed) in self._by_code.items():
            if failed and first.veto is not Veto.none:
                hit = VetoHit(code, item_code, first.veto, len(failed), tuple(failed))
                (vetoes if first.veto is Veto.zero_item else alerts).append(hit)
        zeroed = {v.item_code for v in vetoes}
        by_standard = []
        for code, (first, item_code, scores, fulls, not_applicable, failed) in self._by_code.items():
            full_marks = first.full_marks
            r_ = rate(math.fsum(scores), math.fsum(fulls))
            raw_score = full_marks * r_ if r_ is not None else 0.0
            vetoed = item_code in zeroed
            by_standard.append(
                StandardScore(
                    code=code,
                    item_code=item_code,
                    full_marks=full_marks,
                    full=full_marks if scores else 0.0,
                    raw_score=raw_score,
                    score=0.0 if vetoed else raw_score,
                    rate=r_,
                    observations=len(scores),
                    not_applicable=not_applicable,
                    findings=len(failed),
                    vetoed=vetoed,
                )
            )
        score = math.fsum(s.score for s in by_standard)
        full = math.fsum(s.full for s in by_standard)
        return FieldScore(score, full, rate(score, full), by_standard, vetoes, alerts)


# --- round over round -----------------------------------------------------------------------------


def delta(current: float | None, previous: float | None) -> float | None:
    """Round-over-round change of a rate: current − previous; None when either is None."""
    if current is None or previous is None:
        return None
    return current - previous


def rate_deltas(current: Iterable[GroupRate], previous: Iterable[GroupRate]) -> dict[Any, float | None]:
    """For each group of the current round, its rate minus the same group's rate in the previous round (None when the
    group was not in the previous round or either rate is None)."""
    before = {g.key: g.rate for g in previous}
    return {g.key: delta(g.rate, before.get(g.key)) for g in current}
