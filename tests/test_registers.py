"""Units and points registers in Excel: round trips, located errors, templates, all-or-nothing imports."""

from __future__ import annotations

import openpyxl
import pytest

from civeval import audit
from civeval.models import Point, PointType, Unit, UnitKind
from civeval.registers import (
    POINT_COLUMNS,
    UNIT_COLUMNS,
    export_points,
    export_units,
    import_points,
    import_units,
    read_points,
    read_units,
    write_points,
    write_points_template,
    write_units,
    write_units_template,
)
from civeval.store import repo
from civeval.workbook import WorkbookInvalid
from tests.conftest import ADMIN

UNIT_HEADERS = [c.header for c in UNIT_COLUMNS]
POINT_HEADERS = [c.header for c in POINT_COLUMNS]

UNITS = [
    Unit(code="D19", name="县城市管理局", contact="张三", phone="13800000000", parent="县创建办"),
    Unit(code="W01", name="县创建办", kind=UnitKind.work_group),
    Unit(code="S01", name="城关街道", kind=UnitKind.street),
    Unit(code="T01", name="新集镇", kind=UnitKind.town, active=False),
    Unit(code="C01", name="解放路社区", kind=UnitKind.community, parent="城关街道"),
]
TYPES = [PointType(code="PT01", name="农贸市场", description="含早夜市"), PointType(code="PT02", name="背街小巷")]
POINTS = [
    Point(
        code="P0001",
        name="城关农贸市场",
        point_type="农贸市场",
        street="城关街道",
        address="解放路12号",
        lat=34.5678,
        lon=113.2345,
        custodian_unit="县城市管理局",
        road_chief_unit="县创建办",
        owner_leader="李四",
    ),
    Point(code="P0002", name="幸福巷", point_type="背街小巷", street="新集镇", active=False),
    Point(code="P0003", name="南关巷", point_type="背街小巷", lat=-1.5, lon=-70.25, custodian_unit="解放路社区"),
]


def _sheet(wb, name, header, rows):
    ws = wb.create_sheet(name)
    ws.append(header)
    for row in rows:
        ws.append(row)
    return ws


def _book(tmp_path, filename, sheets):
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, header, rows in sheets:
        _sheet(wb, name, header, rows)
    path = tmp_path / filename
    wb.save(path)
    return path


def _problems(call) -> list[str]:
    with pytest.raises(WorkbookInvalid) as info:
        call()
    return [str(p) for p in info.value.problems]


# --- round trips and templates -----------------------------------------------------------------


def test_units_round_trip(tmp_path):
    path = tmp_path / "单位.xlsx"
    write_units(UNITS, path)
    assert read_units(path) == UNITS


def test_points_round_trip_with_types_and_units_sheets(tmp_path):
    path = tmp_path / "点位.xlsx"
    write_points(POINTS, path, point_types=TYPES, units=UNITS)
    found = read_points(path)
    assert found.points == POINTS
    assert found.point_types == TYPES
    assert found.units == UNITS


def test_templates_have_dropdowns_notes_and_examples_that_import(tmp_path):
    units_path, points_path = tmp_path / "单位模板.xlsx", tmp_path / "点位模板.xlsx"
    write_units_template(units_path)
    write_points_template(points_path)
    wb = openpyxl.load_workbook(units_path)
    assert wb.sheetnames == ["单位", "填写说明", "选项"]
    assert wb["选项"].sheet_state == "hidden"
    assert [c.value for c in wb["单位"][1]] == UNIT_HEADERS
    sqrefs = {str(dv.sqref).split(":")[0] for dv in wb["单位"].data_validations.dataValidation}
    assert {"C2", "G2"} <= sqrefs  # 单位类型, 是否启用
    assert len(read_units(units_path)) == 1

    wb = openpyxl.load_workbook(points_path)
    assert wb.sheetnames == ["点位", "点位类型", "单位", "填写说明", "选项"]
    assert [c.value for c in wb["点位"][1]] == POINT_HEADERS
    sqrefs = {str(dv.sqref).split(":")[0] for dv in wb["点位"].data_validations.dataValidation}
    assert {"C2", "D2", "H2", "K2"} <= sqrefs  # 点位类型, 所属街道, 包保单位, 是否启用
    found = read_points(points_path)
    assert [p.code for p in found.points] == ["P0001"]
    assert found.points[0].street == "城关街道"


