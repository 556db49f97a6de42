"""The bulletin (测评通报) of a round as one Excel workbook, ready to print on A4 and to send to leaders and units.

Sheets, in order:

- 封面: the title, the round, the key figures (field score, score rates and their change since the previous round,
  the rectification figures), the definitions of every figure (DOMAIN.md: every export states them next to the
  figures), how the figures were computed and when the file was written;
- 街道排名 / 单位排名 / 点位类型排名: the rankings with the change since the previous round, the bottom three marked,
  the rectification of each street's and unit's findings, and a bar chart of the score rates;
- 失分分析: the standards and the units losing most points;
- 趋势: the score rate and 整改率 across the rounds of the same kind, with a line chart;
- 问题清单: the gap list, one row per finding of the round as it stood on the as-of date;
- 整改台账: the rectification ledger of the same findings (dates, days to fix, re-inspections, on time or not);
- one sheet per street: its points worst first, and its findings.

Every figure is the one ``python -m civeval metrics --round R --as-of D --json`` prints (``metrics.round_report``,
built from the same ``dashboard.build``); the lists come from the same replay of each finding's events as of the
as-of date (``metrics.finding_facts``), so the ledger agrees with the rates. Figures are written as values (no
formulas to recalculate): rates as numbers with a % format, dates as dates; charts refer to the cells.

The workbook is written with xlsxwriter in constant-memory mode (every sheet top to bottom; a finished row leaves
memory), the tables' rows through ``xlsx.StreamingWorksheet.append_rows`` (whole rows at once: a bulletin with
100,000 findings is written in seconds). Each table's text is measured before it is written: column widths follow
it (a Chinese character counts two, within bounds per column), and text wider than its column wraps in a row made
tall enough for it, since rows cannot be revisited in this mode and LibreOffice does not fit row heights itself.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
import xlsxwriter

from civeval import audit, dashboard, findings, metrics, xlsx
from civeval.metrics import FindingFacts, percent
from civeval.models import Actor, FindingSource, FindingStatus
from civeval.xlsx import column_width, header_text, print_setup, sheet_name, text_lines, text_width

COVER = "封面"
RANK_SHEETS = {"street": "街道排名", "unit": "单位排名", "point_type": "点位类型排名"}
LOSSES = "失分分析"
TREND = "趋势"
GAP_LIST = "问题清单"
LEDGER = "整改台账"

RANK_NAME_HEADER = {"street": "街道/镇", "unit": "责任单位", "point_type": "点位类型"}
DELTA_HEADER = "较上轮\n（百分点）"
BOTTOM_MARK = dashboard.BOTTOM_MARK
YES = "是"

# On time or not (按期情况) in the ledger, as of the as-of date
ON_TIME, LATE, OVERDUE, NOT_DUE, LONG_TERM = "按期销号", "超期销号", "逾期未销号", "未到期", "长效整改"

PCT, PP, MARKS, DAYS, INT = "0.00%", "+0.00;-0.00;0.00", "0.00", "0.0", "0"
DATE = "yyyy-mm-dd"
LINE_PT = 13.5  # height of a printed line of 10-point text
# a score rate's cell: a bar from 0 to 100%
RATE_BAR = {"type": "data_bar", "bar_color": "#9DC3E6", "bar_solid": True, "min_type": "num", "min_value": 0,
            "max_type": "num", "max_value": 1}  # fmt: skip


class BulletinError(Exception):
    """A bulletin that cannot be written; the message is Chinese."""


# --- the data ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One finding of the round as it stood at the end of the as-of date (one row of 问题清单 and of 整改台账)."""

    code: str
    point_code: str
    point_name: str
    street: str
    point_type: str
    standard_code: str
    standard_text: str
    description: str
    unit: str
    severity: str  # label
    source: str  # label
    assigned: dt.date
    deadline: dt.date  # after extensions granted by the as-of date
    status: str  # label, as of the as-of date
    closed: dt.date | None
    days_to_fix: float | None  # closed − assigned, in days
    reinspections: int
    first_pass: bool | None  # passed at its first re-inspection (None: not re-inspected)
    overdue_days: int  # open and past its deadline: days since the deadline; else 0
    timeliness: str  # ON_TIME / LATE / OVERDUE / NOT_DUE / LONG_TERM
    long_term: bool
    recurred: bool
    open: bool

    @property
    def overdue(self) -> bool:
        return self.overdue_days > 0


@dataclass(frozen=True)
class StreetPart:
    name: str
    points: list[dashboard.PointRow]  # worst first
    findings: list[LedgerRow]  # open and overdue first


@dataclass(frozen=True)
class BulletinData:
    """Everything the bulletin prints: the round report (``metrics.round_report``) and the lists it does not hold."""

    report: dict
    office: str
    findings: list[LedgerRow]  # the gap list's order: street, point, standard, code
    streets: list[StreetPart]
    generated_at: dt.datetime  # local time

    @property
    def as_of(self) -> dt.date:
        return dt.date.fromisoformat(self.report["as_of"])


@dataclass(frozen=True)
class BulletinSummary:
    """What was written: the sheets in order with their data rows, and the file's size in bytes."""

    round_name: str
    as_of: dt.date
    sheets: tuple[tuple[str, int], ...]
    findings: int
    size: int | None = None
    path: Path | None = None

    @property
    def sheet_names(self) -> list[str]:
        return [name for name, _ in self.sheets]


