"""Shared workbook machinery: problems, cell normalisation, numbers, lists, merged cells, header detection."""

from __future__ import annotations

import openpyxl
import pytest

from civeval.workbook import (
    Book,
    Column,
    Lookup,
    Problem,
    Problems,
    WorkbookInvalid,
    clean,
    parse_bool,
    parse_int,
    parse_number,
    split_list,
)


def test_problem_str_with_and_without_location():
    assert str(Problem("测评体系.xlsx", "测评标准", 14, 5, "分值“二”不是数字")) == (
        "测评体系.xlsx:测评标准:R14:C5: 分值“二”不是数字"
    )
    assert str(Problem("a.xlsx", "单位", None, None, "缺少工作表“单位”")) == "a.xlsx:单位: 缺少工作表“单位”"
    assert str(Problem("a.xlsx", None, None, None, "无法打开")) == "a.xlsx: 无法打开"
    assert str(Problem("a.yaml", None, 3, 7, "YAML 格式错误")) == "a.yaml:R3:C7: YAML 格式错误"


def test_workbook_invalid_lists_every_problem_sorted():
    problems = Problems("/tmp/x/体系.xlsx")
    problems.add("测评标准", 9, 2, "乙")
    problems.add("测评体系", 2, 2, "甲")
    problems.add("测评标准", 3, 7, "丙")
    with pytest.raises(WorkbookInvalid) as info:
        problems.raise_if_any()
    assert [str(p) for p in info.value.problems] == [
        "体系.xlsx:测评标准:R3:C7: 丙",
        "体系.xlsx:测评标准:R9:C2: 乙",
        "体系.xlsx:测评体系:R2:C2: 甲",
    ]
    assert str(info.value) == "\n".join(str(p) for p in info.value.problems)
    Problems("empty.xlsx").raise_if_any()  # nothing to raise


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (None, ""),
        ("", ""),
        ("  公共 环境 ", "公共环境"),
        ("公共\n环境", "公共环境"),
        ("公共_x000D_\n环境", "公共环境"),
        ("ＡＢｃ１２３", "ABc123"),
        ("Ⅲ－１２（一）：", "Ⅲ-12(一):"),
        ("县\u3000城管局", "县城管局"),
        ("Road  No.\t5", "Road No. 5"),
        (2.0, "2"),
        (2.5, "2.5"),
        (True, "是"),
    ],
)
def test_clean(raw, expected):
    assert clean(raw) == expected


def test_clean_keeps_chinese_punctuation_for_names_and_lines_for_free_text():
    assert clean("农贸市场（集贸市场），含早市", punctuation=False) == "农贸市场（集贸市场），含早市"
    assert clean("１号楼（东）", punctuation=False) == "1号楼（东）"
    assert clean("\n 1. 进门 \r\n2.  看  楼道\n\n", multiline=True, punctuation=False) == "1. 进门\n2. 看楼道"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2", 2.0),
        ("2分", 2.0),
        ("２", 2.0),
        ("２．５分", 2.5),
        (" 1.5 ", 1.5),
        (2.0, 2.0),
        (3, 3.0),
        ("0.5分/处", 0.5),
        ("每处0.5分", 0.5),
        ("2\n分", 2.0),
        (None, None),
        ("  ", None),
    ],
)
def test_parse_number(raw, expected):
    assert parse_number(raw, "分值") == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("二", "分值“二”不是数字"),
        ("abc", "分值“abc”不是数字"),
        ("-1", "分值不能为负数（填的是“-1”）"),
        (-0.5, "分值不能为负数（填的是“-0.5”）"),
    ],
)
def test_parse_number_errors(raw, message):
    with pytest.raises(ValueError) as info:
        parse_number(raw, "分值")
    assert str(info.value) == message


def test_parse_number_negative_allowed_and_integers():
    assert parse_number("-12.5", "经度", negative=True) == -12.5
    assert parse_int("２０２４年", "年份") == 2024
    assert parse_int("3天", "整改天数") == 3
    with pytest.raises(ValueError, match="不是整数"):
        parse_int("2.5", "整改天数")


def test_parse_bool():
    assert parse_bool("是", "是否启用") is True
    assert parse_bool("否", "是否启用") is False
    assert parse_bool(None, "是否启用") is True
    assert parse_bool(False, "是否启用") is False
    with pytest.raises(ValueError, match="请填写“是”或“否”"):
        parse_bool("可能", "是否启用")


def test_split_list():
    assert split_list("实地考察、材料审核") == ["实地考察", "材料审核"]
    assert split_list("甲，乙;丙；丁,戊") == ["甲", "乙", "丙", "丁", "戊"]
    assert split_list("甲\n乙_x000D_\n丙") == ["甲", "乙", "丙"]
    assert split_list("甲/乙") == ["甲", "乙"]
    assert split_list("电话/实景模拟", known=lambda t: t == "电话/实景模拟") == ["电话/实景模拟"]
    assert split_list(" 县 城管局 、、") == ["县城管局"]
    assert split_list(None) == []


