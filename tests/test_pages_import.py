"""数据导入: civeval.imports on SQLite and PostgreSQL, the page under AppTest, and one upload in Chromium."""

from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
import streamlit as st
import yaml

from civeval import audit, criteria, imports, registers
from civeval.imports import Kind
from civeval.models import Actor, Grant, Role
from civeval.store import open_engine, repo
from tests import e2e, seed
from tests.conftest import ADMIN
from tests.test_pages import PAGES, _app, texts

POINT_HEADER = ["点位编码", "点位名称", "点位类型", "所属街道", "包保单位"]
UNIT_HEADER = ["单位编码", "单位名称", "单位类型", "上级单位"]

BROKEN_POINTS = [
    ["P100", "新华路", "不存在的类型", "城关街道", "县城市管理局"],
    ["P101", "", "农贸市场", "县教育局", ""],
]
BROKEN_POINT_LINES = [
    "点位名录.xlsx:点位:R2:C3: 点位类型“不存在的类型”不存在（不在点位类型名录中，也不在本工作簿的“点位类型”表中）",
    "点位名录.xlsx:点位:R3:C2: 点位名称不能为空",
    "点位名录.xlsx:点位:R3:C4: 所属街道“县教育局”的单位类型是部门，不是街道或镇",
]
GOOD_POINTS = [
    ["P100", "新华路", "主次干道", "城关街道", "县城市管理局"],
    ["P001", "城关农贸市场（改）", "农贸市场", "城关街道", "县市场监督管理局"],
]
BROKEN_UNITS = [["D50", "县交通运输局", "机关"], ["D51", "", "部门"]]
BROKEN_UNIT_LINES = [
    "单位名录.xlsx:单位:R2:C3: 单位类型“机关”无效，可选：部门、街道、镇、社区、工作组、其他",
    "单位名录.xlsx:单位:R3:C2: 单位名称不能为空",
]
GOOD_UNITS = [
    ["D50", "县交通运输局", "部门"],
    ["C02", "解放路社区", "社区", "城关街道"],
    ["D19", "县城市管理局", "部门"],
]


def workbook(sheet: str, header: list[str], rows: list[list]) -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def points_book(rows) -> bytes:
    return workbook("点位", POINT_HEADER, rows)


def units_book(rows) -> bytes:
    return workbook("单位", UNIT_HEADER, rows)


@pytest.fixture
def seeded(engine):
    """The seed's units, index and points (no accounts: hashing their passwords is slow and not needed here)."""
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, seed.UNITS)
        repo.save_index(conn, seed.index())
        repo.save_points(conn, seed.POINTS)
    return engine


def count_points(engine) -> int:
    with engine.connect() as conn:
        return len(repo.list_points(conn))


# --- civeval.imports, SQLite and PostgreSQL ----------------------------------------------------


def test_broken_points_workbook_is_located_and_nothing_is_stored(seeded):
    data = points_book(BROKEN_POINTS)
    checked = imports.check_upload(seeded, ADMIN, Kind.points, "点位名录.xlsx", data)
    assert not checked.ok and checked.lines == BROKEN_POINT_LINES
    done = imports.apply_upload(seeded, ADMIN, Kind.points, "点位名录.xlsx", data)
    assert done.lines == BROKEN_POINT_LINES
    assert count_points(seeded) == len(seed.POINTS)


def test_valid_points_workbook_checks_then_imports(seeded):
    data = points_book(GOOD_POINTS)
    checked = imports.check_upload(seeded, ADMIN, "points", "点位名录.xlsx", data)
    assert checked.ok and checked.summary == "2 个点位（新增 1 个，更新 1 个）"
    assert count_points(seeded) == len(seed.POINTS), "checking stores nothing"
    done = imports.apply_upload(seeded, ADMIN, "points", "点位名录.xlsx", data)
    assert done.ok and done.summary == "已导入点位名录：新增 1 个点位，更新 1 个"
    with seeded.connect() as conn:
        by_code = {p.code: p for p in repo.list_points(conn)}
    assert len(by_code) == len(seed.POINTS) + 1
    assert by_code["P100"].point_type == "主次干道" and by_code["P001"].name == "城关农贸市场（改）"


