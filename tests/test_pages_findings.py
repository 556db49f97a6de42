"""AppTest: the rectification pages on the seeded city with five findings made through findings.create_finding.

问题清单 shows the findings and today's counts to the office and only its street's to a coordinator, shows a finding's
details and reports one by hand; 我的整改 shows the liaison only 县城市管理局's findings and submits a fix with an
after-photo through the real uploader; 复查销号 shows the inspector the submitted finding and closes it.

Timeline (the store's clock is set, as in tests/test_findings.py): all five reported on 2 Nov 2026; F1 fixed and
closed on time; the pages are opened on 5 Nov, when F2 is due, F3 is overdue and F5 is escalated.
"""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from civeval import audit, auth, findings, metrics
from civeval.findings import FindingAction, NewFinding
from civeval.models import FindingSource, FindingStatus, Severity
from civeval.store import open_engine
from civeval.store import schema as t
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES, texts

A = FindingAction


def jpeg(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 1, 0)

    def day(self, d: int, hour: int = 1) -> None:
        self.now = dt.datetime(2026, 11, d, hour, 0)


def actor(engine, username: str):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


def report(engine, who, point, unit, severity, *, standard=None, photo=None) -> str:
    return findings.create_finding(
        engine,
        who,
        NewFinding(
            source=FindingSource.patrol,
            description=f"{point} 发现的问题",
            point_code=point,
            unit=unit,
            standard_code=standard,
            index_id=seed.index_id(engine) if standard else None,
            severity=severity,
        ),
        photos_data=[(photo, "before.jpg")] if photo else (),
    )


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
    st.cache_data.clear()
    engine = open_engine(url)
    admin = actor(engine, "tester")
    codes = {
        "F1": report(engine, admin, "P004", "县城市管理局", Severity.urgent, photo=jpeg()),  # 城关, due 4 Nov
        "F2": report(engine, admin, "P005", "县教育局", Severity.normal),  # 东城, due 5 Nov
        "F3": report(engine, admin, "P001", None, None, standard="III-1-1"),  # 城关, 属地 → 市场监管局, due 4 Nov
        "F4": report(engine, admin, "P002", "县城市管理局", Severity.serious, photo=jpeg((20, 90, 200))),  # 东城, 9 Nov
        "F5": report(engine, admin, "P006", "县城市管理局", Severity.immediate),  # 城关, due 2 Nov
    }
    clock.day(3)
    after = [(jpeg((40, 180, 40)), "a.jpg")]
    findings.transition(engine, actor(engine, "liai"), codes["F1"], A.submit, reason="已清理", photos_data=after)
    clock.day(4)
    findings.transition(engine, actor(engine, "insp"), codes["F1"], A.pass_reinspection)
    clock.day(5)
    yield url, engine, codes
    engine.dispose()
    st.cache_resource.clear()


