"""The evaluation index in Excel and YAML: official-style tables, located errors, template, round trips, store."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest
import yaml

from civeval import audit, criteria
from civeval.criteria import (
    STANDARD_COLUMNS,
    export_index,
    import_index,
    read_index,
    read_text,
    read_workbook,
    write_template,
    write_text,
    write_workbook,
)
from civeval.models import (
    Category,
    EvaluationIndex,
    Indicator,
    Item,
    Method,
    PointType,
    Responsibility,
    ScoringMode,
    Severity,
    Standard,
    Unit,
    UnitKind,
    Veto,
)
from civeval.store import repo
from civeval.workbook import WorkbookInvalid
from tests.conftest import ADMIN

CRITERIA_DIR = Path(__file__).resolve().parents[1] / "criteria"
HEADERS = [c.header for c in STANDARD_COLUMNS]


def _meta(wb, **values):
    ws = wb.create_sheet("测评体系")
    ws.append(["项目", "内容"])
    for key in ("名称", "版本", "年份", "类型", "说明"):
        ws.append([key, values.get(key)])


def _point_types(wb, *names):
    ws = wb.create_sheet("点位类型")
    ws.append(["编码", "名称", "说明"])
    for i, name in enumerate(names, 1):
        ws.append([f"PT{i:02d}", name, None])


def _new_book():
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    return wb


# --- an official-style table -------------------------------------------------------------------


def test_official_style_workbook_imports(tmp_path):
    wb = _new_book()
    _meta(wb, 名称="ＸＸ县文明城市测评体系", 版本="２０２４版", 年份="２０２４年", 类型="县级文明城市")
    ws = wb.create_sheet("测评标准")
    ws.append(["XX县文明城市测评体系（2024年版）"])
    ws.merge_cells("A1:L1")
    ws.append(
        [
            "测评项目",
            "测评内容",
            "标准序号",
            "标准内容",
            "分值（分）",
            "测评方法",
            "点位类型",
            "牵头单位",
            "计分方式",
            "每处扣分",
            "扣分上限",
            "备注",
        ]
    )
    rows = [
        [
            "公共\n环境",
            "农贸 市场",
            "ＧＨ－０１",
            " 市场内地面干净， 无积水 ",
            "2分",
            "实地考察",
            "农贸市场",
            " 县市场监督管理局 ",
            "扣分",
            "０．５分/处",
            "２",
            "备注列不读",
        ],
        [None, None, "GH-02", "市场内公益广告\n不少于2处", "２", "实地考察，材料审核", "农贸市场", "县委宣传部"],
        [None, "背街小巷", "GH-03", "路面无破损", 1.5, "实地", "背街小巷、农贸市场", "县住房和城乡建设局", "等级"],
        [None, None, "GH-04", "群众对环境卫生满意", " 1 ", "问卷调查"],
        [None] * 12,
        [
            "公共秩序",
            "交通秩序",
            "GH-05",
            "路口（含斑马线）车辆礼让行人",
            "3",
            "实地考察\n电话/实景模拟",
            "主次干道",
            "县公安局交通管理大队",
        ],
        [None, None, "GH-06", "非机动车有序停放", "2.0分", "实地考察", "主次干道"],
    ]
    for row in rows:
        ws.append(row)
    ws.merge_cells("A3:A6")
    ws.merge_cells("B3:B4")
    ws.merge_cells("B5:B6")
    ws.merge_cells("A8:A9")
    ws.merge_cells("B8:B9")
    _point_types(wb, "农贸市场", "背街小巷", "主次干道")
    path = tmp_path / "官方测评体系.xlsx"
    wb.save(path)

    units = {"县市场监督管理局", "县委宣传部", "县住房和城乡建设局", "县公安局交通管理大队"}
    got = read_workbook(path, known_units=units, known_point_types=set())

    def std(code, text, methods, marks, types=(), lead=None, **kw):
        return Standard(
            code=code,
            text=text,
            methods=methods,
            full_marks=marks,
            point_types=list(types),
            lead_unit=lead,
            **kw,
        )

    expected = EvaluationIndex(
        name="XX县文明城市测评体系",
        version="2024版",
        year=2024,
        edition="县级",
        point_types=[
            PointType(code="PT01", name="农贸市场"),
            PointType(code="PT02", name="背街小巷"),
            PointType(code="PT03", name="主次干道"),
        ],
        categories=[
            Category(
                code="I-01",
                name="公共环境",
                items=[
                    Item(
                        code="III-01",
                        name="农贸市场",
                        standards=[
                            std(
                                "GH-01",
                                "市场内地面干净，无积水",
                                [Method.field],
                                2,
                                ["农贸市场"],
                                "县市场监督管理局",
                                scoring_mode=ScoringMode.deduction,
                                per_instance=0.5,
                                cap=2,
                            ),
                            std(
                                "GH-02",
                                "市场内公益广告不少于2处",
                                [Method.field, Method.materials],
                                2,
                                ["农贸市场"],
                                "县委宣传部",
                            ),
                        ],
                    ),
                    Item(
                        code="III-02",
                        name="背街小巷",
                        standards=[
                            std(
                                "GH-03",
                                "路面无破损",
                                [Method.field],
                                1.5,
                                ["背街小巷", "农贸市场"],
                                "县住房和城乡建设局",
                                scoring_mode=ScoringMode.graded,
                            ),
                            std("GH-04", "群众对环境卫生满意", [Method.survey], 1),
                        ],
                    ),
                ],
            ),
            Category(
                code="I-02",
                name="公共秩序",
                items=[
                    Item(
                        code="III-03",
                        name="交通秩序",
                        standards=[
                            std(
                                "GH-05",
                                "路口（含斑马线）车辆礼让行人",
                                [Method.field, Method.simulation],
                                3,
                                ["主次干道"],
                                "县公安局交通管理大队",
                            ),
                            std("GH-06", "非机动车有序停放", [Method.field], 2, ["主次干道"]),
                        ],
                    )
                ],
            ),
        ],
    )
    assert got.index == expected
    assert got.units == []


def test_official_table_in_a_single_sheet_of_another_name_is_found(tmp_path):
    wb = _new_book()
    _meta(wb, 名称="体系", 版本="1", 年份=2024)
    ws = wb.create_sheet("Sheet1")
    ws.append(["测评项目", "测评内容", "标准编码", "测评标准", "测评方法", "分值"])
    ws.append(["公共环境", "公园", "S1", "干净", "材料审核", 1])
    path = tmp_path / "a.xlsx"
    wb.save(path)
    index = read_workbook(path).index
    assert index.standard("S1").methods == [Method.materials]


# --- located errors ----------------------------------------------------------------------------


def test_ten_errors_are_all_reported_each_at_its_cell(tmp_path):
    wb = _new_book()
    _meta(wb, 名称=None, 版本="2024版", 年份="二〇二四", 类型="县级")
    ws = wb.create_sheet("测评标准")
    ws.append(HEADERS)

    def row(code, text="文本", methods="实地考察", marks=2, **kw):
        values = dict(category="公共环境", item="农贸市场", code=code, text=text, methods=methods, full_marks=marks)
        values.setdefault("point_types", "农贸市场")
        values.update(kw)
        return [values.get(c.key) for c in STANDARD_COLUMNS]

    ws.append(row("S-01"))  # R2: fine
    ws.append(row("S-02", marks="二"))  # R3: marks not a number
    ws.append(row("S-03", marks="-1"))  # R4: negative marks
    ws.append(row("S-01"))  # R5: duplicate code
    ws.append(row("S-05", text=None))  # R6: missing text
    ws.append(row("S-06", point_types="菜市场"))  # R7: unknown point type
    ws.append(row("S-07", lead_unit="县环保局"))  # R8: unknown unit
    ws.append(row("S-08", scoring_mode="扣分", cap=2))  # R9: deduction without per-instance points
    ws.append(row("S-09", scoring_mode="按次"))  # R10: unknown enum label
    ws.append(row("S-10", point_types=None))  # R11: field standard without point type
    ws.append(["公共环境", None, None, None, "空内容"])  # R12: an item with no standards
    ws.append(row("S-12", methods="暗访", veto="可能", deadline_days="三天"))  # R13: three more
    _point_types(wb, "农贸市场")
    path = tmp_path / "测评体系.xlsx"
    wb.save(path)

    with pytest.raises(WorkbookInvalid) as info:
        read_workbook(path, known_units={"县城市管理局"}, known_point_types=set())
    got = [str(p) for p in info.value.problems]
    assert got == [
        "测评体系.xlsx:测评体系:R2:C2: 名称不能为空",
        "测评体系.xlsx:测评体系:R4:C2: 年份“二〇二四”不是数字",
        "测评体系.xlsx:测评标准:R3:C10: 分值“二”不是数字",
        "测评体系.xlsx:测评标准:R4:C10: 分值不能为负数（填的是“-1”）",
        "测评体系.xlsx:测评标准:R5:C7: 标准编码“S-01”重复（与第2行相同）",
        "测评体系.xlsx:测评标准:R6:C8: 测评标准不能为空",
        "测评体系.xlsx:测评标准:R7:C14: 点位类型“菜市场”不在“点位类型”表中，也不在点位类型名录中",
        "测评体系.xlsx:测评标准:R8:C15: 牵头单位“县环保局”不在单位名录中，也不在“单位”表中",
        "测评体系.xlsx:测评标准:R9:C12: 计分方式为“扣分”时须填写每处扣分",
        "测评体系.xlsx:测评标准:R10:C11: 计分方式“按次”无效，可选：符合/不符合、等级、扣分",
        "测评体系.xlsx:测评标准:R11:C14: 测评方法含“实地考察”的标准须填写点位类型",
        "测评体系.xlsx:测评标准:R12:C8: 测评内容“空内容”没有测评标准",
        "测评体系.xlsx:测评标准:R13:C9: 测评方法“暗访”无效，可选：实地考察、材料审核、问卷调查、模拟测试",
        "测评体系.xlsx:测评标准:R13:C18: 一票否决“可能”无效，可选：否、本项归零、专项预警",
        "测评体系.xlsx:测评标准:R13:C21: 整改天数“三天”不是数字",
    ]


def test_missing_sheets_and_columns_and_conflicting_codes(tmp_path):
    wb = _new_book()
    ws = wb.create_sheet("测评标准")
    ws.append(["测评项目", "项目编码", "测评内容", "内容编码", "标准编码", "测评标准", "测评方法", "分值"])
    ws.append(["公共环境", "A", "公园", "X1", "S1", "干净", "材料审核", 1])
    ws.append(["公共秩序", "A", "路口", "X2", "S2", "有序", "材料审核", 1])  # category code reused
    ws.append(["公共秩序", "B", "广场", "X1", "S3", "整洁", "材料审核", 1])  # item code reused
    ws.append([None, None, None, None, "S4", "整洁", "材料审核", 1])  # no category, no item
    path = tmp_path / "b.xlsx"
    wb.save(path)
    with pytest.raises(WorkbookInvalid) as info:
        read_workbook(path)
    assert [str(p) for p in info.value.problems] == [
        "b.xlsx:测评体系: 缺少工作表“测评体系”",
        "b.xlsx:测评标准:R3:C2: 项目编码“A”已用于第2行的“公共环境”",
        "b.xlsx:测评标准:R4:C4: 内容编码“X1”已用于第2行的“公园”",
        "b.xlsx:测评标准:R5:C1: 测评项目不能为空",
        "b.xlsx:测评标准:R5:C3: 测评内容不能为空",
    ]


def test_standards_sheet_without_required_column(tmp_path):
    wb = _new_book()
    _meta(wb, 名称="体系", 版本="1", 年份=2024, 类型="省级")
    ws = wb.create_sheet("测评标准")
    ws.append(["测评项目", "测评内容", "测评标准", "测评方法", "分值"])
    path = tmp_path / "c.xlsx"
    wb.save(path)
    with pytest.raises(WorkbookInvalid) as info:
        read_workbook(path)
    assert [str(p) for p in info.value.problems] == [
        "c.xlsx:测评体系:R5:C2: 类型“省级”无效，可选：县级、地级、自定义",
        "c.xlsx:测评标准:R1: 表头缺少必需的列“标准编码”",
    ]


# --- template ----------------------------------------------------------------------------------


def test_template_has_dropdowns_notes_and_an_example_that_imports(tmp_path):
    path = tmp_path / "模板.xlsx"
    write_template(path)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["测评体系", "测评标准", "点位类型", "单位", "填写说明", "选项"]
    assert wb["选项"].sheet_state == "hidden"
    ws = wb["测评标准"]
    assert [c.value for c in ws[1]] == HEADERS
    assert ws["A1"].font.b and ws.freeze_panes == "A2"
    assert ws.column_dimensions["H"].width >= 40  # the standard's text
    assert ws.max_row == 2  # one example row
    letter = {c.key: openpyxl.utils.get_column_letter(i) for i, c in enumerate(STANDARD_COLUMNS, 1)}
    validations = {str(dv.sqref).split(":")[0]: dv for dv in ws.data_validations.dataValidation}
    for key in ("scoring_mode", "responsibility", "veto", "severity", "methods"):
        dv = validations[f"{letter[key]}2"]
        assert dv.type == "list" and "选项" in dv.formula1
    assert validations[f"{letter['scoring_mode']}2"].showErrorMessage
    options = wb["选项"]
    lists = {col[0].value: [c.value for c in col[1:] if c.value] for col in options.iter_cols()}
    assert lists["计分方式"] == ["符合/不符合", "等级", "扣分"]
    assert lists["一票否决"] == ["否", "本项归零", "专项预警"]
    notes = [c.value for c in wb["填写说明"]["B"] if c.value]
    assert set(HEADERS) <= set(notes)
    assert any(dv.type == "list" for dv in wb["测评体系"].data_validations.dataValidation)

    found = read_workbook(path, known_units=set(), known_point_types=set())
    assert found.index == criteria.EXAMPLE_INDEX
    assert found.units == criteria.EXAMPLE_UNITS


# --- round trips -------------------------------------------------------------------------------

UNITS = [
    Unit(code="W01", name="县创建办", kind=UnitKind.work_group),
    Unit(code="D01", name="县城市管理局", parent="县创建办"),
    Unit(code="D02", name="县市场监督管理局"),
    Unit(code="D03", name="县委宣传部"),
    Unit(code="D04", name="县公安局交通管理大队"),
]


def rich_index(version: str = "2024版") -> EvaluationIndex:
    """Indicators, all three scoring modes, several methods, veto, deadline override, multi-line instructions."""
    return EvaluationIndex(
        name="示例县测评体系",
        version=version,
        year=2024,
        edition="县级",
        description="用于测试\n第二行说明",
        point_types=[
            PointType(code="PT01", name="农贸市场", description="含早夜市"),
            PointType(code="PT02", name="背街小巷"),
            PointType(code="PT03", name="主次干道"),
        ],
        categories=[
            Category(
                code="I-1",
                name="公共环境",
                indicators=[Indicator(code="II-1", name="市容环境"), Indicator(code="II-2", name="环境卫生")],
                items=[
                    Item(
                        code="III-1",
                        name="农贸市场",
                        indicator="II-1",
                        standards=[
                            Standard(
                                code="III-1-1",
                                text="市场内地面干净，无积水（含周边50米）",
                                methods=[Method.field],
                                full_marks=2,
                                scoring_mode=ScoringMode.deduction,
                                per_instance=0.5,
                                cap=1.5,
                                point_types=["农贸市场"],
                                lead_unit="县市场监督管理局",
                                supporting_units=["县城市管理局", "县委宣传部"],
                                instructions="1. 从正门进入，步行200米\n2. 查看2处以上摊位区",
                                severity=Severity.urgent,
                            ),
                            Standard(
                                code="III-1-2",
                                text="公益广告不少于2处",
                                methods=[Method.field, Method.materials],
                                full_marks=1,
                                scoring_mode=ScoringMode.graded,
                                point_types=["农贸市场", "背街小巷"],
                                lead_unit="县委宣传部",
                                responsibility=Responsibility.lead,
                                deadline_days=5,
                            ),
                        ],
                    ),
                    Item(
                        code="III-2",
                        name="背街小巷",
                        indicator="II-2",
                        standards=[
                            Standard(
                                code="III-2-1",
                                text="无乱堆乱放",
                                methods=[Method.field],
                                full_marks=1.5,
                                point_types=["背街小巷"],
                                lead_unit="县城市管理局",
                                veto=Veto.zero_item,
                                severity=Severity.immediate,
                                deadline_days=0,
                            )
                        ],
                    ),
                    Item(
                        code="III-3",
                        name="群众满意度",
                        standards=[
                            Standard(code="III-3-1", text="群众对市容满意", methods=[Method.survey], full_marks=3),
                            Standard(
                                code="III-3-2",
                                text="材料齐全",
                                methods=[Method.materials],
                                full_marks=0.5,
                                veto=Veto.alert,
                                severity=Severity.complex,
                            ),
                        ],
                    ),
                ],
            ),
            Category(
                code="I-2",
                name="公共秩序",
                items=[
                    Item(
                        code="III-4",
                        name="交通秩序",
                        standards=[
                            Standard(
                                code="III-4-1",
                                text="机动车礼让行人",
                                methods=[Method.field, Method.simulation],
                                full_marks=3,
                                scoring_mode=ScoringMode.deduction,
                                per_instance=1,
                                cap=3,
                                point_types=["主次干道"],
                                lead_unit="县公安局交通管理大队",
                                severity=Severity.serious,
                            )
                        ],
                    )
                ],
            ),
        ],
    )


def test_excel_round_trip_is_equal_and_merges_parent_levels(tmp_path):
    index = rich_index()
    path = tmp_path / "导出.xlsx"
    write_workbook(index, path, units=UNITS)
    found = read_workbook(path, known_units=set(), known_point_types=set())
    assert found.index == index
    assert found.units == UNITS
    merged = {str(r) for r in openpyxl.load_workbook(path)["测评标准"].merged_cells.ranges}
    assert {"A2:A6", "B2:B6", "C2:C3", "E2:E3", "E5:E6"} <= merged


def test_yaml_round_trip_is_equal_and_readable(tmp_path):
    index = rich_index()
    path = tmp_path / "体系.yaml"
    write_text(index, path)
    text = path.read_text(encoding="utf-8")
    assert "公共环境" in text and "\\u" not in text and "{" not in text
    data = yaml.safe_load(text)
    assert "scoring_mode" not in data["categories"][0]["items"][2]["standards"][0]  # defaults left out
    assert read_text(path) == index
    assert read_index(path).index == index


def test_yaml_accepts_chinese_labels(tmp_path):
    path = tmp_path / "手写.yml"
    path.write_text(
        "name: 体系\nversion: '1'\nyear: 2024\ncategories:\n- code: A\n  name: 甲\n  items:\n"
        "  - code: A1\n    name: 乙\n    standards:\n    - {code: S1, text: 丙, methods: [材料审核], full_marks: 1,"
        " scoring_mode: 等级, veto: 本项归零}\n",
        encoding="utf-8",
    )
    s = read_text(path).standard("S1")
    assert (s.methods, s.scoring_mode, s.veto) == ([Method.materials], ScoringMode.graded, Veto.zero_item)


def test_yaml_errors_are_located_by_field_path(tmp_path):
    data = rich_index().model_dump(mode="json", exclude_defaults=True)
    data["categories"][1]["items"][0]["standards"][0]["full_marks"] = "三"
    data["categories"][0]["items"][2]["standards"][1]["veto"] = "可能"
    data["categories"][0]["items"][0]["standards"][0]["per_instance"] = -1
    data["categories"][0]["items"][1]["standards"][0]["extra"] = 1
    del data["categories"][0]["items"][1]["standards"][0]["text"]
    path = tmp_path / "坏.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(WorkbookInvalid) as info:
        read_text(path)
    assert [str(p) for p in info.value.problems] == [
        "坏.yaml:categories[0].items[0].standards[0].per_instance: 不能为负数（填的是“-1”）",
        "坏.yaml:categories[0].items[1].standards[0].text: 缺少必填项",
        "坏.yaml:categories[0].items[1].standards[0].extra: 未知字段",
        "坏.yaml:categories[0].items[2].standards[1].veto: “可能”无效，可选："
        "none（否）、zero_item（本项归零）、alert（专项预警）",
        "坏.yaml:categories[1].items[0].standards[0].full_marks: “三”不是数字",
    ]


def test_yaml_semantic_checks_and_syntax_errors(tmp_path):
    index = rich_index()
    index.categories[1].items[0].standards[0].code = "III-1-1"
    index.categories[1].items[0].indicator = "II-9"
    path = tmp_path / "重复.yaml"
    write_text(index, path)
    with pytest.raises(WorkbookInvalid) as info:
        read_text(path, known_units={"县城市管理局"}, known_point_types=set())
    got = [str(p) for p in info.value.problems]
    assert (
        "重复.yaml:categories[1].items[0].standards[0].code: "
        "标准编码“III-1-1”重复（另见 categories[0].items[0].standards[0].code）" in got
    )
    assert "重复.yaml:categories[1].items[0].indicator: 指标编码“II-9”不在本测评项目的指标中" in got
    assert "重复.yaml:categories[0].items[0].standards[0].lead_unit: 牵头单位“县市场监督管理局”不在单位名录中" in got

    bad = tmp_path / "语法.yaml"
    bad.write_text("name: a\n  version: [1\n", encoding="utf-8")
    with pytest.raises(WorkbookInvalid, match=r"^语法.yaml:R\d+:C\d+: YAML 格式错误"):
        read_text(bad)
    with pytest.raises(WorkbookInvalid, match="不支持的文件类型"):
        read_index(tmp_path / "体系.xls")


# --- the store ---------------------------------------------------------------------------------


def _rich_workbook(tmp_path, version="2024版") -> Path:
    path = tmp_path / f"体系{version}.xlsx"
    write_workbook(rich_index(version), path, units=UNITS)
    return path


def test_import_index_into_the_store(engine, tmp_path):
    index_id, index = import_index(engine, ADMIN, _rich_workbook(tmp_path))
    assert index == rich_index()
    with engine.connect() as conn:
        assert repo.load_index(conn, index_id) == rich_index()
        assert repo.list_units(conn) == sorted(UNITS, key=lambda u: u.code)
        assert repo.count_rows(conn)["standards"] == 6


def test_broken_workbook_leaves_the_store_unchanged(engine, tmp_path):
    path = _rich_workbook(tmp_path)
    wb = openpyxl.load_workbook(path)
    wb["测评标准"]["J3"] = "二分"
    wb.save(path)
    with engine.connect() as conn:
        before = repo.count_rows(conn)
    with pytest.raises(WorkbookInvalid, match=r"测评标准:R3:C10: 分值“二分”不是数字"):
        import_index(engine, ADMIN, path)
    with engine.connect() as conn:
        assert repo.count_rows(conn) == before
        assert repo.list_units(conn) == []


def test_same_name_and_version_twice_is_refused_and_stores_nothing(engine, tmp_path):
    import_index(engine, ADMIN, _rich_workbook(tmp_path))
    with engine.connect() as conn:
        before = repo.count_rows(conn)
    with pytest.raises(repo.StoreError, match="已存在"):
        import_index(engine, ADMIN, _rich_workbook(tmp_path))
    with engine.connect() as conn:
        assert repo.count_rows(conn) == before
    import_index(engine, ADMIN, _rich_workbook(tmp_path), replace=True)
    import_index(engine, ADMIN, _rich_workbook(tmp_path, "2025版"))
    with engine.connect() as conn:
        assert [i.version for i in repo.list_indexes(conn)] == ["2024版", "2025版"]


def test_units_known_to_the_store_need_no_units_sheet_and_export_round_trips(engine, tmp_path):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, UNITS)
        repo.save_point_types(conn, [PointType(code="PT09", name="主次干道")])
    index = rich_index()
    index.point_types = index.point_types[:2]  # 主次干道 comes from the register
    path = tmp_path / "无单位表.xlsx"
    write_workbook(index, path)
    index_id, stored = import_index(engine, ADMIN, path)
    assert [t.name for t in stored.point_types] == ["农贸市场", "背街小巷", "主次干道"]

    for name in ("导出.xlsx", "导出.yaml"):
        out = tmp_path / name
        export_index(engine, ADMIN, index_id, out)
        with engine.connect() as conn:
            stored = repo.load_index(conn, index_id)
        found = read_index(out, known_point_types=set())
        assert found.index == stored
    assert found.units == []
    assert read_workbook(tmp_path / "导出.xlsx").units == sorted(UNITS, key=lambda u: u.code)


def test_unknown_unit_in_the_store_import_is_located(engine, tmp_path):
    path = tmp_path / "无单位.xlsx"
    write_workbook(rich_index(), path)
    with pytest.raises(WorkbookInvalid) as info:
        import_index(engine, ADMIN, path)
    assert "无单位.xlsx:测评标准:R2:C15: 牵头单位“县市场监督管理局”不在单位名录中，也不在“单位”表中" in [
        str(p) for p in info.value.problems
    ]


# --- the sample index --------------------------------------------------------------------------


def test_sample_county_index_validates_and_round_trips_through_excel(tmp_path):
    sample = CRITERIA_DIR / "sample-county.yaml"
    if not sample.exists():
        pytest.skip("criteria/sample-county.yaml not written yet")
    index = read_text(sample)
    units = []
    if (CRITERIA_DIR / "sample-units.yaml").exists():
        units = [Unit(**u) for u in yaml.safe_load((CRITERIA_DIR / "sample-units.yaml").read_text("utf-8"))]
        read_text(sample, known_units={u.name for u in units}, known_point_types=set())
    path = tmp_path / "sample.xlsx"
    write_workbook(index, path, units=units)
    found = read_workbook(path, known_units=set(), known_point_types=set())
    assert found.index == index
    assert found.units == units
