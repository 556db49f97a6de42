"""Red and black lists (红黑榜): which responsible units the office praises and which it names, by stated rules.

Rules (``Rules``; every threshold is configuration, loadable from YAML or TOML with ``parse_rules``):

- red (红榜): 整改率 ≥ ``red.min_rate`` (default 98%), overdue findings ≤ ``red.max_overdue`` (default 0), and at
  least ``red.min_due`` findings due (default 3, so that a unit with one fixed problem is not praised);
- black (黑榜): more than ``black.overdue_more_than`` overdue findings (default 5), or — when a round is given — a
  score rate among the ``black.bottom`` lowest of the units ranked in that round (default 3; applied only when more
  units than that are ranked).

A unit meeting both is listed black only. The rectification figures are those of civeval.metrics (DOMAIN.md
definitions) for the findings created from ``period_start`` (if given) up to ``as_of``, as they stood at the end of
``as_of``; the score rates are those of civeval.rounds.round_scores. The actor's permissions apply to both.
"""

from __future__ import annotations

import datetime as dt
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import xlsxwriter
import yaml

from civeval import audit, metrics, rounds
from civeval.metrics import RectificationMetrics, percent
from civeval.models import Actor
from civeval.xlsx import print_setup


class RulesError(ValueError):
    """Rule text that cannot be used; the Chinese message names the offending key."""


@dataclass(frozen=True)
class Rules:
    red_min_rate: float = 0.98  # 整改率不低于
    red_max_overdue: int = 0  # 逾期不超过
    red_min_due: int = 3  # 应整改问题至少
    black_overdue_more_than: int = 5  # 逾期超过
    black_bottom: int = 3  # 得分率倒数几名（0：不按得分率）

    def describe(self) -> list[str]:
        """The rules in Chinese, as stated on the sheet."""
        overdue = "无逾期问题" if self.red_max_overdue == 0 else f"逾期问题不超过 {self.red_max_overdue} 件"
        red = f"红榜：整改率不低于 {percent(self.red_min_rate)}，{overdue}，且应整改问题不少于 {self.red_min_due} 件。"
        black = f"黑榜：逾期问题超过 {self.black_overdue_more_than} 件"
        if self.black_bottom:
            black += (
                f"；或指定测评轮次时，单位得分率排名倒数 {self.black_bottom} 名"
                f"（参与排名的单位多于 {self.black_bottom} 个时适用）"
            )
        return [red, black + "。符合其一即列入黑榜。", "同时符合红榜和黑榜条件的单位只列入黑榜。"]


# key in the rule text -> (Rules field, kind, Chinese name)
_KEYS: dict[str, tuple[str, str, str]] = {
    "red.min_rate": ("red_min_rate", "rate", "红榜整改率下限"),
    "red.max_overdue": ("red_max_overdue", "count", "红榜逾期件数上限"),
    "red.min_due": ("red_min_due", "count", "红榜应整改件数下限"),
    "black.overdue_more_than": ("black_overdue_more_than", "count", "黑榜逾期件数（超过即列入）"),
    "black.bottom": ("black_bottom", "count", "黑榜得分率倒数名次"),
}
RULES_EXAMPLE = """\
# 红黑榜规则（YAML；也可写成 TOML 的 [red] / [black] 两节）
red:
  min_rate: 0.98        # 整改率不低于（0～1 的小数，或写成 "98%"）
  max_overdue: 0        # 逾期问题不超过（件）
  min_due: 3            # 应整改问题不少于（件）
black:
  overdue_more_than: 5  # 逾期问题超过（件）即列入黑榜
  bottom: 3             # 指定测评轮次时，得分率倒数几名列入黑榜（0：不按得分率）
"""


def _flatten(data: dict, prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, f"{key}."))
        else:
            out[key] = v
    return out


def _rate(key: str, value: Any) -> float:
    name = _KEYS[key][2]
    if isinstance(value, str) and value.strip().endswith(("%", "％")):
        try:
            value = float(value.strip()[:-1]) / 100
        except ValueError:
            raise RulesError(f"规则项“{key}”（{name}）须为百分数，如 98%，而不是“{value}”") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise RulesError(f"规则项“{key}”（{name}）须为 0～1 的小数或百分数（如 0.98 或 98%），而不是“{value}”")
    if not 0 <= value <= 1:
        raise RulesError(f"规则项“{key}”（{name}）须在 0 到 1 之间（如 0.98），或写成百分数（如 98%），而不是 {value}")
    return float(value)