def test_units_check_counts_new_and_updated_and_import_adds_them(seeded):
    broken = imports.check_upload(seeded, ADMIN, Kind.units, "单位名录.xlsx", units_book(BROKEN_UNITS))
    assert broken.lines == BROKEN_UNIT_LINES
    data = units_book(GOOD_UNITS)
    assert imports.check_upload(seeded, ADMIN, Kind.units, "单位名录.xlsx", data).summary == (
        "3 个单位（新增 2 个，更新 1 个）"
    )
    done = imports.apply_upload(seeded, ADMIN, Kind.units, "单位名录.xlsx", data)
    assert done.summary == "已导入单位名录：新增 2 个单位，更新 1 个"
    with seeded.connect() as conn:
        parents = {u.name: u.parent for u in repo.list_units(conn)}
    assert len(parents) == len(seed.UNITS) + 2 and parents["解放路社区"] == "城关街道"


def test_index_template_checks_imports_and_refuses_the_same_version_unless_replaced(seeded):
    data = imports.template(Kind.index)
    checked = imports.check_upload(seeded, ADMIN, Kind.index, "测评体系.xlsx", data)
    assert checked.ok, checked.lines
    assert checked.summary.endswith(
        "1 个测评项目、1 项测评内容、1 条测评标准、1 种点位类型；单位表 2 个单位（新增 0 个，更新 2 个）"
    )
    assert not checked.warning
    first = imports.apply_upload(seeded, ADMIN, Kind.index, "测评体系.xlsx", data)
    assert first.ok and first.summary.startswith("已导入测评体系（新增）")
    again = imports.check_upload(seeded, ADMIN, Kind.index, "测评体系.xlsx", data)
    assert again.ok and "已存在同名同版本" in again.warning
    refused = imports.apply_upload(seeded, ADMIN, Kind.index, "测评体系.xlsx", data)
    assert not refused.ok and refused.error.endswith("已存在") and not refused.problems
    replaced = imports.apply_upload(seeded, ADMIN, Kind.index, "测评体系.xlsx", data, replace=True)
    assert replaced.ok and replaced.summary.startswith("已导入测评体系（替换了同名同版本）")
    with seeded.connect() as conn:
        assert len(repo.list_indexes(conn)) == 2


def test_index_export_as_yaml_reimports_under_a_new_version(seeded):
    with seeded.connect() as conn:
        index_id = criteria.stored_indexes(conn, ADMIN)[0].id
    out = imports.export(seeded, ADMIN, Kind.index, index_id=index_id, fmt=".yaml")
    assert out.filename == f"{seed.INDEX_NAME}_{seed.INDEX_VERSION}.yaml"
    assert (
        out.summary
        == f"{seed.INDEX_NAME}（{seed.INDEX_VERSION}）：3 个测评项目、5 项测评内容、7 条测评标准、6 种点位类型"
    )
    data = yaml.safe_load(out.data.decode())
    data["version"] = "2026版"
    text = yaml.safe_dump(data, allow_unicode=True).encode()
    assert imports.check_upload(seeded, ADMIN, "index", "新版.yml", text).ok
    assert imports.apply_upload(seeded, ADMIN, "index", "新版.yml", text).ok
    bad = imports.check_upload(seeded, ADMIN, "index", "坏.yaml", b"name: x\n\tversion: 1\n")
    assert bad.lines[0].startswith("坏.yaml:R2:C1: YAML 格式错误")


def test_exports_of_the_registers_read_back(seeded, tmp_path):
    units = imports.export(seeded, ADMIN, Kind.units)
    points = imports.export(seeded, ADMIN, Kind.points)
    assert (units.filename, units.summary) == ("单位名录.xlsx", f"共 {len(seed.UNITS)} 个单位")
    assert (points.filename, points.summary) == ("点位名录.xlsx", f"共 {len(seed.POINTS)} 个点位")
    (tmp_path / "p.xlsx").write_bytes(points.data)
    read_back = registers.read_points(tmp_path / "p.xlsx", units=seed.UNITS)
    assert [p.code for p in read_back.points] == [p.code for p in seed.POINTS]
    xlsx = imports.export(seeded, ADMIN, Kind.index, index_id=1)
    assert xlsx.filename.endswith(".xlsx") and xlsx.data[:2] == b"PK"


