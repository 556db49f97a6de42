"""The office's round pages (测评轮次, 材料审核, 测评得分) with AppTest, signed in as "tester" (an administrator) on the
seeded data; and one browser test of a draw (create, plan, preview on the map, confirm) at 1024×768."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import auth, rounds
from civeval.models import Answer, Result, Role, RoundKind, RoundStatus
from civeval.store import open_engine
from civeval.ui import session
from tests import e2e, seed
from tests.test_pages import APP, PAGES, frame, texts
from tests.test_rounds import PLAN

START = dt.date(2026, 11, 2)
# Rows of the quota editor (the index's point types in order: 农贸市场 背街小巷 主次干道 学校周边 公园广场 医院)
QUOTAS = {0: 2, 1: 1, 2: 1, 3: 1, 5: 1}
DRAWN = ["P001", "P002", "P003", "P004", "P005", "P007"]  # every active point of those types


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    seed.add_users(open_engine(url), {"insp2": (Role.inspector, None)})
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.delenv("CIVEVAL_TILE_URL", raising=False)
    st.cache_resource.clear()
    yield url
    st.cache_resource.clear()


@pytest.fixture
def engine(url):
    eng = open_engine(url)
    yield eng
    eng.dispose()


def actors(engine) -> dict:
    with engine.connect() as conn:
        return {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2")}


def new_round(engine, name: str = "十一月模拟测评", kind: RoundKind = RoundKind.mock, start: dt.date = START) -> int:
    return rounds.create_round(
        engine, actors(engine)["tester"], name=name, kind=kind, index_id=seed.index_id(engine), start=start,
        end=start + dt.timedelta(days=4),
    )  # fmt: skip


def page(url: str, name: str, user: str = "tester") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{name}.py").run()
    ok(at)
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# --- 测评轮次 ----------------------------------------------------------------------------------------------------


def test_a_round_is_created_through_the_form(url, engine):
    at = page(url, "rounds_admin")
    at.text_input(key="ra_new_name").input("十二月模拟测评")
    at.selectbox(key="ra_new_kind").set_value(RoundKind.unannounced)
    at.selectbox(key="ra_new_index").set_value(seed.index_id(engine))
    at.date_input(key="ra_new_start").set_value(dt.date(2026, 12, 1))
    at.date_input(key="ra_new_end").set_value(dt.date(2026, 12, 5))
    at.button(key="FormSubmitter:ra_new-新建").click().run()
    ok(at)
    with engine.connect() as conn:
        [info] = rounds.list_rounds(conn, actors(engine)["tester"])
    assert (info.name, info.kind, info.status) == ("十二月模拟测评", RoundKind.unannounced, RoundStatus.planned)
    assert (info.start_date, info.end_date) == (dt.date(2026, 12, 1), dt.date(2026, 12, 5))
    assert "已新建测评轮次“十二月模拟测评”" in texts(at)
    assert at.selectbox(key="ra_round").value == info.id  # the new round is the one shown
    assert "十二月模拟测评" in set(frame(at, "轮次名称")["轮次名称"])


def test_an_end_date_before_the_start_is_refused(url, engine):
    at = page(url, "rounds_admin")
    at.text_input(key="ra_new_name").input("倒着的轮次")
    at.date_input(key="ra_new_start").set_value(dt.date(2026, 12, 5))
    at.date_input(key="ra_new_end").set_value(dt.date(2026, 12, 1))
    at.button(key="FormSubmitter:ra_new-新建").click().run()
    assert "结束日期不能早于开始日期" in at.error[0].value
    with engine.connect() as conn:
        assert rounds.list_rounds(conn, actors(engine)["tester"]) == []


def fill_quotas(at: AppTest, rid: int, quotas: dict[int, int] = QUOTAS) -> AppTest:
    """Type counts into the quota editor (AppTest seeds a keyed data_editor's edit state)."""
    at.session_state[f"ra_quotas_{rid}"] = {
        "edited_rows": {row: {"抽取数量": n} for row, n in quotas.items()},
        "added_rows": [],
        "deleted_rows": [],
    }
    return ok(at.run())


def test_plan_preview_confirm_and_auto_assign(url, engine):
    rid = new_round(engine)
    at = page(url, "rounds_admin")
    at.button(key="ra_preview").click().run()
    assert "在上表为要抽取的点位类型填写数量或比例" in texts(at) and not [
        d for d in at.dataframe if d.key == "ra_draw_table"
    ]
    fill_quotas(at, rid)
    seed_shown = at.number_input(key=f"ra_seed_{rid}").value
    assert isinstance(seed_shown, int) and seed_shown > 0  # a random seed, shown

    at.button(key="ra_preview").click().run()
    ok(at)
    draw = frame(at, "分层")
    assert sorted(draw["点位编号"]) == DRAWN
    assert "农贸市场 × 城关街道" in set(draw["分层"])
    strata = frame(at, "可抽")
    assert strata["抽取"].sum() == 6
    assert "预览：将抽取 6 个点位" in texts(at)
    assert at.get("vega_lite_chart"), "the draw on the offline map"
    with engine.connect() as conn:
        assert rounds.get_round(conn, actors(engine)["tester"], rid).n_points == 0  # a preview stores nothing

    at.button(key="ra_confirm").click().run()
    ok(at)
    with engine.connect() as conn:
        info = rounds.get_round(conn, actors(engine)["tester"], rid)
    assert info.n_points == len(draw) == 6
    assert info.sample_plan["seed"] == seed_shown
    assert info.drawn_by == "tester"
    assert f"随机种子 {seed_shown}" in texts(at)
    assert "由 **tester** 于" in texts(at)

    at.multiselect(key=f"ra_insp_{rid}").select("insp").run()
    at.button(key="ra_assign").click().run()
    ok(at)
    with engine.connect() as conn:
        points = rounds.round_points(conn, actors(engine)["tester"], rid)
    assert {rp.inspector for rp in points} == {"insp"}
    loads = frame(at, "测评标准数")
    assert list(loads["测评员"]) == ["insp"] and loads["点位数"].sum() == 6
    assert "工作量最多/最少 = 1.00" in texts(at)


def test_a_changed_plan_must_be_previewed_again(url, engine):
    rid = new_round(engine)
    at = page(url, "rounds_admin")
    fill_quotas(at, rid)
    at.button(key="ra_preview").click().run()
    assert at.button(key="ra_confirm")  # offered for the plan previewed
    at.number_input(key=f"ra_seed_{rid}").set_value(12345).run()
    ok(at)
    assert "抽样方案已改动，请重新预览" in texts(at)
    assert not [b for b in at.button if b.key == "ra_confirm"]


def test_a_quota_beyond_the_register_warns(url, engine):
    rid = new_round(engine)
    at = fill_quotas(page(url, "rounds_admin"), rid, {0: 5})
    at.button(key="ra_preview").click().run()
    assert any("计划抽取 5 个点位，符合条件的只有 2 个" in w.value for w in at.warning)


def test_reassign_by_hand_and_start_and_close(url, engine):
    rid = new_round(engine)
    admin = actors(engine)["tester"]
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.assign(engine, admin, rid, ["insp"])
    at = page(url, "rounds_admin")
    editor = next(d for d in at.data_editor if "测评员" in d.value.columns)
    row = list(editor.value["点位编号"]).index("P004")
    at.session_state[editor.key] = {"edited_rows": {row: {"测评员": "insp2"}}, "added_rows": [], "deleted_rows": []}
    ok(at.run())
    at.button(key="ra_reassign").click().run()
    ok(at)
    with engine.connect() as conn:
        owners = {rp.point.code: rp.inspector for rp in rounds.round_points(conn, admin, rid)}
    assert owners["P004"] == "insp2" and owners["P001"] == "insp"

    at.button(key="ra_start").click().run()
    ok(at)
    at.button(key="ra_close").click().run()
    ok(at)
    with engine.connect() as conn:
        assert rounds.get_round(conn, admin, rid).status is RoundStatus.closed
    assert "本轮已结束，只能查看" in texts(at)
    assert not at.data_editor and not [b for b in at.button if b.key in ("ra_assign", "ra_reassign")]
    assert at.button(key="ra_reopen").disabled  # a reason first
    at.text_input(key=f"ra_reopen_reason_{rid}").input("补测两个点位").run()
    at.button(key="ra_reopen").click().run()
    ok(at)
    with engine.connect() as conn:
        assert rounds.get_round(conn, admin, rid).status is RoundStatus.in_progress


def test_an_unannounced_point_gets_another_day_by_hand(url, engine):
    rid = new_round(engine, "暗访", RoundKind.unannounced)
    admin = actors(engine)["tester"]
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.assign(engine, admin, rid, ["insp"])
    at = page(url, "rounds_admin")
    editor = next(d for d in at.data_editor if "暗访日期" in d.value.columns)
    row = list(editor.value["点位编号"]).index("P005")
    with engine.connect() as conn:
        was = next(p.visit_date for p in rounds.round_points(conn, admin, rid) if p.point.code == "P005")
    new_day = START + dt.timedelta(days=4) if was != START + dt.timedelta(days=4) else START
    at.session_state[editor.key] = {
        "edited_rows": {row: {"暗访日期": new_day.isoformat()}},
        "added_rows": [],
        "deleted_rows": [],
    }
    ok(at.run())
    at.button(key="ra_reassign").click().run()
    ok(at)
    with engine.connect() as conn:
        rp = next(p for p in rounds.round_points(conn, admin, rid) if p.point.code == "P005")
    assert (rp.inspector, rp.visit_date) == ("insp", new_day)


def test_the_round_pages_are_offered_to_the_office_only(url):
    at = page(url, "tasks", user="insp")
    for name in ("rounds_admin", "materials_review", "round_scores"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"{PAGES}{name}.py")


# --- 材料审核 ----------------------------------------------------------------------------------------------------


def test_a_materials_answer_is_stored_at_once(url, engine):
    rid = new_round(engine)
    admin = actors(engine)["tester"]
    at = page(url, "materials_review")
    assert "县文明办" in texts(at)
    at.segmented_control(key=f"mr_{rid}_III-4-1_result").set_value("fail").run()
    ok(at)
    with engine.connect() as conn:
        [sheet] = rounds.materials_sheets(conn, admin, rid)
    [a] = sheet.answers
    assert a.answer.result is Result.failed and a.version == 1 and a.answered_by == "tester"
    assert "已保存" in texts(at)

    at.text_input(key=f"mr_{rid}_III-4-1_note").input("缺少活动记录").run()
    ok(at)
    with engine.connect() as conn:
        [sheet] = rounds.materials_sheets(conn, admin, rid)
    assert sheet.answers[0].answer.note == "缺少活动记录" and sheet.answers[0].version == 2


def test_a_materials_conflict_is_told_and_the_stored_answer_shown(url, engine):
    rid = new_round(engine)
    admin = actors(engine)["tester"]
    at = page(url, "materials_review")
    # Someone else answers after this page was drawn.
    rounds.save_unit_answer(engine, admin, rid, "县文明办", "III-4-1", Answer(result=Result.passed, note="他人"))
    at.segmented_control(key=f"mr_{rid}_III-4-1_result").set_value("fail").run()
    assert not at.exception
    assert any("已被他人修改" in w.value for w in at.warning)
    assert at.segmented_control(key=f"mr_{rid}_III-4-1_result").value == "pass"  # the stored answer
    with engine.connect() as conn:
        [sheet] = rounds.materials_sheets(conn, admin, rid)
    assert sheet.answers[0].answer.result is Result.passed


def test_a_closed_round_cannot_be_reviewed(url, engine):
    rid = new_round(engine)
    admin = actors(engine)["tester"]
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.set_status(engine, admin, rid, RoundStatus.in_progress)
    rounds.set_status(engine, admin, rid, RoundStatus.closed)
    at = page(url, "materials_review")
    assert at.segmented_control(key=f"mr_{rid}_III-4-1_result").disabled
    assert "本轮已结束，只能查看" in texts(at)


# --- 测评得分 ----------------------------------------------------------------------------------------------------


def scored_round(engine, name: str = "十一月模拟测评", start: dt.date = START) -> int:
    """A round drawn with test_rounds' PLAN, assigned, started, and answered as in its hand-computed example."""
    acts = actors(engine)
    rid = new_round(engine, name, start=start)
    rounds.confirm_draw(engine, acts["tester"], rid, PLAN)
    plan = rounds.assign(engine, acts["tester"], rid, ["insp", "insp2"])
    rounds.set_status(engine, acts["tester"], rid, RoundStatus.in_progress)
    answers = [  # copied from tests/test_rounds.py::answer_everything
        ("P001", "III-1-1", Answer(result=Result.failed, instances=3, note="积水")),  # 2 - 1.5 = 0.5
        ("P001", "III-1-2", Answer(result=Result.passed)),  # 1
        ("P002", "III-1-1", Answer(result=Result.passed, instances=0)),  # 2
        ("P002", "III-1-2", Answer(result=Result.failed, note="遮挡")),  # 0 of 1
        ("P003", "III-1-2", Answer(result=Result.na)),  # left out
        ("P003", "III-2-1", Answer(result=Result.B, note="杂物")),  # 0.66 × 3 = 1.98
        ("P004", "III-1-2", Answer(result=Result.passed)),  # 1
        ("P005", "III-3-1", Answer(result=Result.failed, note="流动摊贩")),  # 0 of 2, an alert
        ("P007", "III-5-1", Answer(result=Result.passed)),  # 1
    ]
    for point, std, ans in answers:
        who = next(u for u, codes in plan.items() if point in codes)
        rounds.save_answer(engine, acts[who], rid, point, std, ans)
    return rid


def test_scores_show_the_street_ranking_and_the_headline(url, engine):
    scored_round(engine)
    at = page(url, "round_scores")
    streets = frame(at, "街道/镇")
    got = dict(zip(streets["街道/镇"], streets["得分率"], strict=True))
    assert got == {"城关街道": 64.0, "东城街道": 50.0}
    assert list(streets["名次"]) == [1, 2]
    assert list(streets["得分/满分"]) == ["4.48 / 7", "3.00 / 6"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["实地考察得分"] == "4.90 / 9"  # 1.25 + 2/3 + 1.98 + 0 + 1
    assert metrics["总体得分率"] == "57.5%"  # 7.48 / 13
    assert metrics["问题数"] == "4"
    assert any("专项预警：III-3-1" in w.value for w in at.warning)
    units = frame(at, "责任单位")
    assert list(units["标记"]).count("后三名") == 3  # five units: the last three marked
    lost = frame(at, "失分")
    assert list(lost["标准编号"]) == ["III-3-1", "III-1-1", "III-2-1", "III-1-2"]
    assert list(lost["失分"]) == [2, 1.5, 1.02, 1]
    assert at.get("vega_lite_chart")  # street rates as bars


def test_a_street_coordinator_sees_the_scores_of_their_street_only(url, engine):
    scored_round(engine)
    at = page(url, "round_scores", user="coord")  # coordinator of 城关街道
    streets = frame(at, "街道/镇")
    assert list(streets["街道/镇"]) == ["城关街道"] and list(streets["得分率"]) == [64.0]


def test_scores_compare_with_the_previous_round_of_the_same_kind(url, engine):
    earlier = scored_round(engine, "十月模拟测评", START - dt.timedelta(days=30))
    acts = actors(engine)
    # In the earlier round P002's poster passed too: 东城 was 4/6 then, 3/6 now.
    with engine.connect() as conn:
        owner = next(
            rp.inspector for rp in rounds.round_points(conn, acts["tester"], earlier) if rp.point.code == "P002"
        )
        version = rounds.point_sheet(conn, acts[owner], earlier, "P002").answers[1].version
    rounds.save_answer(
        engine, acts[owner], earlier, "P002", "III-1-2", Answer(result=Result.passed), expected_version=version
    )
    scored_round(engine)
    at = page(url, "round_scores")
    assert "与上一轮同类测评“十月模拟测评”" in texts(at)
    streets = frame(at, "街道/镇").set_index("街道/镇")
    assert streets.loc["东城街道", "较上轮"] == pytest.approx(-16.7)
    assert streets.loc["城关街道", "较上轮"] == 0


# --- in a browser ------------------------------------------------------------------------------------------------


@pytest.mark.browser
def test_draw_in_the_browser(tmp_path, chromium_path):
    url = seed.seeded_url(tmp_path / "civeval.db")
    with e2e.streamlit_server(url) as base, e2e.browser_page(chromium_path, e2e.TABLET_LANDSCAPE) as p:
        e2e.login(p, base, "tester", seed.PASSWORD)
        e2e.open_page(p, base, "rounds_admin")
        p.locator(".st-key-ra_new_name input").fill("十一月模拟测评")
        p.get_by_role("button", name="新建").click()
        e2e.wait_idle(p)
        p.get_by_text("已新建测评轮次").wait_for()
        type_quotas(p, ".st-key-ra_quotas_1", QUOTAS)
        p.locator(".st-key-ra_preview button").click()
        e2e.wait_idle(p)
        p.get_by_text("预览：将抽取 6 个点位").wait_for()
        p.locator(".st-key-ra_draw_map").locator("canvas, svg").first.wait_for()  # the offline map
        assert p.locator(".st-key-ra_draw_table").is_visible() and p.locator(".st-key-ra_strata_table").is_visible()
        assert p.get_by_text("农贸市场 2").first.is_visible()  # the map's legend
        assert e2e.horizontal_overflow(p) <= 0
        e2e.screenshot(p, "rounds_admin-preview-1024x768")
        p.get_by_role("button", name="确认抽样（6 个点位）").click()
        e2e.wait_idle(p)
        p.get_by_text("已确认抽样：6 个点位").wait_for()
        p.mouse.move(1, 1)  # no tooltip of the button that was under the pointer
        p.get_by_text("由 tester 于").wait_for()
        e2e.screenshot(p, "rounds_admin-confirmed-1024x768")
    engine = open_engine(url)
    with engine.connect() as conn:
        [info] = rounds.list_rounds(conn, auth.load_actor(conn, auth.get_user(conn, "tester").id))
    engine.dispose()
    assert info.n_points == 6 and info.drawn_by == "tester"


def type_quotas(p, editor: str, quotas: dict[int, int]) -> None:
    """Type counts into the quota editor's 抽取数量 column (the 4th) with the keyboard, as a person would: select the
    first cell, walk right, then per row Enter (edit), the number, Enter (store, next row). The grid is a canvas and
    needs a moment between keys."""
    grid = p.locator(f"{editor} [data-testid='stDataFrame']")
    grid.scroll_into_view_if_needed()
    p.wait_for_timeout(500)
    box = grid.bounding_box()
    p.mouse.click(box["x"] + 20, box["y"] + 35 + 17)  # row 0 of 点位类型 (under a 35 px header)
    p.wait_for_timeout(300)
    for _ in range(3):
        p.keyboard.press("ArrowRight")
        p.wait_for_timeout(100)
    for row in range(max(quotas) + 1):
        if row not in quotas:
            p.keyboard.press("ArrowDown")
            p.wait_for_timeout(100)
            continue
        p.keyboard.press("Enter")
        p.wait_for_timeout(300)
        p.keyboard.type(str(quotas[row]))
        p.wait_for_timeout(100)
        p.keyboard.press("Enter")
        p.wait_for_timeout(300)
