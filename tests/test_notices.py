"""Supervision notices (督办单): the written workbook read back with openpyxl — title block, one row per open finding
of the unit only, an embedded before-photo per finding that has one, A4 print settings — and who may ask for one."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest
from PIL import Image

from civeval import audit, auth, findings, notices
from civeval.findings import FindingAction, FindingError, NewFinding
from civeval.models import Actor, FindingSource, Grant, Role, Severity
from civeval.permissions import PermissionDenied
from tests import seed
from tests.test_findings import CAL, Clock, jpeg

A = FindingAction
TODAY = dt.date(2026, 11, 10)


def photo(n: int) -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (400, 300), (30 * n % 255, 120, 60)).save(buf, "JPEG")
    return buf.getvalue(), f"before{n}.jpg"


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(audit, "now", lambda: c.now)
    return c


@pytest.fixture
def world(engine, clock):
    """县城市管理局: three open findings (two with a before-photo), one closed, one voided; 县教育局: one open."""
    seed.seed(engine)
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in seed.USERS}
    admin = actors["tester"]

    def new(unit="县城市管理局", point="P004", severity=Severity.normal, pics=(), text="人行道乱堆杂物"):
        return findings.create_finding(
            engine,
            admin,
            NewFinding(FindingSource.patrol, text, point_code=point, unit=unit, severity=severity),
            photos_data=list(pics),
            calendar=CAL,
        )

    clock.day(2)
    codes = {
        "late": new(pics=[photo(1), photo(2)]),  # deadline 5 Nov: 5 days overdue on 10 Nov
        "urgent": new(severity=Severity.urgent, point="P006", text="公园座椅破损"),  # 4 Nov, no photo
        "submitted": new(severity=Severity.complex, pics=[photo(3)]),  # 17 Nov, submitted on 3 Nov
        "closed": new(),
        "voided": new(),
        "other": new(unit="县教育局", point="P005", pics=[photo(4)]),
    }
    clock.day(3)
    for code in (codes["submitted"], codes["closed"]):
        findings.transition(engine, admin, code, A.submit, reason="已整改", photos_data=[jpeg()])
    findings.transition(engine, admin, codes["closed"], A.pass_reinspection)
    findings.transition(engine, admin, codes["voided"], A.void, reason="重复登记")
    return engine, actors, codes


def read(path):
    return openpyxl.load_workbook(path)[notices.SHEET]


def test_the_notice_lists_the_units_open_findings_with_their_photos(world, tmp_path):
    engine, actors, codes = world
    out = tmp_path / "督办单.xlsx"
    n = notices.write_notice(engine, actors["tester"], "县城市管理局", out, today=TODAY, office="某县创文办")
    assert n == 3
    ws = read(out)
    values = [[c.value for c in row] for row in ws.iter_rows()]
    assert values[0][0] == "督办单"
    assert values[1][0] == "责任单位：县城市管理局" and values[1][6] == "出具日期：2026年11月10日"
    assert values[2][0] == "出具单位：某县创文办"
    header = notices.HEADER_ROW  # 0-based
    assert (
        tuple(values[header])
        == notices.HEADERS
        == (
            "序号",
            "问题编号",
            "点位",
            "地址",
            "测评标准",
            "问题描述",
            "整改期限",
            "逾期天数",
            "当前状态",
            "整改前照片",
        )
    )
    rows = {v[1]: (i, v) for i, v in enumerate(values) if v[1] and str(v[1]).startswith("WT")}
    assert set(rows) == {codes["late"], codes["urgent"], codes["submitted"]}  # not closed, voided, other unit's
    assert [v[0] for _, v in sorted(rows.values())] == [1, 2, 3]
    _, late = rows[codes["late"]]
    assert late[2] == "P004 人民路" and late[5] == "人行道乱堆杂物"
    assert late[6] == dt.datetime(2026, 11, 5) and late[7] == 5
    assert late[8] == "已交办，严重逾期（报分管领导）"  # 8 days after assignment, 3 allowed
    _, urgent = rows[codes["urgent"]]
    assert urgent[7] == 6 and urgent[9] == "无"
    _, submitted = rows[codes["submitted"]]
    assert submitted[7] == "—" and submitted[8] == "待复查"
    # one image per finding with a before-photo, anchored in that finding's row, in the photo column
    anchors = sorted((img.anchor._from.row, img.anchor._from.col) for img in ws._images)
    assert anchors == sorted((rows[codes[k]][0], 9) for k in ("late", "submitted"))
    for img in ws._images:  # scaled to fit inside its own row (~80 px high)
        assert img.anchor.to.row == img.anchor._from.row and img.anchor.to.col == 9
        assert ws.row_dimensions[img.anchor._from.row + 1].height == pytest.approx(notices.PHOTO_ROW_PX * 0.75)
    # print-ready: A4, header row repeated, page numbers, fit to width, grid lines
    assert ws.page_setup.paperSize == 9 and ws.page_setup.orientation == "landscape"
    assert ws.print_title_rows == f"${header + 1}:${header + 1}"
    assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToWidth in (None, 1)  # 1 is the default
    assert ws.page_setup.fitToHeight == 0 and ws.print_options.gridLines
    assert ws.page_margins.left < 0.75
    assert any(v[0] and str(v[0]).startswith("责任单位签收") for v in values)
    assert any(v[6] and str(v[6]).startswith("日期：") for v in values)


def test_a_unit_without_open_findings_gets_a_notice_saying_so(world, tmp_path):
    engine, actors, _ = world
    out = tmp_path / "税务局.xlsx"
    assert notices.write_notice(engine, actors["tester"], "县税务局", out, today=TODAY) == 0
    ws = read(out)
    texts = [c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)]
    assert "该单位目前没有未销号的问题。" in texts
    assert not ws._images and ws.page_setup.paperSize == 9


def test_who_may_ask_for_a_notice(world, tmp_path):
    engine, actors, _ = world
    out = tmp_path / "n.xlsx"
    # the liaison of 县城市管理局 gets its own unit's notice …
    assert notices.write_notice(engine, actors["liai"], "县城市管理局", out, today=TODAY) == 3
    # … but not another unit's
    with pytest.raises(PermissionDenied, match="县教育局"):
        notices.write_notice(engine, actors["liai"], "县教育局", out, today=TODAY)
    other = Actor(user_id=None, username="edu", grants=(Grant(role=Role.liaison, scope="县教育局"),))
    with pytest.raises(PermissionDenied):
        notices.write_notice(engine, other, "县城市管理局", out, today=TODAY)
    assert notices.write_notice(engine, other, "县教育局", out, today=TODAY) == 1
    # a street coordinator: the findings at the points of its street (人民路, 人民公园 are in 城关街道)
    assert notices.write_notice(engine, actors["coord"], "县城市管理局", out, today=TODAY) == 3
    with pytest.raises(PermissionDenied):  # 县教育局's finding is at a school in 东城街道
        notices.write_notice(engine, actors["coord"], "县教育局", out, today=TODAY)
    with pytest.raises(FindingError, match="不在单位名录中"):
        notices.write_notice(engine, actors["tester"], "县环保局", out, today=TODAY)
