"""AppTest: the inspector's day. 我的任务 lists the assigned points with progress; 点位打分 stores every answer, note
and photo the moment it is given (checked in the database right after each interaction), refuses an incomplete
submission with what is missing, and asks for a reason once the point is submitted."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from civeval import auth, rounds
from civeval.models import Answer, Quota, Result, RoundKind, RoundStatus, SamplePlan
from civeval.store import open_engine
from civeval.store import schema as t
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES, texts

# Six points, all for "insp": P001/P002 农贸市场 (III-1-1 deduction, III-1-2 pass/fail), P003 背街小巷
# (III-1-2, III-2-1 graded), P004 主次干道, P005 学校周边, P007 医院.
PLAN = SamplePlan(
    seed=7,
    quotas=[
        Quota(point_type="农贸市场", count=2),
        Quota(point_type="背街小巷", count=1),
        Quota(point_type="主次干道", count=1),
        Quota(point_type="学校周边", count=1),
        Quota(point_type="医院", count=1),
    ],
)


def actor(engine, username: str):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


def make_round(engine) -> int:
    """A mock round over today, drawn with PLAN, every point assigned to "insp", in progress."""
    admin = actor(engine, "tester")
    today = dt.date.today()
    rid = rounds.create_round(
        engine,
        admin,
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=today,
        end=today + dt.timedelta(days=4),
    )
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.assign(engine, admin, rid, ["insp"])
    rounds.set_status(engine, admin, rid, RoundStatus.in_progress)
    return rid


def jpeg(color=(200, 30, 30)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "photos"))
    st.cache_resource.clear()
    engine = open_engine(url)
    rid = make_round(engine)
    yield url, engine, rid
    engine.dispose()
    st.cache_resource.clear()


def signed_in(url: str, user: str = "insp") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    return at.run()


def scoring(url: str, rid: int, point: str) -> AppTest:
    """The scoring page opened from its URL (``?round=…&point=…``), as after a reload."""
    at = signed_in(url)
    at.query_params["round"] = str(rid)
    at.query_params["point"] = point
    at.switch_page(f"{PAGES}score_point.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def sheet(engine, rid: int, point: str) -> dict[str, rounds.StandardAnswer]:
    with engine.connect() as conn:
        s = rounds.point_sheet(conn, actor(engine, "insp"), rid, point)
    return {a.standard.code: a for a in s.answers}


def key(rid: int, point: str, code: str, what: str) -> str:
    return f"sc_{rid}_{point}_{code}_{what}"


def test_task_list_shows_the_assigned_points_with_progress(world):
    url, engine, rid = world
    rounds.save_answer(engine, actor(engine, "insp"), rid, "P003", "III-1-2", Answer(result=Result.passed))
    at = signed_in(url).switch_page(f"{PAGES}tasks.py").run()
    assert not at.exception
    page = texts(at)
    for code, name in [("P001", "城关农贸市场"), ("P003", "和平路背街小巷"), ("P007", "县人民医院")]:
        assert f"{code}　{name}" in page
    assert "1/2 已答" in page and "0/2 已答" in page and "0/1 已答" in page
    assert "共 6 个点位，已提交 0 个，待完成 6 个" in page
    labels = {b.key: b.label for b in at.button}
    assert labels[f"tasks_open_{rid}_P003"] == "继续" and labels[f"tasks_open_{rid}_P001"] == "开始"
    assert labels["tasks_next"].startswith("下一个未完成点位：")


def test_someone_with_no_points_today_is_told_so(world):
    url, _, _ = world
    at = signed_in(url, "tester").switch_page(f"{PAGES}tasks.py").run()
    assert not at.exception
    assert "今天没有分配给您的点位" in texts(at)


def test_a_point_opens_with_round_and_point_in_the_url(world):
    url, _, rid = world
    at = signed_in(url).switch_page(f"{PAGES}tasks.py").run()
    at.button(key=f"tasks_open_{rid}_P001").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.query_params == {"round": str(rid), "point": "P001"}
    assert "P001 城关农贸市场" in [s.value for s in at.subheader]
    assert "包保单位：县市场监督管理局" in texts(at)
    assert at.progress[0].value == 0
    # the standards of a 农贸市场 with their instructions, by category
    assert "公共环境" in [s.value for s in at.subheader]
    assert {g.key for g in at.segmented_control} == {
        key(rid, "P001", "III-1-1", "count"),
        key(rid, "P001", "III-1-2", "result"),
    }
    assert any("从正门进入，步行200米" in h.value for h in at.html)


def test_the_scoring_page_without_a_point_sends_to_the_task_list(world):
    url, _, _ = world
    at = signed_in(url).switch_page(f"{PAGES}score_point.py").run()
    assert not at.exception
    assert "请先在「我的任务」中选择要打分的点位" in texts(at)


def test_an_answer_is_stored_by_the_one_interaction_that_gives_it(world):
    url, engine, rid = world
    at = scoring(url, rid, "P001")
    at.segmented_control(key=key(rid, "P001", "III-1-2", "result")).set_value("pass").run()
    assert not at.exception, [e.value for e in at.exception]
    stored = sheet(engine, rid, "P001")["III-1-2"]
    assert stored.answer.result is Result.passed and stored.version == 1
    # a count of problems: 2 → fail with 2 instances; 5+ asks for the number
    at.segmented_control(key=key(rid, "P001", "III-1-1", "count")).set_value("2").run()
    stored = sheet(engine, rid, "P001")["III-1-1"]
    assert (stored.answer.result, stored.answer.instances) == (Result.failed, 2)
    at.segmented_control(key=key(rid, "P001", "III-1-1", "count")).set_value("5+").run()
    assert sheet(engine, rid, "P001")["III-1-1"].answer.instances == 5
    at.number_input(key=key(rid, "P001", "III-1-1", "more")).set_value(7).run()
    assert sheet(engine, rid, "P001")["III-1-1"].answer.instances == 7
    at.text_input(key=key(rid, "P001", "III-1-1", "note")).input("东侧摊区垃圾堆积").run()
    stored = sheet(engine, rid, "P001")["III-1-1"]
    assert stored.answer.note == "东侧摊区垃圾堆积" and stored.answer.instances == 7
    assert not at.exception and not at.error
    assert at.progress[0].text == "已答 2/2" and at.progress[0].value == 100


def test_a_reload_shows_what_the_database_holds(world):
    url, engine, rid = world
    insp = actor(engine, "insp")
    rounds.save_answer(engine, insp, rid, "P003", "III-2-1", Answer(result=Result.C, note="两处乱堆放"))
    at = scoring(url, rid, "P003")
    assert at.segmented_control(key=key(rid, "P003", "III-2-1", "result")).value == "C"
    assert at.text_input(key=key(rid, "P003", "III-2-1", "note")).value == "两处乱堆放"
    assert at.segmented_control(key=key(rid, "P003", "III-1-2", "result")).value is None
    assert "已保存" in texts(at) and "未作答" in texts(at)


def test_a_failure_without_photo_is_refused_then_a_photo_through_the_uploader_lets_it_submit(world):
    url, engine, rid = world
    at = scoring(url, rid, "P001")
    at.segmented_control(key=key(rid, "P001", "III-1-2", "result")).set_value("fail").run()
    at.button(key="sc_submit").click().run()
    assert not at.exception
    refusal = at.error[0].value
    assert refusal.startswith("不能提交：")
    assert "- III-1-1 未作答" in refusal
    assert "- III-1-2 不符合，须上传照片" in refusal and "- III-1-2 不符合，须填写说明" in refusal

    # the uploader is offered for the failure; AppTest uploads through the real widget and its on_change handler
    uploader = at.file_uploader(key=key(rid, "P001", "III-1-2", "upload_0"))
    assert uploader.accept_multiple_files and ".jpg" in uploader.allowed_type
    uploader.upload("问题1.jpg", jpeg(), "image/jpeg").run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(sheet(engine, rid, "P001")["III-1-2"].photo_ids) == 1
    assert "已保存 1 张照片" in texts(at)
    assert len(at.image) == 1  # the thumbnail
    # a fresh, empty uploader for the next photo
    assert [u.key for u in at.file_uploader] == [key(rid, "P001", "III-1-2", "upload_1")]

    at.text_input(key=key(rid, "P001", "III-1-2", "note")).input("公益广告破损").run()
    at.segmented_control(key=key(rid, "P001", "III-1-1", "count")).set_value("0").run()
    at.button(key="sc_submit").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert "已提交点位 P001 城关农贸市场" in texts(at)
    with engine.connect() as conn:
        submitted = conn.execute(
            sa.select(t.round_points.c.submitted_at)
            .join(t.points, t.points.c.id == t.round_points.c.point_id)
            .where(t.points.c.code == "P001", t.round_points.c.round_id == rid)
        ).scalar_one()
    assert submitted is not None


def test_a_refused_file_and_a_removed_photo(world):
    url, engine, rid = world
    at = scoring(url, rid, "P002")
    at.segmented_control(key=key(rid, "P002", "III-1-2", "result")).set_value("fail").run()
    at.file_uploader(key=key(rid, "P002", "III-1-2", "upload_0")).upload(
        "说明.jpg", b"not an image", "image/jpeg"
    ).run()
    assert not at.exception
    assert any("不是图片" in e.value for e in at.error)
    assert sheet(engine, rid, "P002")["III-1-2"].photo_ids == []
    at.file_uploader(key=key(rid, "P002", "III-1-2", "upload_1")).upload("a.jpg", jpeg(), "image/jpeg").run()
    (photo_id,) = sheet(engine, rid, "P002")["III-1-2"].photo_ids
    at.button(key=key(rid, "P002", "III-1-2", f"remove_{photo_id}")).click().run()
    assert not at.exception
    assert sheet(engine, rid, "P002")["III-1-2"].photo_ids == []
    assert "已删除照片" in texts(at)


def test_a_change_made_elsewhere_meanwhile_is_shown_not_overwritten(world):
    url, engine, rid = world
    at = scoring(url, rid, "P003")
    at.segmented_control(key=key(rid, "P003", "III-1-2", "result")).set_value("pass").run()
    # the same inspector on a second tablet changes it
    rounds.save_answer(
        engine, actor(engine, "insp"), rid, "P003", "III-1-2", Answer(result=Result.na), expected_version=1
    )
    at.segmented_control(key=key(rid, "P003", "III-1-2", "result")).set_value("fail").run()
    assert not at.exception
    assert any("已被他人修改" in w.value for w in at.warning)
    assert sheet(engine, rid, "P003")["III-1-2"].answer.result is Result.na  # not overwritten
    assert at.segmented_control(key=key(rid, "P003", "III-1-2", "result")).value == "na"  # the stored one shown


def test_after_submission_a_change_needs_a_reason(world):
    url, engine, rid = world
    insp = actor(engine, "insp")
    rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.passed))
    rounds.submit_point(engine, insp, rid, "P004")
    at = scoring(url, rid, "P004")
    control = at.segmented_control(key=key(rid, "P004", "III-1-2", "result"))
    assert control.disabled and "本点位已" in texts(at)
    assert not any(b.key == "sc_submit" for b in at.button)
    at.text_input(key=f"sc_{rid}_P004_reason").input("复核时发现广告被遮挡").run()
    control = at.segmented_control(key=key(rid, "P004", "III-1-2", "result"))
    assert not control.disabled
    control.set_value("na").run()
    assert not at.exception and not at.error
    assert sheet(engine, rid, "P004")["III-1-2"].answer.result is Result.na
    with engine.connect() as conn:
        reasons = conn.execute(sa.select(t.audit_log.c.reason).where(t.audit_log.c.reason != "")).scalars().all()
    assert "复核时发现广告被遮挡" in reasons


def test_another_inspectors_point_is_refused_in_chinese(world):
    url, engine, rid = world
    seed.add_users(engine, {"insp2": (seed.USERS["insp"][0], None)})
    at = signed_in(url, "insp2")
    at.query_params["round"] = str(rid)
    at.query_params["point"] = "P001"
    at.switch_page(f"{PAGES}score_point.py").run()
    assert not at.exception
    if at.segmented_control:  # shown read-only (rounds.point_sheet lets it be seen): the save is refused
        at.segmented_control(key=key(rid, "P001", "III-1-2", "result")).set_value("pass").run()
        assert not at.exception
    assert any("无权" in e.value for e in at.error)
    assert sheet(engine, rid, "P001")["III-1-2"].answer is None


def test_a_photo_taken_far_from_the_point_is_flagged(world):
    from tests.test_photos import TIANANMEN, gps_ifd
    from tests.test_photos import jpeg as exif_jpeg

    url, engine, rid = world
    at = scoring(url, rid, "P001")  # 34.7621, 113.6512
    at.segmented_control(key=key(rid, "P001", "III-1-2", "result")).set_value("fail").run()
    uploader = at.file_uploader(key=key(rid, "P001", "III-1-2", "upload_0"))
    uploader.set_value(
        [
            ("近处.jpg", exif_jpeg((320, 240), gps=gps_ifd(34.7625, 113.6515)), "image/jpeg"),
            ("北京.jpg", exif_jpeg(gps=gps_ifd(*TIANANMEN)), "image/jpeg"),
        ]
    ).run()
    assert not at.exception
    assert len(sheet(engine, rid, "P001")["III-1-2"].photo_ids) == 2
    (warning,) = [w.value for w in at.warning]
    assert warning.startswith("“北京.jpg”：照片拍摄位置距点位约") and "超过 300 米" in warning
    assert "已保存 2 张照片" in texts(at)
