"""The materials pages with AppTest on the seeded data: 材料申报 (a unit liaison uploads a document for its task and
sees where it stands), 材料进度 (the office builds the task breakdown, reviews uploads, edits and exports the
breakdown) and the uploads shown next to the scoring on 材料审核."""

from __future__ import annotations

import datetime as dt

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from civeval import auth, materials, rounds
from civeval.materials import MaterialStatus, Review
from civeval.models import Role, RoundKind
from civeval.store import open_engine
from civeval.ui import session
from tests import seed
from tests.test_pages import APP, PAGES, frame, texts

LIAISON = "wmb"  # 县文明办's liaison: the seeded materials standard III-4-1 is theirs


@pytest.fixture
def url(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    seed.add_users(open_engine(url), {LIAISON: (Role.liaison, "县文明办")})
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    for name in ("CIVEVAL_TILE_URL", "CIVEVAL_PHOTO_STORAGE", "CIVEVAL_DOCUMENT_DIR", "CIVEVAL_MAX_DOCUMENT_MB"):
        monkeypatch.delenv(name, raising=False)
    st.cache_resource.clear()
    yield url
    st.cache_resource.clear()


@pytest.fixture
def engine(url):
    eng = open_engine(url)
    yield eng
    eng.dispose()


def actor(engine, username: str):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


def page(url: str, name: str, user: str = "tester") -> AppTest:
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{name}.py").run()
    return ok(at)


def ok(at: AppTest) -> AppTest:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]
    return at


def badges(at: AppTest) -> list[str]:
    """The labels of the badges on the page (st.badge draws Markdown ":color-badge[:material/icon: label]")."""
    return [m.value.rsplit(": ", 1)[-1].rstrip("]") for m in at.markdown if "-badge[" in m.value]


def breakdown(engine) -> materials.Requirement:
    """The task breakdown of the seeded index: its one requirement (III-4-1 for 县文明办)."""
    office = actor(engine, "tester")
    materials.refresh_breakdown(engine, office, seed.index_id(engine), due_date=dt.date(2099, 12, 31))
    with engine.connect() as conn:
        [req] = materials.task_breakdown(conn, office, seed.index_id(engine))
    return req


def requirement_now(engine, rid: int) -> materials.Requirement:
    with engine.connect() as conn:
        return materials.get_requirement(conn, actor(engine, "tester"), rid)


# --- 材料申报 ------------------------------------------------------------------------------------------------------


def test_a_liaison_without_tasks_is_told_so(url, engine):
    at = page(url, "materials_upload", LIAISON)
    assert "还没有本单位的材料审核任务" in texts(at)
    breakdown(engine)
    at = page(url, "materials_upload", "liai")  # 县城市管理局 answers for no materials standard of the seeded index
    assert "还没有本单位的材料审核任务" in texts(at)


def test_a_liaison_uploads_a_document_and_sees_its_status(url, engine):
    req = breakdown(engine)
    at = page(url, "materials_upload", LIAISON)
    page_text = texts(at)
    assert "III-4-1" in page_text and "县文明办：材料任务 1 项" in page_text and "未提交 1" in page_text
    assert "开展诚信主题宣传活动，有方案、有记录" in page_text
    uploader = at.file_uploader(key=f"mu_up_{req.id}_0_file")
    assert set(uploader.allowed_type) >= {".pdf", ".png", ".jpg", ".docx", ".xlsx", ".doc", ".wps", ".ofd"}
    assert "每个文件不超过 20 MB" in page_text
    assert [b.key for b in at.get("download_button") if b.key == "mu_breakdown"] == ["mu_breakdown"]

    data = materials.demo_pdf("integrity plan")
    uploader.set_value(("C:\\fakepath\\诚信宣传方案.pdf", data, "application/pdf"))
    at.text_input(key=f"mu_up_{req.id}_0_note").input("第一批材料")
    at.button(key=f"mu_up_{req.id}_0_go").click().run()
    ok(at)
    assert "已上传“诚信宣传方案.pdf”，等待创文办审核。" in texts(at)
    assert requirement_now(engine, req.id).status is MaterialStatus.submitted
    with engine.connect() as conn:
        [sub] = materials.submissions(conn, actor(engine, LIAISON), seed.index_id(engine))
    assert (sub.file_name, sub.note, sub.submitted_by) == ("诚信宣传方案.pdf", "第一批材料", LIAISON)
    assert f"mu_up_{req.id}_1_file" in [u.key for u in at.file_uploader]  # a fresh, empty form
    assert "待审核" in badges(at)
    assert f"mu_dl_{sub.id}" in [b.key for b in at.get("download_button")]


def test_an_upload_that_is_not_what_its_name_says_is_refused(url, engine):
    req = breakdown(engine)
    at = page(url, "materials_upload", LIAISON)
    at.file_uploader(key=f"mu_up_{req.id}_0_file").set_value(("方案.pdf", b"not really a pdf", "application/pdf"))
    at.button(key=f"mu_up_{req.id}_0_go").click().run()
    assert not at.exception
    assert any("未上传" in e.value and "格式不能上传" in e.value for e in at.error)
    assert requirement_now(engine, req.id).status is MaterialStatus.missing
    at.button(key=f"mu_up_{req.id}_0_go").click().run()  # the same file again: refused again, nothing stored
    assert requirement_now(engine, req.id).submissions == 0