def test_units_and_points_accept_codes_names_and_sloppy_cells(tmp_path):
    path = _book(
        tmp_path,
        "台账.xlsx",
        [
            ("单位", ["单位名称", "单位编码", "类型", "上级单位"], [["城关 街道", "Ｓ０１", "街道", None]]),
            (
                "点位",
                ["点位台账"] + [None] * 5,
                [
                    ["编号", "点位名称", "点位类型", "所属街道(镇)", "包保单位", "经度", "纬度"],
                    ["P1", "城关农贸市场", "农贸 市场", "S01", "县城市管理局", "１１３．２", "34.5"],
                ],
            ),
        ],
    )
    found = read_points(path, units=[UNITS[0]], point_types=["农贸市场"])
    assert found.units == [Unit(code="S01", name="城关街道", kind=UnitKind.street)]
    assert found.points == [
        Point(
            code="P1",
            name="城关农贸市场",
            point_type="农贸市场",
            street="城关街道",
            custodian_unit="县城市管理局",
            lon=113.2,
            lat=34.5,
        )
    ]


# --- located errors ----------------------------------------------------------------------------


def test_unit_errors_are_located(tmp_path):
    rows = [
        ["D01", "县城管局", "部门", None, None, None, "是"],  # R2: fine
        ["D01", "县环保局", "部门"],  # R3: duplicate code
        ["D03", "县城管局"],  # R4: duplicate name
        ["D04", None],  # R5: missing name
        ["D05", "县文明办", "处室"],  # R6: unknown kind
        ["D06", "县教育局", "部门", "县政府"],  # R7: unknown parent
        ["G1", "第一组", "工作组", "G2"],  # R8: cycle G1 -> G2 -> G1
        ["G2", "第二组", "工作组", "第一组"],  # R9
        ["G3", "第三组", "工作组", "G3"],  # R10: its own parent
        ["D10", "县医保局", "部门", None, None, None, "也许"],  # R11: bad 是否启用
        ["D11", "县城市管理局"],  # R12: name the store gives another code
    ]
    path = _book(tmp_path, "单位.xlsx", [("单位", UNIT_HEADERS, rows)])
    got = _problems(lambda: read_units(path, existing=[UNITS[0]]))
    assert got == [
        "单位.xlsx:单位:R3:C1: 单位编码“D01”重复（与第2行相同）",
        "单位.xlsx:单位:R4:C2: 单位名称“县城管局”重复（与第2行相同）",
        "单位.xlsx:单位:R5:C2: 单位名称不能为空",
        "单位.xlsx:单位:R6:C3: 单位类型“处室”无效，可选：部门、街道、镇、社区、工作组、其他",
        "单位.xlsx:单位:R7:C4: 上级单位“县政府”不存在（不在单位名录中，也不在本表中）",
        "单位.xlsx:单位:R8:C4: 上级单位形成循环：第一组 → 第二组 → 第一组",
        "单位.xlsx:单位:R10:C4: 上级单位不能是本单位",
        "单位.xlsx:单位:R11:C7: 是否启用“也许”无效，请填写“是”或“否”",
        "单位.xlsx:单位:R12:C2: 单位名称“县城市管理局”已被单位编码“D19”使用",
    ]


def test_point_errors_are_located(tmp_path):
    rows = [
        ["P1", "城关农贸市场", "农贸市场", "城关街道", None, 113.2, 34.5, "县城市管理局"],  # R2: fine
        ["P1", "重复", "农贸市场"],  # R3: duplicate code
        ["P3", None, "菜市场"],  # R4: no name, unknown type
        ["P4", "甲", "农贸市场", "县城市管理局"],  # R5: street is a department
        ["P5", "乙", "农贸市场", "城关街道", None, 200, 34.5],  # R6: longitude out of range
        ["P6", "丙", "农贸市场", None, None, "东经113", 95],  # R7: not a number, latitude out of range
        ["P7", "丁", "农贸市场", None, None, 113.2, None, "县环保局", "D19"],  # R8: unknown custodian unit
        ["P8", "戊", "农贸市场", None, None, 113.2],  # R9: latitude missing
        ["P9", "己", None, "不存在街道"],  # R10: no type, unknown street
    ]
    path = _book(tmp_path, "点位.xlsx", [("点位", POINT_HEADERS, rows)])
    got = _problems(lambda: read_points(path, units=UNITS, point_types=["农贸市场"]))
    assert got == [
        "点位.xlsx:点位:R3:C1: 点位编码“P1”重复（与第2行相同）",
        "点位.xlsx:点位:R4:C2: 点位名称不能为空",
        "点位.xlsx:点位:R4:C3: 点位类型“菜市场”不存在（不在点位类型名录中，也不在本工作簿的“点位类型”表中）",
        "点位.xlsx:点位:R5:C4: 所属街道“县城市管理局”的单位类型是部门，不是街道或镇",
        "点位.xlsx:点位:R6:C6: 经度“200”超出范围（-180～180）",
        "点位.xlsx:点位:R7:C6: 经度“东经113”不是数字",
        "点位.xlsx:点位:R7:C7: 纬度“95”超出范围（-90～90）",
        "点位.xlsx:点位:R8:C8: 包保单位“县环保局”不在单位名录中",
        "点位.xlsx:点位:R9:C7: 经度和纬度须同时填写",
        "点位.xlsx:点位:R10:C3: 点位类型不能为空",
        "点位.xlsx:点位:R10:C4: 所属街道“不存在街道”不在单位名录中",
    ]


