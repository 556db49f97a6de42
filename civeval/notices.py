"""Supervision notices (督办单): one print-ready Excel sheet per responsible unit listing its open findings.

The sheet has a title block (督办单, the unit, the date, the issuing office), one row per open finding (已交办 /
整改中 / 待复查) with the finding's before-photo embedded as a thumbnail, and a signature line (责任单位签收 / 日期).
It prints on A4 landscape, fitted to the page width, with the table header repeated on every page, page numbers in
the footer and grid lines printed.

Only the findings the actor may see are listed (``findings.list_findings`` enforces it); asking for a unit none of
whose findings the actor may see is refused.
"""

from __future__ import annotations

import datetime as dt
import io
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import xlsxwriter
from PIL import Image

from civeval import audit, findings, photos
from civeval.findings import ESCALATION_LABELS, OPEN_STATES, Escalation, Finding, FindingError
from civeval.models import Actor
from civeval.permissions import Action, PermissionDenied, reach, require
from civeval.registers import unit_subtree
from civeval.store import repo
from civeval.store import schema as t
from civeval.xlsx import header_text, print_setup, text_lines

SHEET = "督办单"
DEFAULT_OFFICE = "创文办"
OFFICE_SETTING = "office_name"  # settings key: the issuing office's name as printed on notices

HEADERS = ("序号", "问题编号", "点位", "地址", "测评标准", "问题描述", "整改期限", "逾期天数", "当前状态", "整改前照片")
WIDTHS = (5, 11, 16, 18, 24, 32, 11, 8, 14, 22)  # characters; the photo column holds ~150 px
HEADER_ROW = 5  # 0-based row of the table header (repeated on every printed page)

PHOTO_ROW_PX = 80  # row height of a finding with a photo
PHOTO_MAX_PX = (150, PHOTO_ROW_PX - 6)  # the thumbnail's box inside its cell (width, height)
PHOTO_SOURCE_PX = 320  # long side of the thumbnail embedded (scaled down on the sheet: sharper print)
_PX_PER_POINT = 4 / 3


@dataclass(frozen=True)
class _Row:
    finding: Finding
    address: str
    photo: bytes | None  # the thumbnail JPEG
    photo_problem: str  # why there is no photo ("" when there is one or none was taken)


def office_name(conn: sa.Connection) -> str:
    """The issuing office printed on notices: the ``office_name`` setting, else 创文办."""
    return str(repo.get_setting(conn, OFFICE_SETTING, DEFAULT_OFFICE) or DEFAULT_OFFICE)


def open_findings_of_unit(conn: sa.Connection, actor: Actor, unit: str) -> list[Finding]:
    """The unit's open findings the actor may see, oldest deadline first. Refuses an unknown unit, and a unit that
    lies outside the actor's reach and none of whose findings the actor may see."""
    require(actor, Action.view_findings)
    units = repo.list_units(conn)
    if unit not in {u.name for u in units}:
        raise FindingError(f"单位“{unit}”不在单位名录中")
    where = reach(actor, Action.view_findings)
    if (
        where is not None
        and unit not in unit_subtree(units, where)
        and not findings.list_findings(conn, actor, unit=unit)
    ):
        raise PermissionDenied(f"{actor.name}无权查看“{unit}”的问题，不能出具督办单")
    return findings.list_findings(conn, actor, statuses=OPEN_STATES, unit=unit)


def _thumbnail(conn: sa.Connection, engine: sa.Engine, f: Finding) -> tuple[bytes | None, str]:
    if not f.before_photos:
        return None, ""
    try:
        return photos.thumbnail(photos.photo_store(engine).get_bytes(conn, f.before_photos[0]), PHOTO_SOURCE_PX), ""
    except (photos.PhotoNotFound, photos.PhotoRefused):
        return None, "照片缺失"


