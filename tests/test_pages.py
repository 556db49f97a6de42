"""Every page, run headless with Streamlit's AppTest against a seeded temporary SQLite database."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import audit
from civeval.models import Actor, Method
from civeval.store import open_engine, repo
from civeval.ui import session
from tests import seed

APP = "../app.py"
PAGES = "civeval/ui/pages/"


def _app(url: str, monkeypatch, user: str | None = "tester") -> AppTest:
    """The app on ``url``, signed in as ``user`` (a session started in the store, as a log-in would)."""
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.delenv("CIVEVAL_TILE_URL", raising=False)
    st.cache_resource.clear()  # the engine is cached per URL; start each test afresh
    at = AppTest.from_file(APP, default_timeout=30)
    if user:
        at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    return at


@pytest.fixture
def db_url(tmp_path) -> str:
    return seed.seeded_url(tmp_path / "civeval.db")


@pytest.fixture
def app(db_url, monkeypatch):
    at = _app(db_url, monkeypatch).run()
    yield at
    st.cache_resource.clear()


@pytest.fixture
def empty_app(tmp_path, monkeypatch):
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    engine = open_engine(url)
    seed.add_users(engine, {"tester": seed.USERS["tester"]})  # an administrator only: no index, units or points
    engine.dispose()
    at = _app(url, monkeypatch).run()
    yield at
    st.cache_resource.clear()


def open_page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"{PAGES}{name}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def show_tab(at: AppTest, key: str, label: str) -> AppTest:
    """Switch lazy tabs (st.tabs with on_change="rerun") as a click would."""
    at.session_state[key] = label
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def frame(at: AppTest, column: str):
    """The (first) table on the page that has ``column``."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise AssertionError(f"no table with a column {column!r}")


def texts(at: AppTest) -> str:
    """Every markdown, caption, info/warning/error/success text and expander label on the page, joined."""
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for kind in ("info", "warning", "error", "success") for e in getattr(at, kind)]
    parts += [e.label for e in at.expander]
    return "\n".join(parts)


# --- home --------------------------------------------------------------------------------------------


def test_home_counts_what_the_database_holds(app):
    assert not app.exception
    assert app.title[0].value == "文明城市测评"
    got = {m.label: m.value for m in app.metric}
    assert got == {"测评体系": "1", "测评标准": "7", "单位": "11", "点位": "8", "点位类型": "6"}
    table = frame(app, "测评标准")
    assert table.iloc[0]["名称"] == seed.INDEX_NAME and table.iloc[0]["测评标准"] == 7
    links = [link.proto.label.split("：")[0] for link in app.get("page_link")]
    assert {"测评体系", "点位名录", "单位", "用户管理", "测评轮次"} <= set(links)


def test_home_links_only_to_the_users_pages(db_url, monkeypatch):
    at = _app(db_url, monkeypatch, user="insp").run()
    assert not at.exception
    links = {link.proto.label.split("：")[0] for link in at.get("page_link")}
    assert "我的任务" in links and "点位名录" not in links and "用户管理" not in links


def test_home_on_an_empty_database_says_how_to_load_data(empty_app):
    assert not empty_app.exception
    info = texts(empty_app)
    assert "还没有测评体系" in info and "python -m civeval criteria import" in info
    assert "python -m civeval demo" in info
    assert "还没有单位" in info and "还没有点位" in info


# --- index browser ---------------------------------------------------------------------------------


def test_index_browser_shows_the_tree(app):
    at = open_page(app, "index_browser")
    assert at.sidebar.selectbox(key="index_picker").value is not None
    assert "测评标准 7" in texts(at)
    labels = [e.label for e in at.expander]
    assert any("I-1 公共环境" in label and "3 条标准" in label for label in labels)
    assert any("I-3 诚信建设" in label for label in labels)


