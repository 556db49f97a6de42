"""The questionnaire pages (问卷管理, 纸质问卷录入, 问卷统计) under AppTest, signed in on the seeded data."""

from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import audit, auth, survey
from civeval.models import Actor
from civeval.store import open_engine, repo
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES, frame, texts
from tests.test_survey import EXTRA_UNITS, QUESTIONS, WJX_HEADER, WJX_ROWS, csv_bytes, xlsx_bytes


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    eng = open_engine(url)
    with audit.writing(eng, Actor.system("测试数据")) as conn:
        repo.save_units(conn, EXTRA_UNITS)  # 黄河社区 in 东城街道, as the export names it
    eng.dispose()
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


def admin(engine):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, "tester").id)


def questionnaire(engine) -> int:
    spec = survey.QuestionnaireSpec(name="十月问卷", index_id=seed.index_id(engine), questions=QUESTIONS)
    return survey.save_questionnaire(engine, admin(engine), spec)


def with_answers(engine) -> int:
    qid = questionnaire(engine)
    survey.import_answers(engine, admin(engine), qid, "问卷星.csv", csv_bytes(WJX_HEADER, WJX_ROWS))
    survey.set_population(engine, admin(engine), "城关街道", 10)
    survey.set_population(engine, admin(engine), "东城街道", 5)
    return qid


def page(url: str, name: str, user: str = "tester") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{name}.py").run()
    return ok(at)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


# --- 问卷统计 ------------------------------------------------------------------------------------------------------


def test_board_shows_rates_by_street_and_who_is_below_quota(url, engine):
    with_answers(engine)
    at = page(url, "survey_board")
    metrics = {m.label: m.value for m in at.metric}
    # the CSV's four respondents: one invalid; 知晓 2/3, 支持 2/3, 参与 1/2, 满意度 (100+0+60)/3
    assert metrics == {
        "有效问卷": "3",
        "知晓率": "66.7%",
        "支持率": "66.7%",
        "参与率": "50.0%",
        "满意度": "53.3",
        "覆盖率": "33.3%",  # 3 ÷ (⌈10 × 60%⌉ + ⌈5 × 60%⌉); 河口镇 has no population
    }
    streets = frame(at, "街道（镇）")
    assert list(streets["街道（镇）"]) == ["城关街道", "东城街道", "河口镇"]
    cg = streets.iloc[0]
    assert (cg["有效问卷"], cg["配额"], cg["覆盖率"], cg["缺口"], cg["状态"]) == (2, "6", "33.3%", "4", "未达配额")
    assert (cg["知晓率"], cg["满意度"]) == ("100.0%", "50.0")
    hk = streets.iloc[2]
    assert (hk["状态"], hk["知晓率"], hk["配额"], hk["覆盖率"]) == ("未设人口", "—", "—", "—")
    board = frame(at, "类别")
    assert list(board["名称"]) == ["城关街道", "东城街道"]
    assert list(board["缺口"]) == ["4", "2"]
    assert "未达配额（2 个）" in texts(at)
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart"), "the coverage chart"


def test_board_for_a_coordinator_shows_their_street_only(url, engine):
    with_answers(engine)
    at = page(url, "survey_board", "coord")
    assert list(frame(at, "街道（镇）")["街道（镇）"]) == ["城关街道"]
    assert {m.label: m.value for m in at.metric}["有效问卷"] == "2"


def test_board_without_questionnaires_says_where_to_start(url):
    at = page(url, "survey_board")
    assert "还没有问卷" in texts(at)


# --- 纸质问卷录入 --------------------------------------------------------------------------------------------------