def _rows(conn: sa.Connection, engine: sa.Engine, found: list[Finding]) -> list[_Row]:
    codes = [f.point_code for f in found if f.point_code]
    addresses = dict(
        conn.execute(sa.select(t.points.c.code, t.points.c.address).where(t.points.c.code.in_(codes or ["-"]))).all()
    )
    out = []
    for f in found:
        photo, problem = _thumbnail(conn, engine, f)
        address = addresses.get(f.point_code) or (f.street or "")
        out.append(_Row(f, address, photo, problem))
    return out


def status_text(f: Finding, today: dt.date) -> str:
    """The status as printed: 已交办 / 整改中 / 待复查, with escalation and a pending extension request."""
    parts = [f.status.label]
    level = f.escalation(today)
    if level is not Escalation.none:
        parts.append(ESCALATION_LABELS[level])
    if f.extension_until is not None:
        parts.append(f"已申请延期至 {f.extension_until.isoformat()}")
    return "，".join(parts)


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"border": 1, "valign": "top", "font_size": 10, "text_wrap": True}
        self.title = wb.add_format({"bold": True, "font_size": 20, "align": "center", "valign": "vcenter"})
        self.meta = wb.add_format({"font_size": 11, "valign": "vcenter"})
        self.intro = wb.add_format({"font_size": 11, "text_wrap": True, "valign": "top"})
        self.header = wb.add_format(
            {**base, "bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter"}
        )
        self.cell = wb.add_format(base)
        self.center = wb.add_format({**base, "align": "center"})
        self.date = wb.add_format({**base, "align": "center", "num_format": "yyyy-mm-dd"})
        self.overdue = wb.add_format({**base, "align": "center", "bold": True, "font_color": "#C00000"})
        self.none = wb.add_format({**base, "align": "center", "valign": "vcenter", "italic": True})
        self.note = wb.add_format({"font_size": 9, "text_wrap": True, "valign": "top"})
        self.sign = wb.add_format({"font_size": 12, "valign": "bottom"})


def write_notice(
    engine: sa.Engine,
    actor: Actor,
    unit: str,
    out: str | Path,
    *,
    today: dt.date | None = None,
    office: str | None = None,
) -> int:
    """Write the supervision notice (督办单) of ``unit`` to ``out`` (.xlsx); returns the number of findings on it.

    ``today`` (default: today) dates the notice and counts the days overdue; ``office`` (default: the
    ``office_name`` setting, else 创文办) is printed as the issuer. A unit without open findings gets a notice
    saying so.
    """
    today = today or audit.today()
    with engine.connect() as conn:
        found = open_findings_of_unit(conn, actor, unit)
        rows = _rows(conn, engine, found)
        office = office or office_name(conn)
    _write(Path(out), unit, office, today, rows)
    return len(rows)