def test_index_browser_search_is_width_and_case_insensitive(app):
    at = open_page(app, "index_browser")
    at.text_input(key="index_search").input("ｗｉｆｉ").run()
    page = texts(at)
    assert "符合条件的测评标准 1 条" in page
    assert seed.WIFI_TEXT in page  # the standard's expander
    assert "县卫生健康委员会" in page  # its details: lead unit
    assert "I-1 公共环境" not in page


def test_index_browser_details_show_every_field(app):
    at = open_page(app, "index_browser")
    at.text_input(key="index_search").input("III-1-1").run()
    page = texts(at)
    for expected in (
        "**分值**：2 分",
        "**计分方式**：扣分：每处扣 0.5 分，最多扣 2 分",
        "**点位类型**：农贸市场",
        "**牵头单位**：县市场监督管理局",
        "**配合单位**：县城市管理局",
        "**责任归属**：属地",
        "**一票否决**：否",
        "**操作提示**：从正门进入，步行200米，查看两个摊区",
        "**整改时限**：紧急：2 天内整改",
    ):
        assert expected in page


def test_index_browser_filters(app):
    at = open_page(app, "index_browser")
    at.multiselect(key="index_methods").select(Method.materials).run()
    assert "符合条件的测评标准 1 条" in texts(at)
    at.multiselect(key="index_methods").unselect(Method.materials).run()
    at.multiselect(key="index_units").select("县城市管理局").run()
    assert "符合条件的测评标准 3 条" in texts(at)
    at.multiselect(key="index_point_types").select("医院").run()
    assert "没有符合条件的测评标准" in texts(at)


def test_index_browser_by_unit(app):
    at = open_page(app, "index_browser")
    at.selectbox(key="index_unit_view").select("县城市管理局").run()
    got = {m.label: m.value for m in at.metric}
    assert got == {"牵头标准": "1 条", "牵头分值": "3 分", "配合标准": "2 条", "配合分值": "3 分"}
    page = texts(at)
    assert "县城市管理局牵头的测评标准" in page and "**III-2-1**" in page
    assert "县城市管理局配合的测评标准" in page and "**III-1-2**" in page
    workload = frame(at, "牵头标准数")
    assert workload.iloc[0]["单位"] == "县文明办"
    assert "县税务局" in set(workload["单位"])  # a unit with nothing to answer for still listed


def test_the_chosen_index_is_remembered_across_pages(app, db_url):
    engine = open_engine(db_url)
    newer = seed.index().model_copy(update={"version": "2026版", "year": 2026})
    with audit.writing(engine, Actor.system("测试")) as conn:
        repo.save_index(conn, newer)
        ids = {i.version: i.id for i in repo.list_indexes(conn)}
    engine.dispose()
    at = open_page(app, "index_browser")
    assert at.sidebar.selectbox(key="index_picker").value == ids["2026版"]  # newest first
    at.sidebar.selectbox(key="index_picker").select(ids["2025版"]).run()
    assert "示例县测评体系（2025版）" in texts(at)
    open_page(at, "units")
    assert at.sidebar.selectbox(key="index_picker").value == ids["2025版"]
    assert "测评体系“示例县测评体系（2025版）”" in texts(at)


def test_index_browser_empty(empty_app):
    at = open_page(empty_app, "index_browser")
    assert "还没有测评体系" in texts(at)


# --- points ----------------------------------------------------------------------------------------


def test_points_lists_filters_and_maps(app):
    at = open_page(app, "points")
    assert "显示 7 个点位（共 8 个，其中停用 1 个）" in texts(at).replace("**", "")
    assert len(frame(at, "经纬度")) == 7
    assert not at.get("vega_lite_chart"), "tabs are lazy: the map is not drawn while the list is shown"
    at.toggle(key="points_active").set_value(False).run()
    assert len(frame(at, "经纬度")) == 8
    at.multiselect(key="points_types").select("农贸市场").run()
    at.multiselect(key="points_streets").select("东城街道").run()
    assert list(frame(at, "经纬度")["点位编号"]) == ["P002"]