def ledger_row(f: FindingFacts, detail: findings.Finding | None, as_of: dt.date) -> LedgerRow:
    """A finding's row as of ``as_of``: its state from the replayed events (``f``), its text from the finding."""
    closed_at = f.closed_at if f.closed else None
    closed = audit.local_date(closed_at) if closed_at else None
    overdue_days = (as_of - f.deadline).days if f.open and f.deadline < as_of else 0
    if f.long_term:
        timeliness = LONG_TERM
    elif closed is not None:
        timeliness = ON_TIME if closed <= f.deadline else LATE
    elif overdue_days:
        timeliness = OVERDUE
    else:
        timeliness = NOT_DUE
    return LedgerRow(
        code=f.code,
        point_code=f.point_code or "",
        point_name=f.point_name or "",
        street=f.street or "",
        point_type=f.point_type or "",
        standard_code=f.standard or "",
        standard_text=(detail.standard_text or "") if detail else "",
        description=detail.description if detail else "",
        unit=f.unit,
        severity=detail.severity.label if detail else "",
        source=FindingSource(f.source).label,
        assigned=audit.local_date(f.assigned_at),
        deadline=f.deadline,
        status=FindingStatus(f.status).label,
        closed=closed,
        days_to_fix=(closed_at - f.assigned_at).total_seconds() / 86400 if closed_at else None,
        reinspections=f.reinspections,
        first_pass=f.first_reinspection_passed,
        overdue_days=overdue_days,
        timeliness=timeliness,
        long_term=f.long_term,
        recurred=f.recurred,
        open=f.open,
    )


def gap_order(r: LedgerRow) -> tuple:
    return (r.street, r.point_code, r.standard_code, r.code)


def street_order(r: LedgerRow) -> tuple:
    """Open and overdue first, then open, then by deadline (as the dashboard's drill-down)."""
    return (not r.overdue, not r.open, r.deadline, r.code)


def gather(conn: sa.Connection, actor: Actor, round_id: int, as_of: dt.date | None = None) -> BulletinData:
    """The bulletin's figures and lists for one round as they stood at the end of ``as_of`` (default today). The
    actor's permissions apply (``view_scores`` and ``view_findings``)."""
    from civeval import notices  # the issuing office's name

    as_of = as_of or audit.today()
    d = dashboard.build(conn, actor, round_id, as_of)
    report = metrics.dashboard_report(d, conn)
    details = {f.id: f for f in findings.list_findings(conn, actor, round_id=round_id)}
    rows = sorted((ledger_row(f, details.get(f.id), as_of) for f in d.round_findings), key=gap_order)
    names = [r.name for r in d.by_street]
    names += sorted({r.street for r in rows if r.street} - set(names))
    by_street: dict[str, list[LedgerRow]] = {}
    for r in rows:
        by_street.setdefault(r.street, []).append(r)
    streets = [
        StreetPart(name, dashboard.drill(d, "street", name).points, sorted(by_street.get(name, []), key=street_order))
        for name in names
    ]
    now = audit.now().replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).replace(tzinfo=None)
    return BulletinData(report, notices.office_name(conn), rows, streets, now)


def write_bulletin(
    conn_or_engine: sa.Connection | sa.Engine,
    actor: Actor,
    round_id: int,
    out: str | Path | BinaryIO,
    *,
    as_of: dt.date | None = None,
) -> BulletinSummary:
    """Write the bulletin (测评通报) of a round to ``out`` (a path or a binary file) as it stood at the end of
    ``as_of`` (default today); returns what was written."""
    if isinstance(out, str | Path) and not Path(out).parent.is_dir():
        raise BulletinError(_cannot_write(out, FileNotFoundError()))
    if isinstance(conn_or_engine, sa.Engine):
        with conn_or_engine.connect() as conn:
            data = gather(conn, actor, round_id, as_of)
    else:
        data = gather(conn_or_engine, actor, round_id, as_of)
    return render(data, out)


def _cannot_write(out: object, e: BaseException) -> str:
    cause = e.args[0] if isinstance(e, xlsxwriter.exceptions.FileCreateError) and e.args else e
    why = {FileNotFoundError: "目录不存在", PermissionError: "没有写入权限", IsADirectoryError: "这是一个目录"}
    return f"无法写入 {out}（{why.get(type(cause), str(cause))}）"


def bulletin_bytes(engine: sa.Engine, actor: Actor, round_id: int, *, as_of: dt.date | None = None) -> bytes:
    """The bulletin as the bytes of an .xlsx file (for a download)."""
    buf = io.BytesIO()
    write_bulletin(engine, actor, round_id, buf, as_of=as_of)
    return buf.getvalue()


# --- writing -------------------------------------------------------------------------------------------------------

TEXT, WRAP, NUMBER, DATE_KIND = "text", "wrap", "number", "date"


@dataclass(frozen=True)
class Col:
    """A table column: its header, how its cells are written, the number format, and the bounds of its width."""

    header: str
    kind: str = TEXT  # TEXT, WRAP (long text, wrapped), NUMBER, DATE_KIND
    num_format: str | None = None
    width: float | None = None  # fixed width; None: from the text written
    max_width: float = 30


def _num(header: str, fmt: str = INT, width: float | None = None) -> Col:
    return Col(header, NUMBER, fmt, width)