def test_the_liaison_sees_the_offices_comment(url, engine):
    req = breakdown(engine)
    sid = materials.submit_document(engine, actor(engine, LIAISON), req.id, materials.demo_png(1), "照片.png")
    materials.review(engine, actor(engine, "tester"), sid, Review.more, "缺少活动签到表")
    at = page(url, "materials_upload", LIAISON)
    assert any("创文办意见：缺少活动签到表" in w.value for w in at.warning)
    assert "需补充 1" in texts(at)
    at.toggle(key="mu_todo_only").set_value(True).run()
    ok(at)
    assert "III-4-1" in texts(at)


# --- 材料进度 ------------------------------------------------------------------------------------------------------


def test_the_office_builds_the_breakdown(url, engine):
    at = page(url, "materials_status")
    assert "还没有材料任务分解清单" in texts(at)
    due = dt.date.today() + dt.timedelta(days=60)  # the picker offers ten years ahead at most
    at.date_input(key="ms_build_due").set_value(due)
    at.button(key="ms_build").click().run()
    ok(at)
    assert "已生成任务 1 项。" in texts(at)
    assert {m.label: m.value for m in at.metric}["材料任务"] == "1"
    with engine.connect() as conn:
        [req] = materials.task_breakdown(conn, actor(engine, "tester"), seed.index_id(engine))
    assert (req.unit, req.due_date) == ("县文明办", due)
    assert frame(at, "单位")["单位"].tolist() == ["县文明办"]
    assert frame(at, "标准编码")["标准编码"].tolist() == ["III-4-1"]


def test_the_office_accepts_an_upload_with_a_comment_and_the_status_changes(url, engine):
    req = breakdown(engine)
    sid = materials.submit_document(engine, actor(engine, LIAISON), req.id, materials.demo_png(2), "活动照片.png")
    at = page(url, "materials_status")
    assert "待审核 1 份" in texts(at) and "活动照片.png" in texts(at)
    assert len(at.image) == 1  # an image is shown inline
    assert f"ms_dl_{sid}" in [b.key for b in at.get("download_button")]
    at.text_area(key=f"ms_rv_{sid}_comment").input("材料齐全，予以通过")
    at.button(key=f"ms_rv_{sid}_accepted").click().run()
    ok(at)
    assert "“活动照片.png”：通过" in texts(at)
    assert "没有待审核的材料" in texts(at)
    assert requirement_now(engine, req.id).status is MaterialStatus.accepted
    with engine.connect() as conn:
        sub = materials.get_submission(conn, actor(engine, "tester"), sid)
    assert (sub.review, sub.review_comment, sub.reviewed_by) == (Review.accepted, "材料齐全，予以通过", "tester")
    assert {m.label: m.value for m in at.metric}["完成率"] == "100%"
    at = page(url, "materials_upload", LIAISON)
    assert "已通过" in badges(at) and "完成率（已通过 ÷ 任务）100%" in at.get("progress")[0].proto.text


def test_needs_more_without_a_comment_is_refused(url, engine):
    req = breakdown(engine)
    sid = materials.submit_document(engine, actor(engine, LIAISON), req.id, materials.demo_pdf(), "方案.pdf")
    at = page(url, "materials_status")
    at.button(key=f"ms_rv_{sid}_more").click().run()
    assert not at.exception
    assert any("须填写审核意见" in e.value for e in at.error)
    assert requirement_now(engine, req.id).status is MaterialStatus.submitted
    at.text_area(key=f"ms_rv_{sid}_comment").input("缺少活动记录")
    at.button(key=f"ms_rv_{sid}_more").click().run()
    ok(at)
    assert requirement_now(engine, req.id).status is MaterialStatus.needs_more


def test_the_office_edits_the_breakdown_and_exports_it(url, engine):
    req = breakdown(engine)
    at = page(url, "materials_status")
    editor = "ms_editor_全部_"
    at.session_state[editor] = {
        "edited_rows": {0: {"需提供的材料": "诚信宣传活动方案、签到表和照片"}},
        "added_rows": [],
        "deleted_rows": [],
    }
    ok(at.run())
    at.button(key="ms_save").click().run()
    ok(at)
    assert "已保存 1 项任务的修改。" in texts(at)
    after = requirement_now(engine, req.id)
    assert (after.documents, after.version) == ("诚信宣传活动方案、签到表和照片", req.version + 1)
    assert "ms_export" in [b.key for b in at.get("download_button")]
    assert materials.task_breakdown_bytes(engine, actor(engine, "tester"), seed.index_id(engine))[:2] == b"PK"


def test_a_liaison_cannot_open_the_office_pages(url):
    at = AppTest.from_file(APP, default_timeout=30)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, LIAISON)
    at.run()
    for name in ("materials_status", "materials_review"):
        with pytest.raises(ValueError, match="Could not find a navigation page"):
            at.switch_page(f"{PAGES}{name}.py")


# --- 材料审核 (scoring) ----------------------------------------------------------------------------------------------


def test_the_scoring_page_shows_each_units_uploads(url, engine):
    req = breakdown(engine)
    office = actor(engine, "tester")
    sid = materials.submit_document(engine, actor(engine, LIAISON), req.id, materials.demo_pdf(), "诚信方案.pdf")
    materials.review(engine, office, sid, Review.accepted)
    rounds.create_round(
        engine, office, name="十一月模拟测评", kind=RoundKind.mock, index_id=seed.index_id(engine),
        start=dt.date(2026, 11, 2), end=dt.date(2026, 11, 6),
    )  # fmt: skip
    at = page(url, "materials_review")
    summary = texts(at)
    assert "申报材料：县文明办（牵头）:green[已通过] · 诚信方案.pdf（:green[通过]）" in summary
    assert "「材料进度」" in next(link.proto.label for link in at.get("page_link"))