def test_points_map(app):
    at = show_tab(open_page(app, "points"), "points_tabs", "地图")
    assert "地图上 6 个点位，另有 1 个没有经纬度" in texts(at)
    assert at.get("vega_lite_chart"), "the offline map is drawn"
    assert not at.get("dataframe"), "the list tab is not rendered"
    assert not any("内网底图" in e.label for e in at.expander), "no tile map without CIVEVAL_TILE_URL"
    at.text_input(key="points_search").input("没有这个点位").run()
    assert "筛选出的点位都没有经纬度" in texts(at)


def test_points_tile_map_when_configured(db_url, monkeypatch):
    at = _app(db_url, monkeypatch)
    monkeypatch.setenv("CIVEVAL_TILE_URL", "http://gis.local/tiles/{z}/{x}/{y}.png")
    at.run()
    at = show_tab(open_page(at, "points"), "points_tabs", "地图")
    assert any("内网底图" in e.label for e in at.expander)
    st.cache_resource.clear()


def test_add_a_point_through_the_form(app, db_url):
    at = show_tab(open_page(app, "points"), "points_tabs", "新增和修改")
    at.text_input(key="pf_code").input("P100")
    at.text_input(key="pf_name").input("新华路")
    at.selectbox(key="pf_type").select("主次干道")
    at.selectbox(key="pf_street").select("城关街道")
    at.selectbox(key="pf_custodian").select("县城市管理局")
    at.number_input(key="pf_lat").set_value(34.7611)
    at.number_input(key="pf_lon").set_value(113.6522)
    at.button(key="pf_save").click().run()
    assert not at.error, [e.value for e in at.error]
    assert "已新增点位 P100 新华路" in texts(at)
    assert "共 9 个" in texts(at)
    engine = open_engine(db_url)
    with engine.connect() as conn:
        p = repo.get_point(conn, "P100")
    engine.dispose()
    assert (p.point_type, p.street, p.custodian_unit, p.lat) == ("主次干道", "城关街道", "县城市管理局", 34.7611)


def test_point_form_errors_name_the_field(app):
    at = show_tab(open_page(app, "points"), "points_tabs", "新增和修改")
    at.text_input(key="pf_code").input("P001")  # taken
    at.number_input(key="pf_lat").set_value(34.7)  # no longitude
    at.button(key="pf_save").click().run()
    error = "\n".join(e.value for e in at.error)
    assert "未保存" in error
    assert "「点位名称」必须填写" in error
    assert "「点位类型」必须填写" in error
    assert "「点位编号」P001 已被其他点位使用" in error
    assert "「纬度」和「经度」须同时填写或同时留空" in error


def test_edit_a_point_through_the_form(app, db_url):
    at = show_tab(open_page(app, "points"), "points_tabs", "新增和修改")
    at.selectbox(key="points_edit_pick").select("P004").run()
    assert at.text_input(key="pf_name").value == "人民路"
    assert at.text_input(key="pf_code").disabled
    at.text_input(key="pf_name").input("人民路（北段）")
    at.button(key="pf_save").click().run()
    assert "已修改点位 P004 人民路（北段）" in texts(at)
    engine = open_engine(db_url)
    with engine.connect() as conn:
        assert repo.get_point(conn, "P004").name == "人民路（北段）"
        assert repo.get_point(conn, "P004").owner_leader == "张副县长"  # untouched fields kept
    engine.dispose()


def test_points_table_editor_is_offered(app):
    at = show_tab(open_page(app, "points"), "points_tabs", "新增和修改")
    at.get("button_group")[0].set_value("表格批量修改").run()
    assert not at.exception
    assert at.button(key="points_editor_save")


def test_points_empty(empty_app):
    at = open_page(empty_app, "points")
    assert "还没有点位类型" in texts(at)


# --- units -----------------------------------------------------------------------------------------


