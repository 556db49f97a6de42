"""Forecast of the official field score from a sampled round: a stratified bootstrap over points.

A mock round checks a sample of points; the official evaluation will check another sample drawn the same way (a
fixed number of points per point type). From the round's records this module estimates the field score rate the
city would get — the round's own field score rate (``scoring.round_field_score``: each standard counts once,
full × Σscore/Σfull over the points it was checked at; a failed ``zero_item`` veto zeroes its item; ``alert``
scores as usual) — with an interval for it.

Method
------
- Only applicable field observations count (records with a point), as in ``rounds.round_scores``.
- Points are the units resampled: a point keeps all its observations together. Points are grouped into strata
  (point type by default) and resampled within each stratum, as the official draw fixes the count per stratum.
- Rao–Wu rescaling bootstrap: in a stratum of n_h ≥ 2 points each replicate draws n_h − 1 points with
  replacement and weights each drawn point by (times drawn) × n_h / (n_h − 1); the naive n_h-out-of-n_h bootstrap
  underestimates the variance by the factor (n_h − 1)/n_h, which matters with 2 points per type. A stratum with a
  single point cannot show its variation: the point stays in every replicate with weight 1 (``fixed_points``).
- Statistic with point weights w_p: each standard scores full_marks × Σ w_p·score / Σ w_p·full over the points
  that checked it (it adds its full marks when Σ w_p·full > 0); an item is zeroed when a drawn point (w_p > 0) has
  a failed observation of a ``zero_item`` veto standard in it. With all weights 1 this is exactly
  ``scoring.round_field_score`` (tests/test_forecast.py checks it, also for integer weights against duplicated
  records).
- Interval: percentiles of the replicate rates at (1 − level)/2 and (1 + level)/2. Estimate: the round's rate. It
  usually lies inside the interval, but need not: after a ``zero_item`` veto was triggered at one point, every
  replicate that leaves that point out scores higher.

What the interval means: the rate an official sample of the same design would give on average (the city's level
under this index and these inspectors), with ``level`` confidence. A single official draw scatters further around
that level, and a different index, stricter inspectors or a triggered veto are not in it (``Forecast.caveat``).

Pure computation on records plus ``forecast_round`` for a stored round; no Streamlit. numpy does the replicates:
per (point, standard) score and full matrices are built once, per stratum, and each batch of replicates is a matrix
product per stratum.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import sqlalchemy as sa

from civeval import rounds, scoring
from civeval.models import Actor, Veto

DEFAULT_STRATA_NAME = "点位类型"
UNAVAILABLE = "本轮实地考察的点位不足 2 个或没有可计分的测评标准，无法推算正式测评得分。"
_BATCH_CELLS = 4_000_000  # replicate weights held at once (batch × points, 32 MB)


class FieldRecordLike(Protocol):
    """What a forecast needs of a record (``rounds.ScoredRecord`` has it)."""

    scored: scoring.ScoredObservation
    item_code: str
    point_code: str | None
    point_type: str | None


@dataclass(frozen=True)
class Forecast:
    """The field score an official evaluation drawing the same kind of sample would give, with an interval.

    Rates are fractions (0.87 = 87 %). ``score``, ``low_score`` and ``high_score`` are the rates × ``full``, the
    field full marks of the observed round. ``points`` counts the round's points, ``strata`` its strata,
    ``fixed_points`` the points in single-point strata (kept in every replicate, so their variation is not in the
    interval). ``std_error`` is the standard deviation of the replicate rates. ``vetoed_items`` counts the items a
    ``zero_item`` veto zeroed in the round: replicates that leave its point out score higher, so the interval may
    then lie above the estimate.
    """

    estimate: float
    low: float
    high: float
    level: float
    score: float
    full: float
    low_score: float
    high_score: float
    points: int
    strata: int
    replicates: int
    seed: int
    fixed_points: int
    std_error: float
    vetoed_items: int = 0
    strata_name: str = DEFAULT_STRATA_NAME

    @property
    def sentence(self) -> str:
        """One sentence (zh-CN) saying what the forecast means."""
        return (
            f"按本轮抽取的 {self.points} 个点位推算：若正式测评按同样方式（按{self.strata_name}）抽取点位，"
            f"本市实地考察得分率有 {self.level * 100:g}% 的把握"
            f"在 {_percent(self.low)} 至 {_percent(self.high)} 之间"
            f"（约 {_marks(self.low_score)} 至 {_marks(self.high_score)} 分 / {_marks(self.full, whole=True)} 分），"
            f"本轮实测为 {_percent(self.estimate)}（{_marks(self.score)} 分）。"
        )

    @property
    def caveat(self) -> str:
        """What the interval leaves out (zh-CN), and the single-point strata when there are any."""
        text = (
            "该区间只反映抽到哪些点位带来的误差：正式测评单次抽样的得分还会在其上下波动，"
            "测评体系不同、测评员尺度更严或触发一票否决时，实际得分可能落在区间之外。"
        )
        if self.vetoed_items:
            text += (
                f"本轮有 {self.vetoed_items} 项测评内容因一票否决记 0 分：正式测评是否抽到这类点位，得分相差很大，"
                "区间可能不含本轮实测值。"
            )
        if self.fixed_points:
            text += (
                f"另有 {self.fixed_points} 个点位所在{self.strata_name}本轮只抽了 1 个，其波动无法估计，区间因此偏窄。"
            )
        return text


def forecast(
    records: Iterable[FieldRecordLike],
    *,
    strata: Callable[[FieldRecordLike], Hashable] = lambda r: r.point_type,
    strata_name: str = DEFAULT_STRATA_NAME,
    replicates: int = 1000,
    seed: int = 0,
    level: float = 0.95,
    observed: scoring.FieldScore | None = None,
) -> Forecast | None:
    """Forecast the official field score rate from a round's records (``rounds.RoundScores.records``).
    ``observed``: the round's field score when already computed (``RoundScores.field``), else computed here.

    ``strata(record)`` names a point's stratum (its first record's is used); ``strata_name`` is what the sentence
    calls it. Deterministic for a given ``seed``. None (see ``UNAVAILABLE``) when fewer than 2 points were checked
    or nothing applicable has full marks. Raises ``scoring.ScoringError`` for inconsistent records, as
    ``scoring.round_field_score`` does, and ValueError for a bad ``replicates`` or ``level``.
    """
    if replicates < 1:
        raise ValueError("replicates must be at least 1")
    if not 0 < level < 1:
        raise ValueError("level must be between 0 and 1")
    field = [r for r in records if r.point_code is not None and r.scored.applicable]
    if observed is None:
        observed = scoring.round_field_score(scoring.FieldRecord(r.scored, r.item_code, r.point_code) for r in field)
    if len({r.point_code for r in field}) < 2 or observed.rate is None:
        return None
    design = _Design(field, strata)

    rng = np.random.default_rng(seed)
    rates = np.concatenate([design.rates(w) for w in design.weights(rng, replicates)])
    tail = (1 - level) / 2
    low, high = (float(q) for q in np.nanquantile(rates, [tail, 1 - tail]))
    estimate = observed.rate
    return Forecast(
        estimate=estimate,
        low=low,
        high=high,
        level=level,
        score=observed.score,
        full=observed.full,
        low_score=low * observed.full,
        high_score=high * observed.full,
        points=design.n_points,
        strata=len(design.strata),
        replicates=replicates,
        seed=seed,
        fixed_points=design.fixed_points,
        std_error=float(np.nanstd(rates)),
        vetoed_items=len(observed.zeroed_items),
        strata_name=strata_name,
    )


def forecast_round(conn: sa.Connection, actor: Actor, round_id: int, **kw) -> Forecast | None:
    """``forecast`` of a stored round's records as ``rounds.round_scores`` gives them to ``actor`` (its
    permissions and scope apply). Keyword arguments go to ``forecast``."""
    return of_scores(rounds.round_scores(conn, actor, round_id), **kw)


def of_scores(scores: rounds.RoundScores, **kw) -> Forecast | None:
    """``forecast`` of a round whose scores are computed (its field score is not computed again)."""
    return forecast(scores.records, observed=scores.field, **kw)


# --- the weighted statistic -----------------------------------------------------------------------


class _Design:
    """A round's field records as per (point, standard) score and full matrices, points ordered by stratum, then code;
    standards by code (so that neither the columns nor the floating-point sums depend on record order).

    ``blocks``: (rows, columns, matrix) for each stratum of 2+ points and one for all single-point strata together;
    ``matrix[i, c]`` for c < m is Σ score, for c ≥ m Σ full, of the block's i-th point's observations of the
    standard in ``columns[c]`` (columns index [score of K standards | full of K standards], m = len(columns) / 2).
    A point type checks its own few dozen standards, so at city scale (thousands of points, hundreds of standards)
    the blocks hold a small fraction of a dense points × standards matrix.
    ``veto[p, j]``: failed observations at point p of ``zero_item`` veto standards of item j; ``item[k]``: the column
    of standard k's item in ``veto`` (−1 when no veto standard can zero it).
    """

    def __init__(self, records: Sequence[FieldRecordLike], strata: Callable[[FieldRecordLike], Hashable]) -> None:
        stratum_of: dict[Hashable, Hashable] = {}
        for r in records:
            stratum_of.setdefault(r.point_code, strata(r))
        order = sorted(stratum_of, key=lambda p: (_sort_key(stratum_of[p]), str(p)))
        self.point_codes = order
        self.n_points = n = len(order)
        row = {p: i for i, p in enumerate(order)}
        self.strata: list[tuple[int, int]] = []  # [start, stop) of each stratum's rows
        for i, p in enumerate(order):
            if i == 0 or stratum_of[p] != stratum_of[order[i - 1]]:
                self.strata.append((i, i + 1))
            else:
                self.strata[-1] = (self.strata[-1][0], i + 1)
        self.fixed_points = sum(1 for a, b in self.strata if b - a == 1)

        first: dict[str, FieldRecordLike] = {}
        for r in records:
            first.setdefault(r.scored.standard_code, r)
        codes = sorted(first)
        self.n_standards = k = len(codes)
        self.full_marks = np.asarray([first[c].scored.full_marks for c in codes], dtype=float)
        col = {c: i for i, c in enumerate(codes)}
        veto_items: dict[str, int] = {}
        vetoed: list[tuple[int, int]] = []
        for r in records:
            if r.scored.veto is Veto.zero_item and r.scored.failed:
                vetoed.append((row[r.point_code], veto_items.setdefault(r.item_code, len(veto_items))))
        self.veto = np.zeros((n, len(veto_items)))
        for p, j in vetoed:
            self.veto[p, j] += 1
        self.item = np.asarray([veto_items.get(first[c].item_code, -1) for c in codes], dtype=np.intp)
        self.zeroable = self.item >= 0

        rows = np.fromiter((row[r.point_code] for r in records), dtype=np.intp, count=len(records))
        cols = np.fromiter((col[r.scored.standard_code] for r in records), dtype=np.intp, count=len(records))
        scores = np.fromiter((r.scored.score for r in records), dtype=float, count=len(records))
        fulls = np.fromiter((r.scored.full for r in records), dtype=float, count=len(records))
        fixed = np.asarray([a for a, b in self.strata if b - a == 1], dtype=np.intp)
        groups: list[slice | np.ndarray] = [slice(a, b) for a, b in self.strata if b - a > 1]
        if len(fixed):
            groups.append(fixed)
        block_of, local_row = np.empty(n, dtype=np.intp), np.empty(n, dtype=np.intp)
        for i, rows_h in enumerate(groups):
            at = np.arange(n)[rows_h]
            block_of[at], local_row[at] = i, np.arange(len(at))
        by_block = np.argsort(block_of[rows], kind="stable")
        bounds = np.searchsorted(block_of[rows][by_block], np.arange(len(groups) + 1))
        self.blocks: list[tuple[slice | np.ndarray, np.ndarray, np.ndarray]] = []
        for i, rows_h in enumerate(groups):
            sel = by_block[bounds[i] : bounds[i + 1]]
            used, local_col = np.unique(cols[sel], return_inverse=True)
            m = len(used)
            matrix = np.zeros((len(np.arange(n)[rows_h]), 2 * m))
            np.add.at(matrix, (local_row[rows[sel]], local_col), scores[sel])
            np.add.at(matrix, (local_row[rows[sel]], local_col + m), fulls[sel])
            self.blocks.append((rows_h, np.concatenate([used, used + k]), matrix))

    def weights(self, rng: np.random.Generator, replicates: int) -> Iterable[np.ndarray]:
        """Rao–Wu replicate point weights, in batches of shape (batch, points)."""
        batch = max(1, min(replicates, _BATCH_CELLS // max(1, self.n_points)))
        done = 0
        while done < replicates:
            n = min(batch, replicates - done)
            w = np.ones((n, self.n_points))
            for a, b in self.strata:
                size = b - a
                if size < 2:
                    continue
                drawn = rng.integers(0, size, size=(n, size - 1)) + (np.arange(n) * size)[:, None]
                counts = np.bincount(drawn.ravel(), minlength=n * size).reshape(n, size)
                w[:, a:b] = counts * (size / (size - 1))
            done += n
            yield w

    def totals(self, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Field score and field full marks for each row of point weights ``w`` (shape (replicates, points))."""
        sums = np.zeros((w.shape[0], 2 * self.n_standards))
        for rows_h, cols_h, sub in self.blocks:
            sums[:, cols_h] += w[:, rows_h] @ sub
        ws, wf = sums[:, : self.n_standards], sums[:, self.n_standards :]
        present = wf > 0
        standard = self.full_marks * np.divide(ws, wf, out=np.zeros_like(ws), where=present)
        if self.veto.shape[1]:
            zeroed = (w @ self.veto) > 0
            standard[:, self.zeroable] *= ~zeroed[:, self.item[self.zeroable]]
        return standard.sum(axis=1), (present * self.full_marks).sum(axis=1)

    def rates(self, w: np.ndarray) -> np.ndarray:
        score, full = self.totals(w)
        return np.divide(score, full, out=np.full_like(score, np.nan), where=full > 0)


def _sort_key(key: Hashable) -> tuple[bool, str, str]:
    return (key is None, type(key).__name__, str(key))


def _percent(x: float) -> str:
    """0.8704 → "87.0%"."""
    return f"{x * 100:.1f}%"


def _marks(x: float, *, whole: bool = False) -> str:
    """Marks to one decimal; with ``whole``, 100.0 → "100"."""
    text = f"{x:.1f}"
    return text.removesuffix(".0") if whole else text


__all__ = [
    "DEFAULT_STRATA_NAME",
    "UNAVAILABLE",
    "FieldRecordLike",
    "Forecast",
    "forecast",
    "forecast_round",
    "of_scores",
]