class _Book:
    """The workbook, its formats, and the sheets written so far."""

    def __init__(self, out: str | Path | BinaryIO, data: BulletinData):
        target = str(out) if isinstance(out, str | Path) else out
        self.wb = xlsxwriter.Workbook(
            target,
            {
                "constant_memory": True,  # every sheet is written top to bottom
                "strings_to_numbers": False,
                "strings_to_formulas": False,
                "strings_to_urls": False,
                "default_format_properties": {"font_name": "宋体", "font_size": 10},
            },
        )
        self.data = data
        self.taken: set[str] = set()
        self.sheets: list[tuple[str, int]] = []
        r = data.report["round"]
        self.page_header = header_text(f"{data.office} 测评通报 · {r['name']}")
        wb = self.wb
        cell = {"border": 1, "border_color": "#BFBFBF", "valign": "top"}
        self.title = wb.add_format({"bold": True, "font_size": 18, "align": "center", "valign": "vcenter"})
        self.subtitle = wb.add_format({"bold": True, "font_size": 13, "align": "center", "valign": "vcenter"})
        self.sheet_title = wb.add_format({"bold": True, "font_size": 14, "valign": "vcenter"})
        self.section = wb.add_format({"bold": True, "font_size": 12, "valign": "vcenter"})
        self.note = wb.add_format({"font_size": 9, "font_color": "#595959", "text_wrap": True, "valign": "top"})
        self.header = wb.add_format(
            {**cell, "bold": True, "bg_color": "#DDEBF7", "text_wrap": True, "align": "center", "valign": "vcenter"}
        )
        self.label = wb.add_format({**cell, "bold": True, "bg_color": "#F2F2F2", "text_wrap": True})
        self.wrap_merged = wb.add_format({**cell, "text_wrap": True})
        self._cell = cell
        self._formats: dict[tuple[str, str | None], Any] = {}
        # conditional formats
        self.up = wb.add_format({"font_color": "#006100"})
        self.down = wb.add_format({"font_color": "#9C0006"})
        self.bottom = wb.add_format({"bg_color": "#FFC7CE"})
        self.alarm = wb.add_format({"font_color": "#C00000", "bold": True})
        wb.set_properties(
            {
                "title": f"{r['name']} 测评通报",
                "subject": f"测评通报（整改情况统计截至 {data.report['as_of']}）",
                "author": "civeval",
                "company": data.office,
                "category": "测评通报",
                "keywords": "测评通报, 整改台账, 问题清单",
                "comments": "由 civeval 生成；指标口径见“封面”。",
                "created": data.generated_at,
            }
        )

    def fmt(self, kind: str, num_format: str | None = None):
        """A cell format of the tables: text, wrapped text, or a number/date with its format."""
        key = (kind, num_format)
        if key not in self._formats:
            props = dict(self._cell)
            if kind == WRAP:
                props["text_wrap"] = True
            if num_format:
                props["num_format"] = num_format
            if kind in (NUMBER, DATE_KIND):
                props["align"] = "right" if kind == NUMBER else "center"
            self._formats[key] = self.wb.add_format(props)
        return self._formats[key]

    def sheet(self, name: str):
        ws = self.wb.add_worksheet(sheet_name(name, self.taken), worksheet_class=xlsx.StreamingWorksheet)
        ws.hide_gridlines(2)
        return ws

    def done(self, ws, rows: int) -> None:
        self.sheets.append((ws.get_name(), rows))

    def close(self) -> None:
        self.wb.close()


@dataclass
class _Table:
    """A table being written: its header row, first and last data rows, and the widest text per column."""

    cols: Sequence[Col]
    header_row: int
    last_row: int
    widths: list[int] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        return self.header_row + 1

    @property
    def rows(self) -> int:
        return self.last_row - self.header_row


def _col_width(col: Col, widest: float) -> float:
    """A column's width: fixed, or from the widest text in it (header included) within its bounds; number and date
    columns are narrow (their header wraps)."""
    if col.width is not None:
        return col.width
    if col.kind in (TEXT, WRAP):
        return column_width([widest], maximum=col.max_width)
    return max(8.0, min(12.0, text_width(col.header) / 2 + 2))


def _header_width(col: Col) -> int:
    return min(max(text_width(line) for line in col.header.split("\n")), 12)