def test_entering_paper_questionnaires_one_after_another(url, engine):
    qid = questionnaire(engine)
    at = page(url, "survey_entry", "insp")
    at.selectbox(key="se_street").set_value("城关街道").run()
    at.selectbox(key="se_comm").set_value("和平社区").run()
    for code, value in (("A1", "知道"), ("S1", "支持"), ("P1", "参与过"), ("M1", "基本满意")):
        at.button_group(key=f"se_0_{qid}_{code}").set_value(value).run()
    at.text_input(key=f"se_0_{qid}_F1").input("多种树").run()
    at.button(key="se_save").click().run()
    ok(at)
    assert "已保存第 1 份问卷（答了 5/5 题）。请录入下一份。" in [s.value for s in at.success]
    assert next(t.value for t in at.toast).startswith("已保存第 1 份问卷")
    # cleared for the next sheet; where the respondent lives is kept
    assert at.button_group(key=f"se_1_{qid}_A1").value is None
    assert at.selectbox(key="se_street").value == "城关街道" and at.selectbox(key="se_comm").value == "和平社区"
    with engine.connect() as conn:
        (row,) = survey.list_responses(conn, admin(engine), qid)
        g = survey.survey_rates(conn, admin(engine), qid)[0]
    assert (row.source, row.street, row.community, row.entered_by, row.answered) == (
        "paper",
        "城关街道",
        "和平社区",
        "insp",
        5,
    )
    assert g.satisfaction == 60 and g.awareness.value == 1.0

    at.button_group(key=f"se_1_{qid}_A1").set_value("不知道").run()
    at.button(key="se_save").click().run()
    warnings = [w.value for w in at.warning]
    assert any("已保存第 2 份问卷" in w and "无效问卷" in w for w in warnings)
    assert "本问卷您已录入 2 份。" in texts(at)


def test_a_refused_sheet_keeps_its_answers(url, engine):
    qid = questionnaire(engine)
    at = page(url, "survey_entry", "insp")
    at.button_group(key=f"se_0_{qid}_A1").set_value("知道").run()
    at.button(key="se_save").click().run()
    assert [e.value for e in at.error] == ["未保存：请选择所在街道（镇）、社区（村）或单位"]
    assert at.button_group(key=f"se_0_{qid}_A1").value == "知道"


def test_a_coordinator_is_offered_only_their_street(url, engine):
    questionnaire(engine)
    at = page(url, "survey_entry", "coord")
    assert at.selectbox(key="se_street").options == ["城关街道"]


# --- 问卷管理 ------------------------------------------------------------------------------------------------------


def test_a_questionnaire_is_drafted_from_the_index_and_saved(url, engine):
    at = page(url, "survey_admin")
    assert at.selectbox(key="sa_q").value == 0  # nothing yet: a new questionnaire
    at.text_input(key="sa_def_0_name").input("诚信建设问卷").run()
    at.button(key="sa_def_0_default").click().run()
    at.button(key="sa_def_0_save").click().run()
    ok(at)
    assert "已保存问卷“诚信建设问卷”：2 道题。" in [s.value for s in at.success]
    with engine.connect() as conn:
        (info,) = survey.list_questionnaires(conn, admin(engine))
        q = survey.get_questionnaire(conn, admin(engine), info.id)
    assert [(x.kind, x.standard) for x in q.questions] == [
        (survey.QuestionKind.awareness, "III-4-2"),
        (survey.QuestionKind.free, None),
    ]
    assert at.selectbox(key="sa_q").value == info.id