def test_lookup_matches_normalised_names():
    lookup = Lookup(["县城市管理局"])
    lookup.add("城关街道", "S01")
    assert lookup.get(" 县城市 管理局") == "县城市管理局"
    assert lookup.get("ｓ０１") == "城关街道"
    assert "县城市管理局" in lookup
    assert lookup.get("县城管局") is None


COLUMNS = (
    Column("category", "测评项目", ("项目",), required=True, parent=True),
    Column("item", "测评内容", ("内容",), required=True, parent=True),
    Column("text", "测评标准", ("标准内容",), required=True),
    Column("marks", "分值", ("分数", "标准分值")),
)


def _book(tmp_path, build) -> tuple[Book, Problems]:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "测评标准"
    build(ws)
    path = tmp_path / "t.xlsx"
    wb.save(path)
    problems = Problems(path)
    return Book(path, problems), problems


def test_header_below_merged_title_any_order_synonyms_and_real_columns(tmp_path):
    def build(ws):
        ws.append(["XX县文明城市测评体系"])
        ws.merge_cells("A1:F1")
        ws.append([None, "序号", "分值（分）", "标准内容", "测评内容", "测评项目 "])
        ws.append([None, 1, "2分", "地面干净", "农贸市场", "公共环境"])

    book, problems = _book(tmp_path, build)
    table = book.table("测评标准", COLUMNS)
    assert not problems.items
    assert table.header_row == 2
    assert table.cols == {"marks": 3, "text": 4, "item": 5, "category": 6}
    assert [(r.number, r.text("category"), r.text("marks")) for r in table.rows] == [(3, "公共环境", "2分")]


def test_merged_parent_cells_fill_down_blank_only_when_merged(tmp_path):
    def build(ws):
        ws.append(["测评项目", "测评内容", "测评标准", "分值"])
        ws.append(["公共环境", "农贸市场", "甲", 1])
        ws.append([None, None, "乙", 1])
        ws.append([None, "背街小巷", "丙", 1])
        ws.append([None, None, None, None])  # fully empty: skipped
        ws.append([None, "公园", "丁", 1])  # category blank and not merged: stays blank
        ws.merge_cells("A2:A4")
        ws.merge_cells("B2:B3")

    book, _ = _book(tmp_path, build)
    table = book.table("测评标准", COLUMNS)
    got = [(r.number, r.text("category"), r.text("item"), r.text("text")) for r in table.rows]
    assert got == [
        (2, "公共环境", "农贸市场", "甲"),
        (3, "公共环境", "农贸市场", "乙"),
        (4, "公共环境", "背街小巷", "丙"),
        (6, "", "公园", "丁"),
    ]


def test_blank_merged_parent_cell_repeats_the_row_above(tmp_path):
    def build(ws):
        ws.append(["测评项目", "测评内容", "测评标准"])
        ws.append(["公共环境", "农贸市场", "甲"])
        ws.append([None, "背街小巷", "乙"])
        ws.append([None, "背街小巷", "丙"])
        ws.merge_cells("A3:A4")  # merged, but its top cell is blank

    book, _ = _book(tmp_path, build)
    table = book.table("测评标准", COLUMNS)
    assert [r.text("category") for r in table.rows] == ["公共环境", "公共环境", "公共环境"]


def test_single_row_merge_keeps_value_in_first_cell(tmp_path):
    def build(ws):
        ws.append(["测评项目", "测评内容", "测评标准"])
        ws.append(["公共环境", "农贸市场", "甲"])
        ws.merge_cells("B2:C2")

    book, _ = _book(tmp_path, build)
    (row,) = book.table("测评标准", COLUMNS).rows
    assert (row.text("item"), row.text("text")) == ("农贸市场", "")


def test_missing_header_columns_and_sheets_are_located(tmp_path):
    def build(ws):
        ws.append(["标题"])
        ws.append(["测评项目", "测评内容", "分值"])

    book, problems = _book(tmp_path, build)
    assert book.table("测评标准", COLUMNS) is None
    assert book.table("单位", COLUMNS) is None
    assert book.table("点位类型", COLUMNS, optional=True) is None
    assert [str(p) for p in problems] == [
        "t.xlsx:测评标准:R2: 表头缺少必需的列“测评标准”",
        "t.xlsx:单位: 缺少工作表“单位”",
    ]


def test_no_header_at_all(tmp_path):
    book, problems = _book(tmp_path, lambda ws: ws.append(["随便", "什么"]))
    assert book.table("测评标准", COLUMNS) is None
    assert "找不到表头" in str(next(iter(problems)))


def test_unreadable_file(tmp_path):
    path = tmp_path / "坏.xlsx"
    path.write_text("not a workbook")
    with pytest.raises(WorkbookInvalid, match=r"^坏.xlsx: 无法打开工作簿"):
        Book(path, Problems(path))


def test_a_damaged_workbook_is_refused_with_a_message_not_a_traceback(tmp_path):
    import zipfile

    path = tmp_path / "坏.xlsx"
    with zipfile.ZipFile(path, "w") as z:  # a zip that claims to be a workbook, with broken XML inside
        z.writestr("[Content_Types].xml", "<Types><broken")
        z.writestr("xl/workbook.xml", "<<<")
    with pytest.raises(WorkbookInvalid, match="无法打开工作簿"):
        Book(path, Problems(path))