def _heights(rows: list[Sequence[Any]], wrap: list[tuple[int, float]]) -> Iterable[float | None]:
    """Each row's height for its wrapped text (None: one line, the default height)."""
    for values in rows:
        lines = 1
        for c, per_line in wrap:
            v = values[c]
            if v:
                if "\n" in v:
                    n = text_lines(v, per_line + 1)
                else:
                    n = -(-((len(v.encode("utf-8")) + len(v)) >> 1) // per_line)  # text_width, inlined
                if n > lines:
                    lines = n
        yield LINE_PT * lines + 3 if lines > 1 else None


def _table(book: _Book, ws, r: int, cols: Sequence[Col], rows: Iterable[Sequence[Any]]) -> _Table:
    """Write a header at row ``r`` and the rows below it, in order (constant-memory mode); None is an empty cell.

    The text columns are measured first (one pass over the rows), so that a column's width is known before its
    cells are written and each row can be given the height its wrapped text needs: rows cannot be revisited in
    constant-memory mode, and LibreOffice does not fit row heights when it opens a file. Text wider than its
    column's bound wraps."""
    rows = rows if isinstance(rows, list) else list(rows)
    widths = [_header_width(col) for col in cols]
    for c, col in enumerate(cols):
        if col.width is None and col.kind in (TEXT, WRAP):
            widths[c] = max([widths[c], *(text_width(v[c]) for v in rows if v[c])])
    final = [_col_width(col, widths[c]) for c, col in enumerate(cols)]
    wrap = {
        c: final[c] - 1  # the cell's padding
        for c, col in enumerate(cols)
        if col.kind == WRAP or (col.kind == TEXT and widths[c] > final[c] - 1)
    }
    head_lines = max(text_lines(col.header, final[c]) for c, col in enumerate(cols))
    ws.set_row(r, LINE_PT * head_lines + 5)
    for c, col in enumerate(cols):
        ws.write_string(r, c, col.header, book.header)
    kinds = [{NUMBER: xlsx.NUMBER, DATE_KIND: xlsx.DATE}.get(col.kind, xlsx.STRING) for col in cols]
    fmts = [book.fmt(WRAP if c in wrap else col.kind, col.num_format) for c, col in enumerate(cols)]
    row = ws.append_rows(r + 1, rows, kinds, fmts, _heights(rows, list(wrap.items())) if wrap else None)
    return _Table(cols, r, row, widths)


def _set_widths(ws, *tables: _Table) -> list[float]:
    """Set each column's width from the text written in it (or its fixed width), within its bounds; for tables
    stacked on one sheet, the widest of them."""
    wanted = [[_col_width(col, t.widths[c]) for c, col in enumerate(t.cols)] for t in tables]
    widths = [max(w[c] for w in wanted if c < len(w)) for c in range(max(len(w) for w in wanted))]
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    return widths


def _finish_table(ws, table: _Table, *, freeze: bool = True, autofilter: bool = True) -> None:
    if freeze:
        ws.freeze_panes(table.first_row, 0)
    if autofilter:
        ws.autofilter(table.header_row, 0, max(table.header_row, table.last_row), len(table.cols) - 1)


def _sheet_head(book: _Book, ws, title: str, note: str, cols: Sequence[Col]) -> int:
    """The title (row 0) and a note (row 1) across the table below; returns the table's header row."""
    last = max(1, len(cols) - 1)
    ws.set_row(0, 24)
    ws.merge_range(0, 0, 0, last, title, book.sheet_title)
    across = sum(col.width or min(col.max_width, 14) if col.kind in (TEXT, WRAP) else 9 for col in cols)
    ws.set_row(1, 12.5 * text_lines(note, across * 1.1) + 4)  # the note's font is smaller
    ws.merge_range(1, 0, 1, last, note, book.note)
    return 2


def _pp(delta: float | None) -> float | None:
    return None if delta is None else delta * 100


def _pp_text(delta: float | None) -> str:
    return "—" if delta is None else f"{delta * 100:+.2f} 个百分点"


def _marks(x: float | None) -> str:
    return "—" if x is None else f"{round(x, 2):g}"


# --- 封面 ----------------------------------------------------------------------------------------------------------


def cover_figures(report: dict) -> list[tuple[str, Any, str | None, str]]:
    """The cover's key figures: (label, value, number format or None for text, note). Values are the report's
    (rates as fractions, changes in percentage points); None when undefined."""
    sc, rect, prev = report["scores"], report["rectification"]["overall"], report["previous_round"]
    field_, overall = sc["field"], sc["overall"]
    since = f"与上一轮同类测评“{prev['name']}”相比" if prev else "没有可比较的上一轮同类测评"
    vetoed = field_["vetoed_items"]
    alerts = field_["alerts"]
    days = rect["mean_days_to_fix"]

    def share(a: int, b: int) -> str:
        return f"{a} / {b}"

    return [
        ("实地考察得分", field_["score"], MARKS, f"满分 {_marks(field_['full'])}；测评标准 {field_['standards']} 条"),
        ("实地考察满分", field_["full"], MARKS, "每条测评标准只计一次"),
        ("实地考察得分率", field_["rate"], PCT, since),
        ("实地考察得分率较上轮（百分点）", _pp(field_["delta"]), PP, since),
        ("总得分率", overall["rate"], PCT, f"得分 {_marks(overall['score'])} / 满分 {_marks(overall['full'])}"),
        ("总得分率较上轮（百分点）", _pp(overall["delta"]), PP, since),
        ("不符合（测评记录）", overall["findings"], INT, f"适用的测评记录 {overall['observations']} 条"),
        ("综合模拟得分", report["composite"]["score"], MARKS, report["composite"]["sentence"]),
        *(
            [
                ("正式测评预测（下限）", fc["low"], PCT, fc["sentence"]),
                ("正式测评预测（上限）", fc["high"], PCT, fc["caveat"]),
            ]
            if (fc := report.get("forecast"))
            else []
        ),
        (
            "一票否决（测评内容）",
            len(vetoed),
            INT,
            "、".join(vetoed) + "（得分归零）" if vetoed else "无",
        ),
        (
            "专项预警",
            len(alerts),
            INT,
            "；".join(f"{a['standard_code']} 不符合 {a['findings']} 处（{'、'.join(a['points'])}）" for a in alerts)
            or "无",
        ),
        ("登记问题", rect["created"], INT, "本轮测评发现的问题，已作废的不计"),
        ("应整改", rect["due"], INT, "见下方口径"),
        ("已销号", rect["closed"], INT, f"其中属于应整改的 {rect['closed_due']} 件"),
        ("整改率", rect["rectification_rate"], PCT, share(rect["closed_due"], rect["due"])),
        ("按期整改率", rect["on_time_rate"], PCT, share(rect["closed_on_time"], rect["due"])),
        ("逾期", rect["overdue"], INT, "未销号且已过整改期限"),
        ("销号率", rect["closure_rate"], PCT, share(rect["closed"], rect["created"])),
        ("一次复查通过率", rect["first_pass_rate"], PCT, share(rect["first_pass"], rect["reinspected"])),
        ("平均整改时长（天）", days, "0.00", "已销号问题从交办到销号"),
        ("反弹率", rect["recurrence_rate"], PCT, share(rect["recurred"], rect["closed"])),
        ("长效整改", rect["long_term"], INT, "单独列示，不计为已整改"),
        ("未销号", rect["open"], INT, "已交办、整改中、待复查"),
    ]


def _cover(book: _Book) -> None:
    data, report = book.data, book.data.report
    r = report["round"]
    ws = book.sheet(COVER)
    widths = (32, 16, 74)
    for c, w in enumerate(widths):
        ws.set_column(c, c, w)
    total = sum(widths)
    ws.set_row(0, 36)
    ws.merge_range(0, 0, 0, 2, f"{data.office}测评通报", book.title)
    ws.set_row(1, 24)
    ws.merge_range(1, 0, 1, 2, r["name"], book.subtitle)
    meta = (
        f"类型：{r['kind_label']}　状态：{r['status_label']}　测评日期：{r['start_date']} 至 {r['end_date']}　"
        f"抽取点位 {r['points']} 个（已提交 {r['points_submitted']} 个）　整改情况统计截至：{report['as_of']}"
    )
    ws.set_row(2, 13 * text_lines(meta, total) + 6)
    ws.merge_range(2, 0, 2, 2, meta, book.note)
    head = 4
    ws.write_string(3, 0, "关键指标", book.section)
    for c, h in enumerate(("指标", "数值", "说明")):
        ws.write_string(head, c, h, book.header)
    row = head
    text = book.fmt(WRAP)
    for label, value, num_format, note in cover_figures(report):
        row += 1
        ws.write_string(row, 0, label, book.label)
        if value is None:
            ws.write_string(row, 1, "—", book.fmt(NUMBER))
        else:
            ws.write_number(row, 1, value, book.fmt(NUMBER, num_format))
        ws.write_string(row, 2, note, text)
        if num_format == PP and value is not None:
            ws.conditional_format(row, 1, row, 1, {"type": "cell", "criteria": ">", "value": 0, "format": book.up})
            ws.conditional_format(row, 1, row, 1, {"type": "cell", "criteria": "<", "value": 0, "format": book.down})
        lines = max(text_lines(note, widths[2]), text_lines(label, widths[0]))
        if lines > 1:
            ws.set_row(row, 14 * lines + 2)
    rows = row - head
    row += 2
    ws.write_string(row, 0, "指标口径", book.section)
    row += 1
    ws.write_string(row, 0, "名词", book.header)
    ws.merge_range(row, 1, row, 2, "口径", book.header)
    for d in report["definitions"]:
        row += 1
        ws.write_string(row, 0, d["term"], book.label)
        ws.merge_range(row, 1, row, 2, d["text"], book.wrap_merged)
        ws.set_row(row, 14 * text_lines(d["text"], widths[1] + widths[2]) + 4)
    row += 2
    how = (
        "计算方法：得分率按测评记录逐条计分后汇总（Σ得分 ÷ Σ满分，不适用的不计；实地考察每条测评标准只计一次）；"
        "较上轮为与上一轮同类测评同一对象得分率之差（百分点）。整改指标按本轮每个问题的事件记录，"
        f"重新推算其截至 {report['as_of']} 当日终了时的状态后统计，已作废的不计；与命令 "
        f"python -m civeval metrics --round {r['id']} --as-of {report['as_of']} --json 的结果一致。"
        "各表中的百分数为数值（设置了百分比格式），日期为日期值。"
    )
    ws.merge_range(row, 0, row, 2, how, book.note)
    ws.set_row(row, 13 * text_lines(how, total) + 4)
    row += 1
    made = f"生成时间：{data.generated_at:%Y-%m-%d %H:%M}　生成工具：civeval　出具单位：{data.office}"
    ws.merge_range(row, 0, row, 2, made, book.note)
    ws.freeze_panes(head + 1, 0)
    print_setup(ws, repeat=(head, head), header="&L&9" + book.page_header)
    ws.fit_to_pages(1, 1)  # the cover on one page
    ws.print_area(0, 0, row, 2)
    ws.activate()
    book.done(ws, rows)


# --- rankings ------------------------------------------------------------------------------------------------------


def rank_columns(dim: str) -> list[Col]:
    cols = [
        _num("名次", INT, 6),
        Col(RANK_NAME_HEADER[dim], max_width=28),
        _num("得分率", PCT, 10),
        _num(DELTA_HEADER, PP, 11),
        Col("标记", width=8),
        _num("不符合", INT, 8),
        _num("得分", MARKS, 9),
        _num("满分", MARKS, 9),
        _num("测评记录", INT, 9),
    ]
    if dim in ("street", "unit"):
        cols += [_num("应整改", INT, 8), _num("已销号", INT, 8), _num("整改率", PCT, 10), _num("逾期", INT, 7)]
    return cols


def rank_rows(report: dict, dim: str) -> list[list[Any]]:
    """One row per ranked group, in ranking order, as written (changes in percentage points)."""
    rect = {g["name"]: g for g in report["rectification"].get(f"by_{dim}", [])}
    out = []
    for g in report["scores"][f"by_{dim}"]:
        row = [
            g["rank"], g["name"], g["rate"], _pp(g["delta"]), BOTTOM_MARK if g["bottom"] else "", g["findings"],
            g["score"], g["full"], g["observations"],
        ]  # fmt: skip
        if dim in ("street", "unit"):
            m = rect.get(g["name"])
            row += [m["due"], m["closed"], m["rectification_rate"], m["overdue"]] if m else [0, 0, None, 0]
        out.append(row)
    return out


def _ranking(book: _Book, dim: str) -> None:
    report = book.data.report
    name = RANK_SHEETS[dim]
    ws = book.sheet(name)
    cols = rank_columns(dim)
    prev = report["previous_round"]
    note = (
        "排名按得分率从高到低，相同时不符合少者在前；参与排名多于三个时，末三位标“后三名”（红底）。"
        + (
            f"“较上轮”为与上一轮同类测评“{prev['name']}”同一对象得分率之差（百分点，绿升红降）。"
            if prev
            else "没有可比较的上一轮同类测评，“较上轮”空白。"
        )
        + (f"整改情况为本轮问题截至 {report['as_of']} 的状态（口径见“封面”）。" if dim in ("street", "unit") else "")
    )
    head = _sheet_head(book, ws, f"{RANK_NAME_HEADER[dim]}得分率排名 · {report['round']['name']}", note, cols)
    rows = rank_rows(report, dim)
    table = _table(book, ws, head, cols, rows)
    widths = _set_widths(ws, table)
    first, last = table.first_row, table.last_row
    n_cols = len(cols)
    if rows:
        delta_col = 3
        ws.conditional_format(
            first,
            delta_col,
            last,
            delta_col,
            {
                "type": "icon_set",
                "icon_style": "3_arrows",
                # up from +0.005, level within ±0.005, down below (the cells show two decimals)
                "icons": [
                    {"criteria": ">=", "type": "number", "value": 0.005},
                    {"criteria": ">=", "type": "number", "value": -0.005},
                ],
            },
        )
        ws.conditional_format(
            first, delta_col, last, delta_col, {"type": "cell", "criteria": ">", "value": 0, "format": book.up}
        )
        ws.conditional_format(
            first, delta_col, last, delta_col, {"type": "cell", "criteria": "<", "value": 0, "format": book.down}
        )
        ws.conditional_format(first, 2, last, 2, RATE_BAR)
        ws.conditional_format(
            first,
            0,
            last,
            n_cols - 1,
            {"type": "formula", "criteria": f'=$E{first + 1}="{BOTTOM_MARK}"', "format": book.bottom},
        )
        if dim in ("street", "unit"):
            ws.conditional_format(
                first, n_cols - 1, last, n_cols - 1, {"type": "cell", "criteria": ">", "value": 0, "format": book.alarm}
            )
    _finish_table(ws, table)
    ranked = [g for g in report["scores"][f"by_{dim}"] if g["rank"] is not None and g["rate"] is not None]
    if ranked:
        chart = book.wb.add_chart({"type": "bar"})
        sheet = ws.get_name()
        r1, r2 = first, first + len(ranked) - 1
        chart.add_series(
            {
                "name": "得分率",
                "categories": [sheet, r1, 1, r2, 1],
                "values": [sheet, r1, 2, r2, 2],
                "fill": {"color": "#4E79A7"},
                "points": [{"fill": {"color": "#E15759"}} if g["bottom"] else None for g in ranked],
                "data_labels": {"value": True, "num_format": "0.0%", "font": {"size": 8}},
                "gap": 60,
            }
        )
        chart.set_title({"name": f"{RANK_NAME_HEADER[dim]}得分率", "name_font": {"size": 12}})
        chart.set_legend({"none": True})
        chart.set_x_axis({"min": 0, "max": 1, "num_format": "0%", "major_gridlines": {"visible": True}})
        chart.set_y_axis({"reverse": True, "num_font": {"size": 9}})
        width_px = int(min(sum(widths), 110) * 7.5)
        chart.set_size({"width": width_px, "height": max(260, 20 * len(ranked) + 100)})
        ws.insert_chart(last + 2, 0, chart, {"x_offset": 4, "y_offset": 4, "object_position": 3})
    print_setup(ws, repeat=(head, head), header="&L&9" + book.page_header + "&R&9" + header_text(name))
    book.done(ws, table.rows)


# --- 失分分析 ------------------------------------------------------------------------------------------------------

LOSS_STANDARD_COLS = [
    _num("序号", INT, 6),
    Col("标准编号", max_width=14),
    Col("测评标准", WRAP, max_width=48),
    Col("测评项目", max_width=16),
    _num("失分", MARKS, 8),
    _num("满分合计", MARKS, 9),
    _num("不符合", INT, 8),
    _num("测评记录", INT, 9),
    _num("涉及单位数", INT, 8),
    Col("涉及单位", WRAP, max_width=40),
]
LOSS_UNIT_COLS = [  # aligned with the standards' columns above it
    _num("序号", INT, 6),
    Col("责任单位", max_width=24),
    Col("失分的测评标准", WRAP, max_width=48),
    _num("失分的标准数", INT, 8),
    _num("失分", MARKS, 8),
    _num("满分合计", MARKS, 9),
    _num("不符合", INT, 8),
    _num("测评记录", INT, 9),
]


def _losses(book: _Book) -> None:
    report = book.data.report
    ws = book.sheet(LOSSES)
    note = (
        "失分 = Σ（满分 − 得分），本轮该测评标准（或该单位负责）的全部适用测评记录，按失分从多到少；"
        "“涉及单位”为对其不符合负责的单位。"
    )
    title = f"失分最多的测评标准和责任单位 · {report['round']['name']}"
    head = _sheet_head(book, ws, title, note, LOSS_STANDARD_COLS)
    standards = [
        [i, x["code"], x["text"], x["category"], x["lost"], x["full"], x["failures"], x["observations"],
         len(x["units"]), "、".join(x["units"])]
        for i, x in enumerate(report["losses"]["standards"], 1)
    ]  # fmt: skip
    top = _table(book, ws, head, LOSS_STANDARD_COLS, standards)
    _finish_table(ws, top)
    r = top.last_row + 2
    ws.write_string(r, 0, "失分最多的责任单位", book.section)
    units = [
        [i, x["name"], "、".join(x["standards"]), len(x["standards"]), x["lost"], x["full"], x["failures"],
         x["observations"]]
        for i, x in enumerate(report["losses"]["units"], 1)
    ]  # fmt: skip
    bottom = _table(book, ws, r + 1, LOSS_UNIT_COLS, units)
    _set_widths(ws, top, bottom)
    print_setup(ws, repeat=(head, head), header="&L&9" + book.page_header + "&R&9" + header_text(LOSSES))
    book.done(ws, top.rows + bottom.rows)


# --- 趋势 ----------------------------------------------------------------------------------------------------------

TREND_COLS = [
    Col("测评轮次", max_width=30),
    Col("开始日期", DATE_KIND, DATE, 11),
    _num("实地考察得分率", PCT, 11),
    _num("总得分率", PCT, 10),
    Col("整改情况统计日", DATE_KIND, DATE, 12),
    _num("整改率", PCT, 10),
    _num("按期整改率", PCT, 10),
]


def _trend(book: _Book) -> None:
    report = book.data.report
    ws = book.sheet(TREND)
    note = (
        "同类测评最近各轮（含本轮）的实地考察得分率和总得分率；整改率、按期整改率为全部问题在该轮结束日"
        f"（不晚于 {report['as_of']}）的状态。"
    )
    head = _sheet_head(book, ws, f"得分率和整改率趋势 · {report['round']['kind_label']}", note, TREND_COLS)
    rows = [
        [p["name"], dt.date.fromisoformat(p["start_date"]), p["field_rate"], p["overall_rate"],
         dt.date.fromisoformat(p["rectification_on"]), p["rectification_rate"], p["on_time_rate"]]
        for p in report["trend"]
    ]  # fmt: skip
    table = _table(book, ws, head, TREND_COLS, rows)
    widths = _set_widths(ws, table)
    _finish_table(ws, table)
    if rows:
        sheet = ws.get_name()
        chart = book.wb.add_chart({"type": "line"})
        for col, colour in ((2, "#4E79A7"), (5, "#F28E2B")):
            chart.add_series(
                {
                    "name": [sheet, head, col],
                    "categories": [sheet, table.first_row, 0, table.last_row, 0],
                    "values": [sheet, table.first_row, col, table.last_row, col],
                    "line": {"color": colour, "width": 2.25},
                    "marker": {"type": "circle", "size": 6, "fill": {"color": colour}, "border": {"color": colour}},
                    "data_labels": {"value": True, "num_format": "0.0%", "position": "above", "font": {"size": 8}},
                }
            )
        chart.set_title({"name": "实地考察得分率与整改率", "name_font": {"size": 12}})
        chart.set_y_axis({"min": 0, "max": 1, "num_format": "0%", "major_gridlines": {"visible": True}})
        chart.set_legend({"position": "bottom"})
        chart.set_size({"width": int(max(sum(widths), 90) * 7.5), "height": 320})
        ws.insert_chart(table.last_row + 2, 0, chart, {"x_offset": 4, "y_offset": 4, "object_position": 3})
    print_setup(ws, repeat=(head, head), header="&L&9" + book.page_header + "&R&9" + header_text(TREND))
    book.done(ws, table.rows)


# --- 问题清单, 整改台账 -----------------------------------------------------------------------------------------------

GAP_COLS = [
    _num("序号", INT, 6),
    Col("问题编号", max_width=18),
    Col("点位", max_width=24),
    Col("街道/镇", max_width=12),
    Col("点位类型", max_width=12),
    Col("标准编号", max_width=10),
    Col("测评标准", WRAP, max_width=32),
    Col("问题描述", WRAP, max_width=26),
    Col("责任单位", max_width=18),
    Col("严重程度", width=8),
    Col("整改期限", DATE_KIND, DATE, 11),
    Col("状态", width=8),
    Col("是否逾期", width=6),
    _num("逾期天数", INT, 6),
]


def gap_rows(rows: Iterable[LedgerRow]) -> Iterable[list[Any]]:
    for i, r in enumerate(rows, 1):
        yield [
            i, r.code, f"{r.point_code} {r.point_name}".strip(), r.street, r.point_type, r.standard_code,
            r.standard_text, r.description, r.unit, r.severity, r.deadline, r.status, YES if r.overdue else "",
            r.overdue_days or None,
        ]  # fmt: skip


LEDGER_COLS = [
    _num("序号", INT, 7),
    Col("问题编号", max_width=20),
    Col("街道/镇", max_width=14),
    Col("点位", max_width=26),
    Col("标准编号", max_width=12),
    Col("责任单位", max_width=20),
    Col("来源", width=9),
    Col("交办日期", DATE_KIND, DATE, 11),
    Col("整改期限", DATE_KIND, DATE, 11),
    Col("销号日期", DATE_KIND, DATE, 11),
    _num("整改用时\n（天）", DAYS, 9),
    _num("复查次数", INT, 8),
    Col("一次复查通过", width=8),
    Col("按期情况", width=11),
    Col("长效整改", width=8),
    Col("反弹", width=6),
    Col("状态", width=9),
]


def ledger_rows(rows: Iterable[LedgerRow]) -> Iterable[list[Any]]:
    for i, r in enumerate(rows, 1):
        point = f"{r.point_code} {r.point_name}".strip()
        first = "" if r.first_pass is None else (YES if r.first_pass else "否")
        yield [
            i, r.code, r.street, point, r.standard_code, r.unit, r.source, r.assigned, r.deadline, r.closed,
            r.days_to_fix, r.reinspections, first, r.timeliness, YES if r.long_term else "",
            YES if r.recurred else "", r.status,
        ]  # fmt: skip


def _long_sheet(
    book: _Book, name: str, title: str, note: str, cols: list[Col], rows: Iterable[list[Any]], alarm: tuple[int, str]
) -> None:
    """A long table on its own sheet (问题清单, 整改台账); ``alarm`` (column, text): cells saying it in red."""
    ws = book.sheet(name)
    head = _sheet_head(book, ws, title, note, cols)
    table = _table(book, ws, head, cols, rows)
    _set_widths(ws, table)
    _finish_table(ws, table)
    if table.rows:
        col, text = alarm
        ws.conditional_format(
            table.first_row,
            col,
            table.last_row,
            col,
            {"type": "cell", "criteria": "==", "value": f'"{text}"', "format": book.alarm},
        )
    print_setup(ws, repeat=(head, head), header="&L&9" + book.page_header + "&R&9" + header_text(name))
    book.done(ws, table.rows)


def _gap_list(book: _Book) -> None:
    data = book.data
    m = data.report["rectification"]["overall"]
    note = (
        f"本轮测评发现的问题 {len(data.findings)} 件（已作废的不计），状态和整改期限（含已批准的延期）为截至 "
        f"{data.report['as_of']} 当日终了时；逾期 {m['overdue']} 件（未销号且已过整改期限）。按街道、点位、标准排列。"
    )
    title = f"问题清单 · {data.report['round']['name']}"
    _long_sheet(book, GAP_LIST, title, note, GAP_COLS, gap_rows(data.findings), (12, YES))


def _ledger(book: _Book) -> None:
    data = book.data
    m = data.report["rectification"]["overall"]
    rows = sorted(data.findings, key=lambda r: (r.assigned, r.code))
    note = (
        f"截至 {data.report['as_of']}：登记 {m['created']} 件，应整改 {m['due']} 件，已销号 {m['closed']} 件，"
        f"整改率 {percent(m['rectification_rate'])}，按期整改率 {percent(m['on_time_rate'])}，逾期 {m['overdue']} 件，"
        f"长效整改 {m['long_term']} 件。按期情况：{ON_TIME}（期限当天或之前销号）、{LATE}、{OVERDUE}、{NOT_DUE}、"
        f"{LONG_TERM}。整改用时为交办到销号的天数；按交办日期排列。"
    )
    title = f"整改台账 · {data.report['round']['name']}"
    _long_sheet(book, LEDGER, title, note, LEDGER_COLS, ledger_rows(rows), (13, OVERDUE))


# --- one sheet per street ------------------------------------------------------------------------------------------

STREET_POINT_COLS = [
    _num("序号", INT, 7),
    Col("点位编号", max_width=14),
    Col("点位名称", max_width=22),
    Col("点位类型", max_width=12),
    _num("得分率", PCT, 11),
    _num("得分", MARKS, 9),
    _num("满分", MARKS, 9),
    _num("失分", MARKS, 9),
    _num("不符合", INT, 9),
    Col("不符合的测评标准", WRAP, max_width=40),
]
STREET_FINDING_COLS = [  # aligned with the points' columns above it
    _num("序号", INT, 7),
    Col("问题编号", max_width=20),
    Col("点位", max_width=22),
    Col("标准编号", max_width=12),
    Col("整改期限", DATE_KIND, DATE, 11),
    Col("状态", width=9),
    Col("是否逾期", width=9),
    _num("逾期天数", INT, 9),
    Col("责任单位", max_width=20),
    Col("问题描述", WRAP, max_width=40),
]


def street_point_rows(points: Iterable[dashboard.PointRow]) -> Iterable[list[Any]]:
    for i, p in enumerate(points, 1):
        yield [i, p.code, p.name, p.point_type, p.rate, p.score, p.full, p.lost, p.failures,
               "、".join(p.failed_standards)]  # fmt: skip


def street_finding_rows(rows: Iterable[LedgerRow]) -> Iterable[list[Any]]:
    for i, r in enumerate(rows, 1):
        yield [i, r.code, f"{r.point_code} {r.point_name}".strip(), r.standard_code, r.deadline, r.status,
               YES if r.overdue else "", r.overdue_days or None, r.unit, r.description]  # fmt: skip


def _street(book: _Book, part: StreetPart, ranked: dict[str, dict], rect: dict[str, dict]) -> None:
    report = book.data.report
    ws = book.sheet(part.name)
    g, m = ranked.get(part.name), rect.get(part.name)
    bits = [f"本轮测评点位 {len(part.points)} 个"]
    if g is not None:
        place = f"第 {g['rank']} 名" if g["rank"] else "未排名"
        bits.append(f"得分率 {percent(g['rate'])}（{place}，较上轮 {_pp_text(g['delta'])}）")
    bits.append(f"本轮问题 {len(part.findings)} 件")
    if m is not None:
        bits.append(
            f"截至 {report['as_of']} 应整改 {m['due']} 件、已销号 {m['closed']} 件、整改率 "
            f"{percent(m['rectification_rate'])}、逾期 {m['overdue']} 件"
        )
    note = "，".join(bits) + "。点位按得分率从低到高；问题中逾期的在前。"
    head = _sheet_head(book, ws, f"{part.name} · {report['round']['name']}", note, STREET_POINT_COLS)
    points = _table(book, ws, head, STREET_POINT_COLS, street_point_rows(part.points))
    _finish_table(ws, points)
    r = points.last_row + 2
    ws.write_string(r, 0, "本街道（镇）的问题", book.section)
    found = _table(book, ws, r + 1, STREET_FINDING_COLS, street_finding_rows(part.findings))
    _set_widths(ws, points, found)
    if points.rows:
        ws.conditional_format(points.first_row, 4, points.last_row, 4, RATE_BAR)
    if found.rows:
        ws.conditional_format(
            found.first_row,
            6,
            found.last_row,
            6,
            {"type": "cell", "criteria": "==", "value": f'"{YES}"', "format": book.alarm},
        )
    print_setup(ws, repeat=(0, 0), header="&L&9" + book.page_header + "&R&9" + header_text(part.name))
    book.done(ws, points.rows + found.rows)


# --- the workbook --------------------------------------------------------------------------------------------------


def render(data: BulletinData, out: str | Path | BinaryIO) -> BulletinSummary:
    """Write the bulletin of ``data`` to ``out`` (a path or a binary file)."""
    book = _Book(out, data)
    _cover(book)
    for dim in RANK_SHEETS:
        _ranking(book, dim)
    _losses(book)
    _trend(book)
    _gap_list(book)
    _ledger(book)
    ranked = {g["name"]: g for g in data.report["scores"]["by_street"]}
    rect = {g["name"]: g for g in data.report["rectification"]["by_street"]}
    for part in data.streets:
        _street(book, part, ranked, rect)
    try:
        book.close()
    except (xlsxwriter.exceptions.FileCreateError, OSError) as e:
        raise BulletinError(_cannot_write(out, e)) from None
    size, path = None, None
    if isinstance(out, str | Path):
        path = Path(out)
        size = path.stat().st_size
    elif hasattr(out, "tell"):
        size = out.tell()
    r = data.report["round"]
    return BulletinSummary(r["name"], data.as_of, tuple(book.sheets), len(data.findings), size, path)


__all__ = [
    "COVER",
    "GAP_LIST",
    "LEDGER",
    "LOSSES",
    "RANK_SHEETS",
    "TREND",
    "BulletinData",
    "BulletinError",
    "BulletinSummary",
    "LedgerRow",
    "StreetPart",
    "bulletin_bytes",
    "cover_figures",
    "gather",
    "ledger_row",
    "render",
    "write_bulletin",
]