def _count(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise RulesError(f"规则项“{key}”（{_KEYS[key][2]}）须为非负整数，而不是“{value}”")
    return value


def parse_rules(text: str) -> Rules:
    """Rules from YAML or TOML text (see RULES_EXAMPLE); keys left out keep their defaults. Raises RulesError with
    every problem, each naming its key."""
    try:
        data: Any = tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as e:
            raise RulesError(f"规则文本既不是有效的 YAML 也不是有效的 TOML：{e}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise RulesError("规则文本须是键值表，如 “red:” 下写 “min_rate: 0.98”（见示例）")
    values: dict[str, Any] = {}
    problems: list[str] = []
    for key, value in _flatten(data).items():
        if key not in _KEYS:
            problems.append(f"未知的规则项“{key}”，可用的有：{'、'.join(_KEYS)}")
            continue
        attr, kind, _ = _KEYS[key]
        try:
            values[attr] = _rate(key, value) if kind == "rate" else _count(key, value)
        except RulesError as e:
            problems.append(str(e))
    if problems:
        raise RulesError("；".join(problems))
    return Rules(**values)


def read_rules(path: str | Path) -> Rules:
    """Rules from a .yaml / .toml file; a problem is reported with the file's name."""
    path = Path(path)
    try:
        return parse_rules(path.read_text(encoding="utf-8"))
    except RulesError as e:
        raise RulesError(f"{path.name}：{e}") from None


def rules_dict(rules: Rules) -> dict[str, float | int]:
    """The rules keyed as in the rule text (red.min_rate …)."""
    return {key: getattr(rules, attr) for key, (attr, _, _) in _KEYS.items()}


# --- the lists --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    unit: str
    metrics: RectificationMetrics | None  # None: the unit had no findings in the period (listed by its score)
    score_rate: float | None = None  # in the round, when one was given and the unit was scored
    score_rank: int | None = None  # 1 = best
    ranked: int = 0  # how many units the round ranked
    reasons: tuple[str, ...] = ()

    @property
    def reason(self) -> str:
        return "；".join(self.reasons)


@dataclass(frozen=True)
class RedBlack:
    red: list[Entry]
    black: list[Entry]
    as_of: dt.date
    rules: Rules
    period_start: dt.date | None = None
    round_id: int | None = None
    round_name: str | None = None
    units: int = 0  # units considered (with findings in the period or scored in the round)
    notes: list[str] = field(default_factory=list)


def _red_reasons(m: RectificationMetrics, rules: Rules) -> tuple[str, ...] | None:
    if m.due < rules.red_min_due or m.rectification_rate is None:
        return None
    if m.rectification_rate < rules.red_min_rate or m.overdue > rules.red_max_overdue:
        return None
    overdue = "无逾期" if m.overdue == 0 else f"逾期 {m.overdue} 件"
    return (f"整改率 {percent(m.rectification_rate)}，{overdue}",)


def red_black(
    engine: sa.Engine,
    actor: Actor,
    *,
    as_of: dt.date,
    period_start: dt.date | None = None,
    round_id: int | None = None,
    rules: Rules | None = None,
) -> RedBlack:
    """The red and black lists as of ``as_of`` (see the module docstring for the rules)."""
    rules = rules or Rules()
    notes: list[str] = []
    with engine.connect() as conn:
        facts = metrics.finding_facts(conn, actor, as_of)
        scores = rounds.round_scores(conn, actor, round_id) if round_id is not None else None
    if period_start is not None:
        facts = [f for f in facts if audit.local_date(f.assigned_at) >= period_start]
    per_unit = metrics.by_group(facts, as_of, "unit")

    ranked: list = []
    bottom: set[str] = set()
    if scores is not None:
        ranked = [g for g in scores.by_unit if g.rank is not None]
        if rules.black_bottom and len(ranked) > rules.black_bottom:
            bottom = {g.key for g in ranked[-rules.black_bottom :]}
        elif rules.black_bottom:
            notes.append(f"本轮参与排名的单位只有 {len(ranked)} 个，未按得分率倒数 {rules.black_bottom} 名列入黑榜。")
    place = {g.key: g for g in ranked}
    n = len(ranked)

    red: list[Entry] = []
    black: list[Entry] = []
    for unit in sorted(set(per_unit) | set(place)):
        m = per_unit.get(unit)
        g = place.get(unit)
        entry = dict(
            unit=unit,
            metrics=m,
            score_rate=g.rate if g else None,
            score_rank=g.rank if g else None,
            ranked=n,
        )
        why: list[str] = []
        if m is not None and m.overdue > rules.black_overdue_more_than:
            why.append(f"逾期 {m.overdue} 件")
        if unit in bottom:
            from_bottom = n - g.rank + 1
            why.append(f"得分率 {percent(g.rate)}，排名倒数第 {from_bottom}（共 {n} 个单位）")
        if why:
            black.append(Entry(**entry, reasons=tuple(why)))
            continue
        if m is not None and (good := _red_reasons(m, rules)):
            red.append(Entry(**entry, reasons=good))

    red.sort(key=lambda e: (-(e.metrics.rectification_rate or 0), -e.metrics.due, e.unit))
    # most overdue first, then the lowest score rank
    black.sort(key=lambda e: (-(e.metrics.overdue if e.metrics else 0), -(e.score_rank or 0), e.unit))
    return RedBlack(
        red=red,
        black=black,
        as_of=as_of,
        rules=rules,
        period_start=period_start,
        round_id=round_id,
        round_name=scores.round.name if scores else None,
        units=len(set(per_unit) | set(place)),
        notes=notes,
    )


# --- Excel -------------------------------------------------------------------------------------------------

COLUMNS = ("序号", "单位", "应整改", "已销号", "整改率", "逾期", "得分率", "得分率排名", "列入理由")
_WIDTHS = (5, 24, 8, 8, 9, 7, 9, 10, 44)


def write_red_black(result: RedBlack, out: str | Path, *, office: str = "创文办") -> None:
    """The red and black lists on one printable sheet (A4 portrait, fit to width), with the rules and the
    definitions of the figures stated on it."""
    wb = xlsxwriter.Workbook(str(out))
    base = {"border": 1, "valign": "top", "font_size": 10, "text_wrap": True}
    f_title = wb.add_format({"bold": True, "font_size": 18, "align": "center", "valign": "vcenter"})
    f_text = wb.add_format({"font_size": 10, "text_wrap": True, "valign": "top"})
    f_red = wb.add_format({"bold": True, "font_size": 13, "font_color": "#C00000"})
    f_black = wb.add_format({"bold": True, "font_size": 13, "font_color": "#000000"})
    f_head = wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter"})
    f_cell = wb.add_format(base)
    f_num = wb.add_format({**base, "align": "center"})
    f_pct = wb.add_format({**base, "align": "center", "num_format": "0.0#%"})
    f_label = wb.add_format({"bold": True, "font_size": 10})
    ws = wb.add_worksheet("红黑榜")
    last = len(COLUMNS) - 1
    for c, w in enumerate(_WIDTHS):
        ws.set_column(c, c, w)

    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, "红黑榜", f_title)
    scope = f"统计截至 {result.as_of.isoformat()}"
    if result.period_start:
        scope += f"，统计期间 {result.period_start.isoformat()} 至 {result.as_of.isoformat()} 登记的问题"
    if result.round_name:
        scope += f"；得分率取自“{result.round_name}”"
    scope += f"；参与评定单位 {result.units} 个。出具单位：{office}"
    r = 1
    ws.merge_range(r, 0, r, last, scope, f_text)
    ws.set_row(r, 28)
    r += 2
    ws.write_string(r, 0, "评定规则", f_label)
    for line in result.rules.describe() + result.notes:
        r += 1
        ws.merge_range(r, 0, r, last, line, f_text)
        ws.set_row(r, 28 if len(line) > 60 else 15)

    def table(title: str, fmt, entries: list[Entry], empty: str) -> None:
        nonlocal r
        r += 2
        ws.write_string(r, 0, title, fmt)
        r += 1
        for c, h in enumerate(COLUMNS):
            ws.write_string(r, c, h, f_head)
        if not entries:
            r += 1
            ws.merge_range(r, 0, r, last, empty, f_cell)
        for n, e in enumerate(entries, 1):
            r += 1
            m = e.metrics
            ws.write_number(r, 0, n, f_num)
            ws.write_string(r, 1, e.unit, f_cell)
            for c, value in (
                (2, m.due if m else None),
                (3, m.closed_due if m else None),
                (5, m.overdue if m else None),
            ):
                if value is None:
                    ws.write_string(r, c, "—", f_num)
                else:
                    ws.write_number(r, c, value, f_num)
            for c, rate in ((4, m.rectification_rate if m else None), (6, e.score_rate)):
                if rate is None:
                    ws.write_string(r, c, "—", f_num)
                else:
                    ws.write_number(r, c, rate, f_pct)
            rank = f"{e.score_rank} / {e.ranked}" if e.score_rank else "—"
            ws.write_string(r, 7, rank, f_num)
            ws.write_string(r, 8, e.reason, f_cell)

    table("红榜", f_red, result.red, "本期没有单位符合红榜条件。")
    table("黑榜", f_black, result.black, "本期没有单位符合黑榜条件。")

    r += 2
    ws.write_string(r, 0, "指标口径", f_label)
    definitions = [(k, metrics.DEFINITIONS[k]) for k in ("应整改", "整改率", "逾期")]
    definitions.append(("得分率", "该单位负责的测评记录得分之和 ÷ 满分之和（不适用的不计）；排名按得分率从高到低。"))
    for name, text in definitions:
        r += 1
        ws.merge_range(r, 0, r, last, f"{name}：{text}", f_text)
        ws.set_row(r, 28)

    print_setup(ws, landscape=False, margins=(0.5, 0.5, 0.7, 0.7), footer="&C&9第 &P 页 / 共 &N 页")
    ws.print_area(0, 0, r, last)
    wb.close()


__all__ = [
    "RULES_EXAMPLE",
    "Entry",
    "RedBlack",
    "Rules",
    "RulesError",
    "parse_rules",
    "read_rules",
    "red_black",
    "rules_dict",
    "write_red_black",
]