def test_refusals_are_messages_not_exceptions(seeded):
    boss = Actor(user_id=None, username="boss", display_name="领导", grants=(Grant(role=Role.leader),))
    for call in (imports.check_upload, imports.apply_upload):
        result = call(seeded, boss, Kind.units, "单位名录.xlsx", units_book(GOOD_UNITS))
        assert result.error == "领导（领导）无权管理单位"
    assert imports.check_upload(seeded, ADMIN, Kind.units, "单位.csv", b"a,b").lines == [
        "单位.csv: 不支持的文件类型“.csv”，单位名录请使用 .xlsx 文件"
    ]
    assert imports.check_upload(seeded, ADMIN, Kind.points, "空.xlsx", b"").lines == [
        "空.xlsx: 无法打开工作簿：不是 .xlsx 文件，或文件不完整、已损坏"
    ]
    damaged = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(units_book(GOOD_UNITS))) as src, zipfile.ZipFile(damaged, "w") as dst:
        for name in src.namelist():
            dst.writestr(name, b"<broken" if name.startswith("xl/worksheets/") else src.read(name))
    [line] = imports.apply_upload(seeded, ADMIN, Kind.units, "坏.xlsx", damaged.getvalue()).lines
    assert line.startswith("坏.xlsx: 无法打开工作簿：文件已损坏")


@pytest.mark.parametrize(
    ("sent", "saved"),
    [
        ("../../etc/单位名录.xlsx", "单位名录.xlsx"),
        ("C:\\Users\\王芳\\Desktop\\单位名录.xlsx", "单位名录.xlsx"),
        ("..", "单位名录.xlsx"),
        ("", "单位名录.xlsx"),
        ("a\x00b.xlsx", "ab.xlsx"),
        ("单" * 100 + ".xlsx", "单" * 65 + ".xlsx"),  # 200 bytes
    ],
)
def test_safe_name_keeps_only_the_base_name(sent, saved):
    assert imports.safe_name(sent, Kind.units) == saved


def test_problems_name_the_base_name_of_the_upload(seeded):
    result = imports.check_upload(seeded, ADMIN, Kind.units, "../../etc/单位名录.xlsx", units_book(BROKEN_UNITS))
    assert result.filename == "单位名录.xlsx" and result.lines == BROKEN_UNIT_LINES


def test_templates_are_the_writers_output():
    for kind in Kind:
        data = imports.template(kind)
        assert data[:2] == b"PK"
        assert imports.TEMPLATE_NAMES[kind].endswith(".xlsx")
    wb = openpyxl.load_workbook(io.BytesIO(imports.template(Kind.points)))
    assert wb.sheetnames[0] == "点位"


# --- the page (AppTest) ------------------------------------------------------------------------


@pytest.fixture
def page_url(tmp_path):
    return seed.seeded_url(tmp_path / "civeval.db")


@pytest.fixture
def at(page_url, monkeypatch):
    app = _app(page_url, monkeypatch).run()
    app.switch_page(f"{PAGES}data_import.py").run()
    assert not app.exception, [e.value for e in app.exception]
    yield app
    st.cache_resource.clear()


def show(app, label: str):
    app.session_state["import_tabs"] = label
    app.run()
    assert not app.exception, [e.value for e in app.exception]
    return app


def test_page_offers_three_tabs_templates_uploads_and_exports(at):
    assert at.title[0].value == "数据导入"
    assert [t.label for t in at.tabs] == ["测评体系", "单位名录", "点位名录"]
    for label, kind in (("测评体系", "index"), ("单位名录", "units"), ("点位名录", "points")):
        show(at, label)
        assert at.get("download_button")[0].label == "下载空白模板"
        uploader = at.file_uploader(key=f"import_{kind}_upload_0")
        assert uploader.label.startswith(f"上传{label}文件（.xlsx")
        assert at.button(key=f"import_{kind}_check").disabled and at.button(key=f"import_{kind}_import").disabled
        assert at.button(key=f"import_{kind}_export").label == "生成导出文件"
    show(at, "测评体系")
    assert at.file_uploader[0].allowed_type == [".xlsx", ".yaml", ".yml"]
    assert at.checkbox(key="import_index_replace").label == "替换同名同版本"
    assert at.selectbox(key="import_index_export_pick").options == [f"{seed.INDEX_NAME}（{seed.INDEX_VERSION}）"]


