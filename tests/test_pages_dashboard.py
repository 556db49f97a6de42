"""领导看板 (civeval/ui/pages/dashboard.py): AppTest on the seeded data with two rounds of the hand-computed example
(October, and November with P002's III-1-2 fixed), and the page in Chromium at 390×844 (a phone) and 1024×768
(a tablet): nothing wider than the screen, a ranking row opens its points and findings, a point its history."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st

from civeval import audit, auth, rounds
from civeval.models import Answer, Result, Role
from civeval.store import open_engine
from tests import e2e, seed
from tests.test_latest import wait_until
from tests.test_pages import frame, texts
from tests.test_pages_rounds import actors, page, scored_round

OCTOBER = dt.date(2026, 10, 5)


def two_rounds(engine) -> tuple[int, int]:
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    october = scored_round(engine, "十月模拟测评", start=OCTOBER)
    november = scored_round(engine)  # 2 Nov
    acts = actors(engine)
    who = "insp" if "P002" in [p.point.code for p in _points(engine, acts["insp"], november)] else "insp2"
    rounds.save_answer(engine, acts[who], november, "P002", "III-1-2", Answer(result=Result.passed))
    return october, november


def _points(engine, actor, rid):
    with engine.connect() as conn:
        return rounds.round_points(conn, actor, rid)


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.delenv("CIVEVAL_TILE_URL", raising=False)
    st.cache_resource.clear()
    engine = open_engine(url)
    two_rounds(engine)
    engine.dispose()
    yield url
    st.cache_resource.clear()


def test_the_dashboard_shows_where_we_stand_and_the_change(url):
    at = page(url, "dashboard", user="boss")
    assert not at.exception
    cards = {m.label: m for m in at.metric}
    # November: III-1-2 now 2 of 2 → field 1.25 + 1 + 1.98 + 0 + 1 = 5.23 of 9 = 58.1%; October 4.8967 / 9 = 54.4%
    assert cards["实地得分率"].value == "58.1%"
    assert cards["实地得分率"].delta == "+3.7 百分点"
    assert {"未销号问题", "逾期", "整改率", "按期整改率", "预测得分率 %"} <= set(cards)
    # composite: field 58.1% × 40 = 23.2, no materials, no survey yet (marked *)
    assert cards["综合模拟得分"].value == "23.2*"
    assert "材料审核、问卷调查尚无得分" in texts(at)
    words = texts(at)
    assert "实地考察得分率 58.1%，较上轮 +3.7 个百分点" in words
    assert "按本轮抽取的 6 个点位推算" in words
    assert "与上一轮同类测评“十月模拟测评”比较" in words
    streets = frame(at, "街道/镇")
    assert list(streets["街道/镇"]) == ["东城街道", "城关街道"]  # 东城 3/6 → 4/6 passes 城关 (4.48/7)
    assert list(streets["较上轮"]) == ["+16.7", "持平"]
    with pytest.raises(AssertionError):
        frame(at, "责任单位")  # only the open tab is drawn
    lost = frame(at, "涉及单位")
    assert list(lost["标准"]) == ["III-3-1", "III-1-1", "III-2-1"]
    assert len(at.get("vega_lite_chart")) == 1  # the trend; the map is drawn when opened
    at.session_state["db_tabs"] = "责任单位"
    at.run()
    units = frame(at, "责任单位")
    assert list(units["标记"]).count("后三名") == 3
    with pytest.raises(AssertionError):
        frame(at, "街道/镇")


def test_the_map_is_drawn_when_opened(url):
    at = page(url, "dashboard", user="boss")
    assert "展开后显示地图。" in texts(at)
    at.session_state["db_map_open"] = True
    at.run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 2
    spec = at.get("vega_lite_chart")[1].proto.spec
    assert "mercator" in spec and '"pt"' in spec  # the offline map, with points to click
    assert "点按地图上的圆点" in texts(at)
    at.session_state["db_unit_losses_open"] = True
    at.run()
    assert "不符合的标准" in frame(at, "不符合的标准").columns


def test_figures_of_a_moment_ago_are_shown_while_computed_again(url, monkeypatch):
    """When computing the dashboard is slow (a city's data), a change in the data shows the previous figures, with
    their time, and computes new ones in the background; the page then shows those."""
    from civeval.ui import dashboard_widgets as dw

    monkeypatch.setattr(dw, "SLOW_SECONDS", 0.0)  # every computation counts as slow
    monkeypatch.setattr(dw, "REFRESH_SECONDS", 0.0)
    st.cache_resource.clear()
    at = page(url, "dashboard", user="boss")
    assert {m.label: m.value for m in at.metric}["实地得分率"] == "58.1%"
    engine = open_engine(url)
    acts = actors(engine)
    with engine.connect() as conn:
        november = rounds.list_rounds(conn, acts["tester"])[0].id
    who = "insp" if "P002" in [p.point.code for p in _points(engine, acts["insp"], november)] else "insp2"
    rounds.save_answer(engine, acts[who], november, "P002", "III-1-2", Answer(result=Result.failed))
    engine.dispose()
    at.run()
    assert {m.label: m.value for m in at.metric}["实地得分率"] == "58.1%"  # the figures of a moment ago
    assert any("数据截至" in c.value and "自动刷新" in c.value for c in at.caption)
    store = dw._store()
    (key,) = store._entries
    wait_until(lambda: not store.refreshing(key))
    at.run()
    assert {m.label: m.value for m in at.metric}["实地得分率"] == "54.4%"  # III-1-2 at P002 failed again
    assert not any("数据截至" in c.value for c in at.caption)


def test_the_dashboard_is_prepared_on_the_home_page_for_a_large_round(url):
    from civeval.ui import dashboard_widgets as dw

    engine = open_engine(url)
    with engine.connect() as conn:
        boss = auth.load_actor(conn, auth.get_user(conn, "boss").id)
    insp = actors(engine)["insp"]
    assert not dw.prepare(engine, insp)  # may not see it
    assert not dw.prepare(engine, boss)  # a round of a few points is summed up when opened
    assert dw.prepare(engine, boss, min_points=1)
    store = dw._store()
    wait_until(lambda: len(store._entries) == 1 and not store._background)
    (key,) = store._entries
    assert store.peek(key).value.dashboard.round.name == "十一月模拟测评"
    engine.dispose()


def test_the_loss_order_can_be_switched(url):
    at = page(url, "dashboard", user="boss")
    at.segmented_control(key="db_loss_order").set_value("units").run()
    lost = frame(at, "涉及单位")
    assert list(lost["涉及单位"]) == sorted(lost["涉及单位"], reverse=True)
    assert not at.exception


def test_an_earlier_round_and_date_can_be_chosen(url):
    at = page(url, "dashboard", user="boss")
    at.selectbox(key="db_round").set_value(1).run()  # October, the first round: nothing to compare with
    cards = {m.label: m for m in at.metric}
    assert cards["实地得分率"].value == "54.4%" and not cards["实地得分率"].delta
    assert "没有可比较的上一轮同类测评" in texts(at)
    at.date_input(key="db_as_of").set_value(dt.date(2026, 10, 1)).run()
    assert "整改情况截至 2026-10-01" in texts(at) and not at.exception


# --- in the browser ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "viewport", [{"width": 390, "height": 844}, {"width": 1024, "height": 768}], ids=["390x844", "1024x768"]
)
def test_the_dashboard_fits_the_screen_and_drills_down(tmp_path, chromium_path, viewport):
    url = seed.seeded_url(tmp_path / "civeval.db")
    engine = open_engine(url)
    two_rounds(engine)
    engine.dispose()
    size = f"{viewport['width']}x{viewport['height']}"
    with e2e.streamlit_server(url) as base, e2e.browser_page(chromium_path, viewport) as p:
        e2e.login(p, base, "boss", seed.PASSWORD)
        e2e.open_page(p, base, "dashboard")
        p.get_by_text("实地得分率").first.wait_for()
        assert e2e.horizontal_overflow(p) <= 0
        assert p.evaluate("(() => { const m = document.querySelector('[data-testid=stMain]');"
                          " return m.scrollWidth - m.clientWidth })()") <= 0  # fmt: skip
        e2e.screenshot(p, f"dashboard-{size}")
        # open the second street (城关街道): its points, worst first
        grid = p.locator(".st-key-db_rank_street [data-testid=stDataFrameResizable]")
        grid.scroll_into_view_if_needed()
        p.wait_for_timeout(300)
        box = grid.bounding_box()
        p.mouse.click(box["x"] + 15, box["y"] + 35 + 35 + 17)  # row 2's selection box, under a 35 px header
        e2e.wait_idle(p)
        drill = p.locator(".st-key-db_drill_street")
        drill.wait_for()
        assert drill.inner_text().startswith("城关街道：本轮 3 个点位")
        # open its first point's history
        points = drill.locator("[data-testid=stDataFrameResizable]").first
        points.scroll_into_view_if_needed()
        p.wait_for_timeout(300)
        box = points.bounding_box()
        p.mouse.click(box["x"] + 15, box["y"] + 35 + 17)
        e2e.wait_idle(p)
        history = p.locator(".st-key-db_history_street")
        history.wait_for()
        history.locator("[data-testid=stVegaLiteChart]").first.wait_for()  # the point's rate across both rounds
        assert e2e.horizontal_overflow(p) <= 0
        e2e.screenshot(p, f"dashboard-drill-{size}")


def test_the_login_page_prepares_the_city_dashboard_for_whoever_signs_in(url, monkeypatch):
    from streamlit.testing.v1 import AppTest

    from civeval.ui import dashboard_widgets as dw
    from tests.test_pages import APP

    monkeypatch.setattr(dw, "PREPARE_POINTS", 1)  # the seeded round counts as large
    at = AppTest.from_file(APP, default_timeout=30).run()  # nobody signed in: the login page
    assert at.text_input(key="login_username")
    store = dw._store()
    wait_until(lambda: len(store._entries) == 1 and not store._background)
    ((_, who, _, as_of),) = store._entries
    prepared = next(iter(store._entries.values()))
    assert who == "city" and as_of == audit.today()
    at = page(url, "dashboard", user="boss")  # a leader of the whole city: the figures prepared are shown
    assert store.peek(next(iter(store._entries))) is prepared and len(store._entries) == 1
    assert {m.label: m.value for m in at.metric}["实地得分率"] == "58.1%"