def test_units_list(app):
    at = open_page(app, "units")
    table = frame(at, "单位类型").set_index("单位名称")
    assert len(table) == 11
    assert table.loc["县城市管理局", "牵头标准"] == 1
    assert table.loc["县城市管理局", "配合标准"] == 2
    assert table.loc["县城市管理局", "包保点位"] == 2
    assert table.loc["和平社区", "上级单位"] == "城关街道"
    at.multiselect(key="units_kinds").select(seed.UNITS[0].kind).run()
    assert set(frame(at, "单位类型")["单位名称"]) == {"城关街道", "东城街道"}


def test_unit_details(app):
    at = open_page(app, "units")
    at.selectbox(key="units_detail_pick").select("县城市管理局").run()
    page = texts(at)
    assert "牵头 1 条，共 3 分" in page and "**III-2-1**" in page
    assert "配合 2 条，共 3 分" in page
    assert "包保点位 2 个" in page
    points = frame(at, "本单位是")
    assert list(points["点位编号"]) == ["P004", "P006", "P001"]
    assert list(points["本单位是"]) == ["包保", "包保", "路长"]


def test_add_and_reject_units(app, db_url):
    at = open_page(app, "units")
    at.text_input(key="uf_code").input("D50")
    at.text_input(key="uf_name").input("县林业局")
    at.selectbox(key="uf_parent").select("县城市管理局")
    at.button(key="uf_save").click().run()
    assert "已新增单位 D50 县林业局" in texts(at)
    assert len(frame(at, "单位类型")) == 12
    at.text_input(key="uf_code").input("D51")
    at.text_input(key="uf_name").input("县文明办")
    at.button(key="uf_save").click().run()
    assert "「单位名称」“县文明办”已被编号为 D04 的单位使用" in "\n".join(e.value for e in at.error)
    engine = open_engine(db_url)
    with engine.connect() as conn:
        names = {u.name: u for u in repo.list_units(conn)}
    engine.dispose()
    assert names["县林业局"].parent == "县城市管理局"
    assert "D51" not in {u.code for u in names.values()}


def test_units_empty(empty_app):
    at = open_page(empty_app, "units")
    assert "还没有单位" in texts(at)


# --- the demo county (civeval.demo.build_demo): every page on realistic data ---------------------------


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    from civeval.demo import load_sample_index

    url, counts = seed.demo_url(tmp_path_factory.mktemp("demo") / "civeval.db")
    return url, counts, load_sample_index()


def test_demo_home(demo, monkeypatch):
    url, counts, _ = demo
    at = _app(url, monkeypatch, user="office").run()
    got = {m.label: m.value for m in at.metric}
    assert got["点位"] == str(counts["points"]) and got["测评标准"] == str(counts["standards"])
    st.cache_resource.clear()


def test_demo_index_browser(demo, monkeypatch):
    url, counts, index = demo
    at = open_page(_app(url, monkeypatch, user="office").run(), "index_browser")
    assert f"测评标准 {counts['standards']}" in texts(at)
    standard = index.standards()[-1][2]
    at.text_input(key="index_search").input(standard.code).run()
    assert standard.text in texts(at)
    at.selectbox(key="index_unit_view").select(standard.lead_unit).run()
    assert f"**{standard.code}**" in texts(at)
    st.cache_resource.clear()


def test_demo_points(demo, monkeypatch):
    url, counts, _ = demo
    at = open_page(_app(url, monkeypatch, user="office").run(), "points")
    assert f"共 {counts['points']} 个" in texts(at)
    show_tab(at, "points_tabs", "地图")
    assert at.get("vega_lite_chart")
    st.cache_resource.clear()


def test_demo_units(demo, monkeypatch):
    url, counts, index = demo
    at = open_page(_app(url, monkeypatch, user="office").run(), "units")
    assert len(frame(at, "单位类型")) == counts["units"]
    lead = index.standards()[0][2].lead_unit
    at.selectbox(key="units_detail_pick").select(lead).run()
    assert "牵头" in texts(at) and f"**{index.standards()[0][2].code}**" in texts(at)
    st.cache_resource.clear()