def test_broken_points_show_located_lines_then_a_valid_file_imports(at, page_url):
    show(at, "点位名录")
    at.file_uploader[0].upload("点位名录.xlsx", points_book(BROKEN_POINTS)).run()
    at.button(key="import_points_check").click().run()
    assert "校验未通过：“点位名录.xlsx”有 3 处问题，未导入任何内容" in at.error[0].value
    assert at.code[0].value.splitlines() == BROKEN_POINT_LINES
    assert at.button(key="import_points_import").disabled

    at.file_uploader[0].set_value(("点位名录.xlsx", points_book(GOOD_POINTS), "application/octet-stream")).run()
    assert not at.error and not at.code, "the old check does not stick to a new file"
    assert at.button(key="import_points_import").disabled, "a new file is checked first"
    at.button(key="import_points_check").click().run()
    assert at.success[0].value == "有效：2 个点位（新增 1 个，更新 1 个）。可以导入。"
    at.button(key="import_points_import").click().run()
    assert not at.exception and not at.error
    assert "已导入点位名录：新增 1 个点位，更新 1 个（文件“点位名录.xlsx”）" in texts(at)
    assert at.file_uploader[0].key == "import_points_upload_1", "a fresh, empty uploader"
    assert count_points(open_engine(page_url)) == len(seed.POINTS) + 1


def test_an_index_already_stored_is_refused_in_chinese_unless_replaced(at):
    at.file_uploader[0].upload("测评体系.xlsx", imports.template(Kind.index)).run()
    at.button(key="import_index_check").click().run()
    assert at.success[0].value.startswith("有效：")
    at.button(key="import_index_import").click().run()
    assert "已导入测评体系（新增）" in texts(at)

    at.file_uploader[0].upload("测评体系.xlsx", imports.template(Kind.index)).run()
    at.button(key="import_index_check").click().run()
    assert "已存在同名同版本" in at.warning[0].value
    at.button(key="import_index_import").click().run()
    assert not at.exception
    assert at.error[0].value.startswith("导入失败：测评体系“") and "已存在。未导入任何内容" in at.error[0].value
    at.checkbox(key="import_index_replace").check().run()
    at.button(key="import_index_import").click().run()
    assert "已导入测评体系（替换了同名同版本）" in texts(at)


def test_exports_are_built_on_request(at):
    assert len(at.get("download_button")) == 1  # the template only
    at.radio(key="import_index_export_format").set_value(".yaml").run()
    at.button(key="import_index_export").click().run()
    assert at.get("download_button")[1].label == f"下载 {seed.INDEX_NAME}_{seed.INDEX_VERSION}.yaml"
    show(at, "单位名录")
    at.button(key="import_units_export").click().run()
    assert at.get("download_button")[1].label == "下载 单位名录.xlsx"
    assert f"共 {len(seed.UNITS)} 个单位" in texts(at)


def test_the_page_is_not_offered_to_a_non_admin(page_url, monkeypatch):
    app = _app(page_url, monkeypatch, user="insp").run()
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        app.switch_page(f"{PAGES}data_import.py")
    st.cache_resource.clear()


# --- in Chromium -------------------------------------------------------------------------------


@pytest.mark.browser
def test_upload_units_in_the_browser(tmp_path, chromium_path):
    url = seed.seeded_url(tmp_path / "civeval.db")
    broken, good = tmp_path / "broken" / "单位名录.xlsx", tmp_path / "good" / "单位名录.xlsx"
    for path, rows in ((broken, BROKEN_UNITS), (good, GOOD_UNITS)):
        path.parent.mkdir()
        path.write_bytes(units_book(rows))
    with e2e.streamlit_server(url) as base_url, e2e.browser_page(chromium_path) as page:
        e2e.login(page, base_url, "tester", seed.PASSWORD)
        e2e.open_page(page, base_url, "data_import")
        page.get_by_role("tab", name="单位名录").click()
        e2e.wait_idle(page)

        def upload_and_check(path):
            page.locator(".st-key-import_units_upload_0 input[type=file]").set_input_files(str(path))
            e2e.wait_idle(page)
            page.locator(".st-key-import_units_check button:visible").click()
            e2e.wait_idle(page)

        upload_and_check(broken)
        code = page.locator('[data-testid="stCode"]')
        code.wait_for()
        assert code.inner_text().strip().splitlines() == BROKEN_UNIT_LINES
        assert page.locator(".st-key-import_units_import button:visible").is_disabled()
        e2e.screenshot(page, "data_import-broken-1024x768", full_page=False)

        upload_and_check(good)
        page.get_by_text("有效：3 个单位（新增 2 个，更新 1 个）。可以导入。").wait_for()
        page.locator(".st-key-import_units_import button:visible").click()
        e2e.wait_idle(page)
        page.get_by_text("已导入单位名录：新增 2 个单位，更新 1 个（文件“单位名录.xlsx”）").wait_for()
        e2e.screenshot(page, "data_import-imported-1024x768", full_page=False)
    with open_engine(url).connect() as conn:
        assert len(repo.list_units(conn)) == len(seed.UNITS) + 2