def test_import_shows_the_proposed_mapping_checks_and_imports(url, engine):
    qid = questionnaire(engine)
    at = page(url, "survey_admin")
    assert at.selectbox(key="sa_q").value == qid
    at.session_state["sa_tabs"] = "导入答卷"
    at.run()
    bad = [list(r) for r in WJX_ROWS]
    bad[0][5] = "城关街"
    at.file_uploader(key="sa_upload_0").upload("问卷星导出.xlsx", xlsx_bytes(WJX_HEADER, bad)).run()
    ok(at)
    mapped = {s.label: s.value for s in at.selectbox if s.key and s.key.startswith("sa_map_")}
    assert mapped["序号"] == "external_id" and mapped[f"3、{QUESTIONS[0].text}"] == "q:A1" and mapped["来源"] == ""
    at.button(key="sa_check").click().run()
    assert "1 处问题" in at.error[0].value
    assert at.code[0].value == "问卷星导出.xlsx:Sheet1:R2:C6: 街道（镇）“城关街”不在单位名录中，是不是“城关街道”？"
    assert at.button(key="sa_import").disabled

    at.file_uploader(key="sa_upload_0").upload("问卷星导出.xlsx", xlsx_bytes(WJX_HEADER, WJX_ROWS)).run()
    at.button(key="sa_check").click().run()
    ok(at)
    assert "有效：可导入 4 份，其中无效 1 份。可以导入。" in [s.value for s in at.success]
    at.button(key="sa_import").click().run()
    ok(at)
    assert "已导入 4 份答卷，其中无效 1 份（文件“问卷星导出.xlsx”）。列对应已保存。" in [s.value for s in at.success]
    with engine.connect() as conn:
        assert survey.survey_rates(conn, admin(engine), qid)[0].valid == 3
        assert survey.get_questionnaire(conn, admin(engine), qid).mapping["序号"] == "external_id"


def test_populations_responses_and_voiding(url, engine):
    qid = with_answers(engine)
    at = page(url, "survey_admin")
    at.session_state["sa_tabs"] = "人口与配额"
    at.run()
    ok(at)
    pops = frame(at, "人口/职工数")
    assert list(pops["单位"][:3]) == ["城关街道", "东城街道", "河口镇"] and pops.iloc[0]["配额"] == 6
    at.session_state["sa_tabs"] = "答卷"
    at.run()
    responses = frame(at, "无效原因")
    assert len(responses) == 4 and list(responses["有效"]).count("否") == 1
    rid = int(responses[responses["有效"] == "是"].iloc[0]["编号"])
    at.number_input(key="sa_void_id").set_value(rid)
    at.text_input(key="sa_void_reason").input("重复填写")
    at.button(key="sa_void_go").click().run()
    ok(at)
    assert f"已作废答卷 {rid}。" in [s.value for s in at.success]
    with engine.connect() as conn:
        assert survey.survey_rates(conn, admin(engine), qid)[0].valid == 2


# --- the demo city ---------------------------------------------------------------------------------------------------


def test_demo_answers_imported_from_a_spreadsheet_show_rates_and_coverage_by_street(tmp_path, monkeypatch):
    """What build_demo adds at its end (survey.demo_survey), on the demo city without its rounds (for speed)."""
    from civeval import demo

    url = f"sqlite:///{tmp_path / 'demo.db'}"
    engine = open_engine(url)
    demo.build_demo(engine, seed=1, with_rounds=False)
    added = survey.demo_survey(engine, 1)
    with engine.connect() as conn:
        office = auth.load_actor(conn, auth.get_user(conn, "office").id)
        rows = survey.list_responses(conn, office, added["questionnaire"], limit=None)
        q = survey.get_questionnaire(conn, office, added["questionnaire"])
    engine.dispose()
    assert 300 <= added["responses"] == len(rows) <= 700 and {r.source for r in rows} == {"import"}
    assert 0 < added["invalid"] < added["responses"] // 10
    assert q.mapping["1、您所在的街道（镇）："] == "street"  # the mapping proposed for the 问卷星-style file, saved

    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    st.cache_resource.clear()
    at = page(url, "survey_board", "office")
    streets = frame(at, "街道（镇）")
    assert len(streets) == 12 and "—" not in set(streets["覆盖率"])
    assert set(streets["状态"]) == {"未达配额", "已达配额"}
    rates = streets["知晓率"].str.rstrip("%").astype(float)
    assert rates.between(50, 100).all() and streets["满意度"].astype(float).between(50, 100).all()
    metrics = {m.label: m.value for m in at.metric}
    assert int(metrics["有效问卷"]) == added["responses"] - added["invalid"]
    assert len(frame(at, "类别")) >= 6  # streets, communities and units below quota
    st.cache_resource.clear()