def test_missing_sheet_and_empty_sheet(tmp_path):
    path = _book(tmp_path, "空.xlsx", [("Sheet", ["x"], [])])
    assert _problems(lambda: read_units(path)) == ["空.xlsx:单位: 缺少工作表“单位”"]
    path = _book(tmp_path, "空2.xlsx", [("点位", POINT_HEADERS, [])])
    assert _problems(lambda: read_points(path)) == ["空2.xlsx:点位: 工作表中没有任何点位"]


# --- the store ---------------------------------------------------------------------------------


def test_import_units_adds_then_updates_and_exports(engine, tmp_path):
    path = tmp_path / "单位.xlsx"
    write_units(UNITS, path)
    assert import_units(engine, ADMIN, path) == (5, 0)
    changed = [u.model_copy(update={"contact": "王五"}) if u.code == "S01" else u for u in UNITS]
    write_units([*changed, Unit(code="D20", name="县交通运输局")], path)
    assert import_units(engine, ADMIN, path) == (1, 5)
    out = tmp_path / "导出单位.xlsx"
    assert export_units(engine, ADMIN, out) == 6
    with engine.connect() as conn:
        stored = repo.list_units(conn)
    assert read_units(out) == stored
    assert next(u for u in stored if u.code == "S01").contact == "王五"


def test_import_units_is_all_or_nothing(engine, tmp_path):
    good = tmp_path / "好.xlsx"
    write_units(UNITS[:2], good)
    import_units(engine, ADMIN, good)
    bad = _book(
        tmp_path,
        "坏.xlsx",
        [("单位", UNIT_HEADERS, [["D30", "县水利局"], ["D31", "县林业局", "部门", "县政府"]])],
    )
    with engine.connect() as conn:
        before = repo.count_rows(conn)
    assert _problems(lambda: import_units(engine, ADMIN, bad)) == [
        "坏.xlsx:单位:R3:C4: 上级单位“县政府”不存在（不在单位名录中，也不在本表中）"
    ]
    with engine.connect() as conn:
        assert repo.count_rows(conn) == before
        assert {u.code for u in repo.list_units(conn)} == {"D19", "W01"}


def test_import_points_with_its_sheets_updates_and_exports(engine, tmp_path):
    path = tmp_path / "点位.xlsx"
    write_points(POINTS, path, point_types=TYPES, units=UNITS)
    assert import_points(engine, ADMIN, path) == (3, 0)
    assert import_points(engine, ADMIN, path) == (0, 3)
    out = tmp_path / "导出点位.xlsx"
    assert export_points(engine, ADMIN, out) == 3
    with engine.connect() as conn:
        assert repo.list_points(conn) == POINTS
        units = repo.list_units(conn)
    found = read_points(out, units=units)
    assert found.points == POINTS
    assert found.point_types == TYPES


def test_import_points_unknown_custodian_unit_stores_nothing(engine, tmp_path):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
    rows = [
        ["P1", "城关农贸市场", "农贸市场", "S01", None, None, None, "D19"],
        ["P2", "幸福巷", "农贸市场", "城关街道", None, None, None, "县环保局"],
    ]
    path = _book(
        tmp_path,
        "点位.xlsx",
        [("点位", POINT_HEADERS, rows), ("点位类型", ["编码", "名称"], [["PT01", "农贸市场"]])],
    )
    with engine.connect() as conn:
        before = repo.count_rows(conn)
    assert _problems(lambda: import_points(engine, ADMIN, path)) == [
        "点位.xlsx:点位:R3:C8: 包保单位“县环保局”不在单位名录中"
    ]
    with engine.connect() as conn:
        assert repo.count_rows(conn) == before
        assert repo.list_point_types(conn) == []
