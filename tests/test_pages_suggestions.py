"""AppTest: 意见建议登记 saves a door-to-door form (with 不愿留姓名 ticked, no name is stored) and shows its code;
意见建议 lists it, hands it to a unit (a finding with source 意见建议 on 问题清单), and records the reply once the unit
has fixed it and an inspector has closed it; the rates and their definitions are shown. The store's clock is set
(2 Nov 2026, 10:00 Beijing time), as in tests/test_pages_findings.py."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from civeval import audit, auth, findings, suggestions
from civeval.findings import FindingAction
from civeval.models import FindingSource
from civeval.store import open_engine
from civeval.store import schema as t
from civeval.suggestions import Channel, NewSuggestion
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES

A = FindingAction


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 2, 0)


@pytest.fixture
def world(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "photos"))
    for var in ("CIVEVAL_DEADLINE_DAYS", "CIVEVAL_HOLIDAYS", "CIVEVAL_WORKING_DAYS"):
        monkeypatch.delenv(var, raising=False)
    clock = Clock()
    monkeypatch.setattr(audit, "now", lambda: clock.now)
    st.cache_resource.clear()
    engine = open_engine(url)
    yield url, engine, clock
    engine.dispose()
    st.cache_resource.clear()


def actor(engine, username: str):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


def signed_in(url: str, user: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def row(engine, code: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(t.suggestions).where(t.suggestions.c.code == code)).mappings().one())


def jpeg() -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 60)).save(buf, "JPEG")
    return buf.getvalue(), "after.jpg"


def a_suggestion(engine) -> str:
    return suggestions.record(
        engine,
        actor(engine, "tester"),
        NewSuggestion(
            channel=Channel.hotline,
            content="和平路路灯不亮，晚上出行不便",
            category="公共设施",
            person="张大爷",
            street="城关街道",
            community="和平社区",
        ),
    )


def test_the_intake_form_saves_a_door_to_door_form_without_the_withheld_name(world):
    url, engine, _clock = world
    at = signed_in(url, "coord", "suggestion_intake")
    assert at.text_input(key="si_recorder_0").value == "coord"  # 征询记录人: the user
    assert at.selectbox(key="si_street_0").options == ["城关街道"]  # a coordinator's own street only
    at.text_input(key="si_person_0").input("王秘密").run()
    at.checkbox(key="si_withheld_0").check().run()
    assert not [w for w in at.text_input if w.key == "si_person_0"]  # the name box is gone
    at.selectbox(key="si_community_城关街道_0").select("和平社区")
    at.selectbox(key="si_category_0").select("市容环境")
    at.text_area(key="si_content_0").input("小区门口垃圾桶满溢，希望增加清运次数")
    at.button(key="si_save_0").click().run()
    ok(at)
    assert any("已保存意见建议 YJ000001" in s.value and "不愿留姓名" in s.value for s in at.success)
    stored = row(engine, "YJ000001")
    assert stored["person"] == "" and stored["name_withheld"] and stored["channel"] == "door_to_door"
    assert stored["recorder"] == "coord" and stored["category"] == "市容环境"
    assert at.text_area(key="si_content_1").value == ""  # the next form starts empty
    assert "YJ000001" in list(next(df.value for df in at.dataframe)["编号"])  # 我最近登记的


def test_the_intake_form_refuses_an_empty_content_in_chinese(world):
    url, engine, _clock = world
    at = signed_in(url, "tester", "suggestion_intake")
    at.selectbox(key="si_category_0").select("其他")
    at.button(key="si_save_0").click().run()
    assert any("未保存" in e.value and "请填写意见建议内容" in e.value for e in at.error)
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(t.suggestions)).scalar_one() == 0


def test_the_list_hands_a_suggestion_to_a_unit_and_records_the_reply(world):
    url, engine, clock = world
    code = a_suggestion(engine)
    at = signed_in(url, "tester", "suggestions")
    table = next(df.value for df in at.dataframe if "编号" in df.value.columns)
    assert list(table["编号"]) == [code] and list(table["办理情况"]) == ["待交办"]
    assert {m.label: m.value for m in at.metric}["收到"] == "1"
    at.selectbox(key="sg_pick").select(code).run()
    ok(at)
    assert any("张大爷" in md.value for md in at.markdown)  # the office sees the name
    at.selectbox(key=f"sg_{code}_1_unit").select("县城市管理局")
    at.selectbox(key=f"sg_{code}_1_point").select("P004")
    at.button(key=f"sg_{code}_1_hand").click().run()
    ok(at)
    assert any(f"意见建议 {code} 已交办“县城市管理局”" in s.value and "2026-11-05" in s.value for s in at.success)
    stored = row(engine, code)
    assert stored["status"] == "handed" and stored["finding_id"] is not None
    with engine.connect() as conn:
        [f] = findings.list_findings(conn, actor(engine, "liai"), source=FindingSource.suggestion)
    assert f.unit == "县城市管理局" and f.point_code == "P004"
    table = next(df.value for df in at.dataframe if "编号" in df.value.columns)
    assert list(table["办理情况"]) == ["整改中（已交办）"] and list(table["问题"]) == [f.code]
    at.button(key=f"sg_open_{code}").click().run()  # 在问题清单中查看
    ok(at)
    assert [x.value for x in at.title] == ["问题清单"] and at.selectbox(key="fl_pick").value == f.code

    clock.now = dt.datetime(2026, 11, 3, 2, 0)
    findings.transition(engine, actor(engine, "liai"), f.code, A.submit, reason="已修复", photos_data=[jpeg()])
    findings.transition(engine, actor(engine, "insp"), f.code, A.pass_reinspection)
    at = signed_in(url, "tester", "suggestions")  # a day later: a new sign-in
    at.selectbox(key="sg_pick").select(code).run()
    ok(at)
    history = next(df.value for df in at.dataframe if "操作" in df.value.columns and "状态" in df.value.columns)
    assert list(history["操作"]) == ["登记交办", "提交整改", "复查通过（销号）"]
    at.text_area(key=f"sg_{code}_2_reply_text").input("路灯已修复，感谢您的建议。")
    at.button(key=f"sg_{code}_2_reply").click().run()
    ok(at)
    assert any("已记录答复（已办结）" in s.value for s in at.success)
    stored = row(engine, code)
    assert stored["status"] == "answered" and stored["reply"] == "路灯已修复，感谢您的建议。"
    counts = {m.label: m.value for m in at.metric}
    assert counts["办结率"] == "100.0%" and counts["答复率"] == "100.0%"
    assert suggestions.SUGGESTION_DEFINITIONS["办结率"] in next(m for m in at.metric if m.label == "办结率").help
    by_street = next(df.value for df in at.dataframe if "街道（镇）" in df.value.columns)
    assert by_street.to_dict("records")[0]["办结率"] == "100.0%"


def test_a_coordinator_sees_only_its_streets_suggestions(world):
    url, engine, _clock = world
    code = a_suggestion(engine)
    suggestions.record(
        engine,
        actor(engine, "tester"),
        NewSuggestion(channel=Channel.email, content="东城路噪音扰民", category="其他", street="东城街道"),
    )
    at = signed_in(url, "coord", "suggestions")
    table = next(df.value for df in at.dataframe if "编号" in df.value.columns)
    assert list(table["编号"]) == [code]
    by_street = next(df.value for df in at.dataframe if "街道（镇）" in df.value.columns)
    assert list(by_street["街道（镇）"]) == ["城关街道"]