def signed_in(url: str, user: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def table(at: AppTest):
    return next(df.value for df in at.dataframe if "编号" in df.value.columns)


def status(engine, code: str) -> FindingStatus:
    with engine.connect() as conn:
        return FindingStatus(conn.execute(sa.select(t.findings.c.status).where(t.findings.c.code == code)).scalar_one())


# --- 问题清单 ------------------------------------------------------------------------------------------------------


def test_the_list_shows_the_findings_and_todays_counts(world):
    url, _engine, codes = world
    at = signed_in(url, "tester", "findings_list")
    rows = table(at)
    assert list(rows["编号"]) == [codes[k] for k in ("F5", "F3", "F2", "F4")]  # open ones, by deadline
    assert dict(zip(rows["编号"], rows["预警"], strict=True))[codes["F5"]] == "严重逾期（报分管领导）"
    assert dict(zip(rows["编号"], rows["逾期天数"], strict=True))[codes["F3"]] == 1
    assert dict(zip(rows["编号"], rows["责任单位"], strict=True))[codes["F3"]] == "县市场监督管理局"  # 属地 rule
    counts = {m.label: m.value for m in at.metric}
    assert counts == {
        "未销号": "4",
        "即将到期": "1",
        "已逾期": "2",
        "严重逾期": "1",
        "整改率": "25.0%",  # F1 closed of F1, F2, F3, F5 due by 5 Nov
        "按期整改率": "25.0%",
    }
    tooltip = next(m for m in at.metric if m.label == "整改率").help
    assert metrics.DEFINITIONS["整改率"] in tooltip and "今天：1 / 4" in tooltip  # the definition in the tooltip

    at.multiselect(key="fl_status").set_value([]).run()
    assert len(table(at)) == 5
    at.toggle(key="fl_overdue").set_value(True).run()
    assert set(table(at)["编号"]) == {codes["F3"], codes["F5"]}
    at.toggle(key="fl_overdue").set_value(False).run()
    at.text_input(key="fl_search").input("人民路").run()  # P004's name
    assert list(table(at)["编号"]) == [codes["F1"]]


def test_a_findings_details_history_photos_and_only_the_allowed_actions(world):
    url, engine, codes = world
    at = signed_in(url, "tester", "findings_list")
    at.multiselect(key="fl_status").set_value([]).run()
    at.selectbox(key="fl_pick").select(codes["F1"]).run()
    assert not at.exception
    page = texts(at)
    history = at.dataframe[-1].value
    assert list(history["操作"]) == ["登记交办", "提交整改", "复查通过（销号）"]
    assert list(history["操作人"]) == ["tester", "liai", "insp"]
    assert "已清理" in set(history["原因/说明"])
    assert len(at.image) == 2  # one before, one after
    assert "**整改期限**：2026-11-04" in page
    assert "您对该问题当前没有可办理的操作" in page  # closed: nothing left to do

    # an open one: the administrator may do everything the state allows, each asking what it needs
    at.selectbox(key="fl_pick").select(codes["F3"]).run()
    labels = {e.label for e in at.expander}
    assert {"申请延期", "转办", "列为长效整改", "作废", "提交整改"} <= labels
    assert "复查通过（销号）" not in labels and "批准延期" not in labels
    form = f"fl_reassign_{codes['F3']}_0"
    at.selectbox(key=f"{form}_unit").select("县城市管理局")
    at.text_area(key=f"{form}_reason").input("属城管执法范围")
    at.button(key=f"{form}_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"问题 {codes['F3']}：已转办。" in texts(at)
    with engine.connect() as conn:
        assert findings.get_finding(conn, actor(engine, "tester"), codes["F3"]).unit == "县城市管理局"


def test_a_refused_transition_is_told_in_chinese(world):
    url, engine, codes = world
    at = signed_in(url, "tester", "findings_list")
    at.selectbox(key="fl_pick").select(codes["F2"]).run()
    form = f"fl_void_{codes['F2']}_0"
    at.button(key=f"{form}_go").click().run()  # no reason
    assert not at.exception
    assert any("须填写原因" in e.value for e in at.error)
    assert status(engine, codes["F2"]) is FindingStatus.assigned


def test_a_coordinator_sees_only_their_streets_findings(world):
    url, _engine, codes = world
    at = signed_in(url, "coord", "findings_list")
    at.multiselect(key="fl_status").set_value([]).run()
    assert set(table(at)["编号"]) == {codes["F1"], codes["F3"], codes["F5"]}  # 城关街道's points
    assert at.selectbox(key="fl_street").options == ["城关街道"]


def test_reporting_a_finding_by_hand_defaults_the_unit_by_the_responsibility_rule(world):
    url, engine, _codes = world
    at = signed_in(url, "tester", "findings_list")
    at.text_input(key="fr_point_search_0").input("和平路").run()
    at.selectbox(key="fr_point_0").select("P003").run()
    at.selectbox(key="fr_standard_0").select("III-2-1").run()
    assert at.selectbox(key="fr_unit_P003_III-2-1_0").value == "和平社区"  # 属地: the point's custodian
    at.selectbox(key="fr_source_0").select("hotline")
    at.text_area(key="fr_desc_0").input("市民反映小巷堆放建筑垃圾")
    at.button(key="fr_go_0").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert any("交办“和平社区”" in s.value for s in at.success)
    new = at.selectbox(key="fl_pick").value  # the new finding is opened
    with engine.connect() as conn:
        f = findings.get_finding(conn, actor(engine, "tester"), new)
    assert (f.source, f.point_code, f.standard_code, f.unit) == (FindingSource.hotline, "P003", "III-2-1", "和平社区")
    assert at.text_area(key="fr_desc_1").value == ""  # an empty form for the next one


def test_reporting_without_a_unit_is_refused(world):
    url, _engine, _codes = world
    at = signed_in(url, "tester", "findings_list")
    at.text_area(key="fr_desc_0").input("无点位的问题")
    at.button(key="fr_go_0").click().run()
    assert any("请选择责任单位" in e.value for e in at.error)


# --- 我的整改 and 复查销号 -------------------------------------------------------------------------------------------


def test_the_liaison_sees_only_its_units_findings_and_submits_a_fix(world):
    url, engine, codes = world
    at = signed_in(url, "liai", "my_findings")
    page = texts(at)
    assert codes["F4"] in page and codes["F5"] in page
    assert codes["F2"] not in page and codes["F3"] not in page  # other units' findings
    assert codes["F1"] not in page  # closed
    assert "严重逾期" in page and "东城路18号" in page  # F5's badge, F4's address
    assert page.index(codes["F5"]) < page.index(codes["F4"])  # by deadline

    form = f"mf_submit_{codes['F4']}_0"
    at.text_area(key=f"{form}_reason").input("已清除杂物并恢复路面")
    at.file_uploader(key=f"{form}_photos").set_value(("整改后.jpg", jpeg((30, 160, 60)), "image/jpeg"))
    at.button(key=f"{form}_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert f"问题 {codes['F4']}：已提交整改，等待复查。" in texts(at)
    assert status(engine, codes["F4"]) is FindingStatus.submitted
    with engine.connect() as conn:
        f = findings.get_finding(conn, actor(engine, "tester"), codes["F4"])
    assert len(f.after_photos) == 1
    assert "已提交待复查 1 个" in texts(at)


def test_a_submission_without_after_photo_is_refused(world):
    url, engine, codes = world
    at = signed_in(url, "liai", "my_findings")
    form = f"mf_submit_{codes['F4']}_0"
    at.text_area(key=f"{form}_reason").input("已清除")
    at.button(key=f"{form}_go").click().run()
    assert any("请上传整改后的照片" in e.value for e in at.error)
    assert status(engine, codes["F4"]) is FindingStatus.assigned


def test_the_liaison_asks_for_an_extension(world):
    url, engine, codes = world
    at = signed_in(url, "liai", "my_findings")
    form = f"mf_request_extension_{codes['F4']}_0"
    at.date_input(key=f"{form}_deadline").set_value(dt.date(2026, 11, 20))
    at.text_area(key=f"{form}_reason").input("需采购护栏")
    at.button(key=f"{form}_go").click().run()
    assert not at.exception and not at.error
    assert "已申请延期至 2026-11-20" in texts(at)
    with engine.connect() as conn:
        assert findings.get_finding(conn, actor(engine, "tester"), codes["F4"]).extension_until == dt.date(2026, 11, 20)


def test_a_unit_without_findings_gets_a_clear_empty_state(world):
    url, engine, _codes = world
    seed.add_users(engine, {"edu": (seed.Role.liaison, "县税务局")})
    at = signed_in(url, "edu", "my_findings")
    assert "县税务局目前没有待整改的问题" in texts(at)


def test_the_inspector_closes_the_submitted_finding(world):
    url, engine, codes = world
    findings.transition(
        engine,
        actor(engine, "liai"),
        codes["F4"],
        A.submit,
        reason="已清除杂物",
        photos_data=[(jpeg((1, 2, 3)), "x.jpg")],
    )
    at = signed_in(url, "insp", "reinspection")
    assert [e.label for e in at.expander] == ["东城街道（1 个）"]
    page = texts(at)
    assert codes["F4"] in page and any("已清除杂物" in h.proto.body for h in at.get("html"))
    assert "**整改前**" in page and "**整改后**" in page
    assert len(at.image) == 2
    form = f"rq_{codes['F4']}_0"
    at.button(key=f"{form}_pass").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert status(engine, codes["F4"]) is FindingStatus.closed
    assert f"问题 {codes['F4']}：复查通过，已销号。" in texts(at)
    assert "目前没有待复查的问题" in texts(at)


def test_failing_a_reinspection_needs_a_reason(world):
    url, engine, codes = world
    findings.transition(
        engine, actor(engine, "liai"), codes["F4"], A.submit, reason="已清除", photos_data=[(jpeg(), "x.jpg")]
    )
    at = signed_in(url, "insp", "reinspection")
    form = f"rq_{codes['F4']}_0"
    at.button(key=f"{form}_fail").click().run()
    assert any("须填写原因" in e.value for e in at.error)
    assert status(engine, codes["F4"]) is FindingStatus.submitted
    at.text_area(key=f"{form}_reason").input("仍有杂物")
    at.button(key=f"{form}_fail").click().run()
    assert status(engine, codes["F4"]) is FindingStatus.in_progress


def test_the_pages_are_offered_by_role(world):
    url, _engine, _codes = world
    at = signed_in(url, "boss", "findings_list")  # a leader reads the list
    assert len(table(at)) == 4
    assert not [e for e in at.expander if e.label.startswith("登记问题")]  # no report form for a leader
    for page in ("my_findings", "reinspection"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"{PAGES}{page}.py")
    at = signed_in(url, "liai", "my_findings")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page(f"{PAGES}reinspection.py")


def test_a_coordinator_grants_an_extension_asked_for_by_the_unit(world):
    url, engine, codes = world
    findings.transition(
        engine,
        actor(engine, "liai"),
        codes["F5"],
        A.request_extension,
        reason="需采购垃圾桶",
        deadline=dt.date(2026, 11, 12),
    )
    at = signed_in(url, "coord", "findings_list")
    at.selectbox(key="fl_pick").select(codes["F5"]).run()
    assert "已申请延期至 11-12，待审批" in texts(at)
    labels = {e.label for e in at.expander}
    assert {"批准延期", "驳回延期", "转办"} <= labels and "作废" not in labels
    form = f"fl_grant_extension_{codes['F5']}_0"
    assert at.date_input(key=f"{form}_deadline").value == dt.date(2026, 11, 12)
    at.button(key=f"{form}_go").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    with engine.connect() as conn:
        f = findings.get_finding(conn, actor(engine, "tester"), codes["F5"])
    assert (f.deadline, f.extension_until) == (dt.date(2026, 11, 12), None)
    assert "**整改期限**：2026-11-12（还剩 7 天）" in texts(at)