def _write(path: Path, unit: str, office: str, today: dt.date, rows: list[_Row]) -> None:
    wb = xlsxwriter.Workbook(str(path))
    fmt = _Formats(wb)
    ws = wb.add_worksheet(SHEET)
    last_col = len(HEADERS) - 1
    for c, w in enumerate(WIDTHS):
        ws.set_column(c, c, w)

    overdue = sum(r.finding.days_overdue(today) > 0 for r in rows)
    ws.set_row(0, 34)
    ws.merge_range(0, 0, 0, last_col, "督办单", fmt.title)
    ws.merge_range(1, 0, 1, 5, f"责任单位：{unit}", fmt.meta)
    ws.merge_range(1, 6, 1, last_col, f"出具日期：{today.year}年{today.month}月{today.day}日", fmt.meta)
    ws.merge_range(2, 0, 2, 5, f"出具单位：{office}", fmt.meta)
    ws.merge_range(2, 6, 2, last_col, f"问题数：{len(rows)} 件（其中逾期 {overdue} 件）", fmt.meta)
    if rows:
        intro = (
            f"{unit}：截至{today.year}年{today.month}月{today.day}日，贵单位下列 {len(rows)} 个问题尚未销号，"
            f"其中 {overdue} 个已超过整改期限。请按期整改到位，并在系统中提交整改措施和整改后照片，"
            "经复查通过后销号。逾期未整改的将予以通报。"
        )
    else:
        intro = f"{unit}：截至{today.year}年{today.month}月{today.day}日，贵单位没有未销号的问题。"
    ws.merge_range(3, 0, 3, last_col, intro, fmt.intro)
    ws.set_row(3, 15 * text_lines(intro, sum(WIDTHS)) + 6)

    for c, h in enumerate(HEADERS):
        ws.write_string(HEADER_ROW, c, h, fmt.header)
    ws.set_row(HEADER_ROW, 22)
    ws.repeat_rows(HEADER_ROW)

    r = HEADER_ROW
    if not rows:
        r += 1
        ws.merge_range(r, 0, r, last_col, "该单位目前没有未销号的问题。", fmt.none)
        ws.set_row(r, 30)
    for n, row in enumerate(rows, 1):
        r += 1
        f = row.finding
        point = " ".join(x for x in (f.point_code, f.point_name) if x) or "—"
        standard = f"{f.standard_code} {f.standard_text}" if f.standard_code else "—"
        days = f.days_overdue(today)
        ws.write_number(r, 0, n, fmt.center)
        ws.write_string(r, 1, f.code, fmt.cell)
        ws.write_string(r, 2, point, fmt.cell)
        ws.write_string(r, 3, row.address or "—", fmt.cell)
        ws.write_string(r, 4, standard, fmt.cell)
        ws.write_string(r, 5, f.description, fmt.cell)
        ws.write_datetime(r, 6, dt.datetime.combine(f.deadline, dt.time()), fmt.date)
        if days:
            ws.write_number(r, 7, days, fmt.overdue)
        else:
            ws.write_string(r, 7, "—", fmt.center)
        ws.write_string(r, 8, status_text(f, today), fmt.cell)
        n_lines = max(
            text_lines(point, WIDTHS[2]),
            text_lines(row.address, WIDTHS[3]),
            text_lines(standard, WIDTHS[4]),
            text_lines(f.description, WIDTHS[5]),
        )
        height = 13.5 * n_lines + 4
        if row.photo is not None:
            ws.write_blank(r, 9, None, fmt.cell)
            height = max(height, PHOTO_ROW_PX / _PX_PER_POINT)
            _insert_photo(ws, r, 9, row.photo, f.code)
        else:
            ws.write_string(r, 9, row.photo_problem or "无", fmt.center)
        ws.set_row(r, height)

    r += 2
    note = (
        "说明：逾期天数按出具日期计算（整改期限次日起算）；“严重逾期”指超过整改时限两倍仍未整改，已报分管领导。"
        "对问题认定有异议的，请在收到本单之日起 2 个工作日内向出具单位反映。"
    )
    ws.merge_range(r, 0, r, last_col, note, fmt.note)
    ws.set_row(r, 13 * text_lines(note, sum(WIDTHS)) + 4)
    r += 2
    ws.set_row(r, 30)
    ws.merge_range(r, 0, r, 5, "责任单位签收（签字/盖章）：____________________", fmt.sign)
    ws.merge_range(r, 6, r, last_col, "日期：______年____月____日", fmt.sign)

    # A4 landscape, one page wide and as many tall as needed
    print_setup(ws, header=f"&L&9{header_text(office)} 督办单&R&9{header_text(unit)}", footer="&C&9第 &P 页 / 共 &N 页")
    ws.hide_gridlines(0)  # shown on screen and printed
    ws.print_area(0, 0, r, last_col)
    wb.close()


def _insert_photo(ws, row: int, col: int, data: bytes, code: str) -> None:
    with Image.open(io.BytesIO(data)) as img:
        w, h = img.size
    scale = min(PHOTO_MAX_PX[0] / w, PHOTO_MAX_PX[1] / h, 1.0)
    ws.insert_image(
        row,
        col,
        f"{code}.jpg",
        {
            "image_data": io.BytesIO(data),
            "x_scale": scale,
            "y_scale": scale,
            "x_offset": 3,
            "y_offset": 3,
            "object_position": 1,  # moves and sizes with its cell
            "description": f"{code} 整改前照片",
        },
    )


__all__ = ["HEADERS", "SHEET", "office_name", "open_findings_of_unit", "status_text", "write_notice"]
