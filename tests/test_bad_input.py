"""Bad input, and the application log.

* photos that are not usable (damaged, bombs, too big, not images, empty) are refused in Chinese, nothing stored;
* 100,000-character text and wrong types in every function taking people's text are refused in Chinese (or kept
  intact), the same on SQLite and PostgreSQL, nothing written;
* HTML and script in notes and descriptions are shown as text on every page that shows them (AppTest), and in a
  real browser no script runs (Playwright);
* path tricks in uploaded file names never reach the file system;
* a refused multi-row write leaves nothing half-written;
* the application log is JSON lines, and an unexpected error in a page shows a Chinese message with an id whose
  traceback is in the log.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import re
import struct
import zlib
from pathlib import Path

import openpyxl
import pytest
import sqlalchemy as sa
import streamlit as st
from PIL import Image
from streamlit.testing.v1 import AppTest

from civeval import (
    audit,
    auth,
    editing,
    findings,
    imports,
    limits,
    logs,
    paper,
    photos,
    registers,
    rounds,
    users_workbook,
)
from civeval.findings import FindingAction, NewFinding
from civeval.models import Actor, Answer, FindingSource, Grant, Point, Result, Role, RoundKind, RoundStatus, Unit
from civeval.permissions import PermissionDenied
from civeval.store import open_engine, repo
from civeval.store import schema as t
from civeval.ui import common, session
from civeval.ui.round_widgets import download_name
from tests import e2e, seed
from tests.conftest import ADMIN
from tests.test_pages import APP, PAGES
from tests.test_rounds import PLAN, START, draw_and_assign, owner

CJK = re.compile(r"[\u4e00-\u9fff]")
HUGE = "测" * 100_000
XSS = "<script>alert(1)</script><img src=x onerror=alert(1)>"


@pytest.fixture
def world(engine):
    """The seeded city with a planned round, as in tests/test_rounds.py (SQLite and PostgreSQL)."""
    seed.seed(engine)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2", "coord")}
    rid = rounds.create_round(
        engine,
        actors["tester"],
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=START,
        end=START + dt.timedelta(days=4),
    )
    return engine, actors, rid


def jpeg(color=(200, 30, 30), size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG")
    return buf.getvalue()


def counts(engine: sa.Engine) -> dict[str, int]:
    """Rows in every table (audit_log included: a refusal writes no log entry either)."""
    with engine.connect() as conn:
        return {
            table.name: conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            for table in t.metadata.sorted_tables
        }


def chinese(e: pytest.ExceptionInfo) -> str:
    text = str(e.value)
    assert CJK.search(text), text
    assert "Traceback" not in text and len(text) < 600, text[:300]
    return text


# --- photos ------------------------------------------------------------------------------------------------


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims ``width``×``height`` pixels (a decompression bomb as far as its header goes)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 4096)) + chunk(b"IEND", b"")
    )


def bad_photos() -> list[tuple[str, bytes, str]]:
    """(file name, bytes, what the message says)."""
    good = jpeg(size=(640, 480))
    return [
        ("截断.jpg", good[: len(good) // 2], "已损坏"),
        ("乱码.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "已损坏"),
        ("炸弹.png", png_header(100_000, 100_000), "尺寸过大"),
        ("大图.png", png_header(12_000, 12_000), "尺寸过大"),  # over Pillow's limit, under its 'error' threshold
        ("超大.jpg", b"\xff\xd8\xff" + b"\0" * photos.MAX_UPLOAD_BYTES, "超过"),
        ("文件.jpg", b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\n", "不是图片"),
        ("说明.jpg", "这不是照片，是一段文字。\n".encode() * 20, "不是图片"),
        ("空.jpg", b"", "空文件"),
    ]


def photo_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*") if p.is_file()} if root.exists() else set()


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow warns, civeval refuses
def test_bad_photos_are_refused_in_chinese_and_nothing_is_stored(world, tmp_path, monkeypatch):
    engine, actors, rid = world
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "photos"))
    plan = draw_and_assign(engine, actors, rid)
    insp = actors[owner(plan, "P004")]
    rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.failed, note="公益广告破损"))
    before, files = counts(engine), photo_files(tmp_path / "photos")
    for name, data, said in bad_photos():
        with pytest.raises(photos.PhotoRefused) as e:
            rounds.add_photo(engine, insp, rid, "P004", "III-1-2", data, name)
        text = chinese(e)
        assert said in text and name in text, text
        new = NewFinding(source=FindingSource.patrol, description="路面破损", point_code="P004", unit="县城市管理局")
        with pytest.raises(photos.PhotoRefused):
            findings.create_finding(engine, actors["tester"], new, photos_data=[(jpeg(), "好.jpg"), (data, name)])
        assert counts(engine) == before, name
        assert photo_files(tmp_path / "photos") == files, name
    # and a good one is stored
    rounds.add_photo(engine, insp, rid, "P004", "III-1-2", jpeg(), "现场.jpg")
    assert counts(engine)["photos"] == before["photos"] + 1


# --- long text and wrong types -----------------------------------------------------------------------------


def refused(engine: sa.Engine, error: type[Exception] | tuple, call, *words: str) -> str:
    """``call()`` raises ``error`` with a Chinese message holding ``words``, and writes nothing."""
    before = counts(engine)
    with pytest.raises(error) as e:
        call()
    text = chinese(e)
    assert all(w in text for w in words), text
    assert counts(engine) == before
    return text


def test_long_text_and_wrong_types_in_answers_and_rounds(world):
    engine, actors, rid = world
    admin = actors["tester"]
    plan = draw_and_assign(engine, actors, rid)
    insp = actors[owner(plan, "P004")]

    def answer(note):
        return lambda: rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.failed, note=note))

    refused(engine, rounds.RoundError, answer(HUGE), "备注", "过长", f"最多 {limits.NOTE} 个字", "100000")
    refused(engine, rounds.RoundError, answer("测" * (limits.NOTE + 1)), "备注", "过长")
    kept = ("第一行 <b>粗</b> 😀\n" + "测" * limits.NOTE)[: limits.NOTE]
    answer(kept)()
    with engine.connect() as conn:
        sheet = rounds.point_sheet(conn, insp, rid, "P004")
    assert next(a.answer.note for a in sheet.answers if a.standard.code == "III-1-2") == kept  # intact
    why = lambda reason: (
        lambda: rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.passed), reason=reason)
    )
    refused(engine, rounds.RoundError, why(HUGE), "修改原因", "过长")
    refused(engine, rounds.RoundError, why(12345), "修改原因", "应为文字")
    batch = [rounds.AnswerItem("P004", "III-1-2", Answer(result=Result.failed, note=HUGE))]
    refused(engine, rounds.RoundError, lambda: rounds.save_answers(engine, insp, rid, batch), "备注", "过长")

    def new_round(name):
        return lambda: rounds.create_round(
            engine, admin, name=name, kind=RoundKind.mock, index_id=seed.index_id(engine), start=START, end=START
        )

    refused(engine, rounds.RoundError, new_round(HUGE), "轮次名称", "过长", f"最多 {limits.NAME} 个字")
    refused(engine, rounds.RoundError, new_round(2026), "轮次名称", "应为文字")
    refused(engine, rounds.RoundError, new_round(None), "轮次名称不能为空")
    name = "长" * limits.NAME
    new_id = new_round(name)()
    with engine.connect() as conn:
        assert rounds.get_round(conn, admin, new_id).name == name


def test_long_text_and_wrong_types_in_findings(world):
    engine, actors, _ = world
    admin = actors["tester"]

    def report(description):
        new = NewFinding(source=FindingSource.hotline, description=description, point_code="P004", unit="县城市管理局")
        return lambda: findings.create_finding(engine, admin, new)

    refused(engine, findings.FindingError, report(HUGE), "问题描述", "过长", f"最多 {limits.DESCRIPTION} 个字")
    refused(engine, findings.FindingError, report(None), "问题描述不能为空")
    refused(engine, findings.FindingError, report(404), "问题描述", "应为文字")
    refused(engine, findings.FindingError, report("   "), "问题描述不能为空")
    description = ("市民反映：<script>x</script>\n" + "路灯不亮" * 2000)[: limits.DESCRIPTION]
    code = report(description)()
    with engine.connect() as conn:
        assert findings.get_finding(conn, admin, code).description == description.strip()

    def act(reason):
        return lambda: findings.transition(engine, admin, code, FindingAction.void, reason=reason)

    refused(engine, findings.FindingError, act(HUGE), "原因", "过长", f"最多 {limits.REASON} 个字")
    refused(engine, findings.FindingError, act(["不是", "文字"]), "原因", "应为文字")
    reason = "重复登记 " + "说" * (limits.REASON - 5)
    act(reason)()
    with engine.connect() as conn:
        assert findings.history(conn, admin, code)[-1]["reason"] == reason


def test_long_text_in_units_points_and_users(engine):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, seed.UNITS)
        repo.save_index(conn, seed.index())
    # the forms' checks name the field …
    with pytest.raises(editing.EditError) as e:
        editing.validate_unit({"code": "D99", "name": HUGE, "contact": "张" * 101})
    text = chinese(e)
    assert "「单位名称」过长：最多 200 个字，现有 100000 个字" in text and "「联系人」过长" in text
    with pytest.raises(editing.EditError) as e:
        editing.validate_point({"code": "P" * 65, "name": "新点位", "point_type": "农贸市场", "address": HUGE})
    text = chinese(e)
    assert "「点位编号」过长：最多 64 个字" in text and "「地址」过长：最多 300 个字" in text
    # … and the store refuses what reaches it anyway, the same on SQLite and PostgreSQL
    refused(
        engine, repo.StoreError, lambda: registers.save_unit(engine, ADMIN, Unit(code="D99", name=HUGE)), "单位名称"
    )
    point = Point(code="P99", name="新点位", point_type="农贸市场", address=HUGE)
    refused(engine, repo.StoreError, lambda: registers.save_point(engine, ADMIN, point), "点位地址", "最多 300 个字")
    index = seed.index()
    index.categories[0].items[0].standards[0].deadline_days = 2**40  # PostgreSQL INTEGER would overflow
    index.name = "另一体系"

    def save_index():
        with audit.writing(engine, ADMIN) as conn:
            repo.save_index(conn, index)

    refused(engine, limits.OutOfBounds, save_index, "整改天数", "数值过大")
    # the longest that fits is kept intact
    unit = Unit(code="D" * 64, name="局" * 200, contact="张" * 100, phone="1" * 50)
    registers.save_unit(engine, ADMIN, unit)
    point = Point(code="P" * 64, name="点" * 200, point_type="农贸市场", address="路" * 300, owner_leader="李" * 100)
    registers.save_point(engine, ADMIN, point)
    with engine.connect() as conn:
        assert next(u for u in repo.list_units(conn) if u.code == unit.code) == unit
        assert repo.get_point(conn, point.code) == point

    def user(**fields):
        new = auth.NewUser(
            **{"username": "wang", "display_name": "王五", "grants": (Grant(role=Role.leader),)} | fields
        )
        return lambda: auth.create_user(engine, ADMIN, new)

    refused(engine, auth.AccountError, user(display_name=HUGE), "姓名", "过长", "最多 100 个字")
    refused(engine, auth.AccountError, user(phone=13800000000), "手机", "应为文字")
    refused(engine, auth.AccountError, user(email="a@" + "b" * 300 + ".cn"), "邮箱", "过长")
    refused(engine, auth.AccountError, user(username=12345), "用户名应为文字")
    user(display_name="王" * 100)()
    with engine.connect() as conn:
        assert auth.get_user(conn, "wang").display_name == "王" * 100
    refused(engine, auth.AccountError, lambda: auth.update_user(engine, ADMIN, "wang", display_name="王" * 101), "姓名")


# --- nothing half-written ----------------------------------------------------------------------------------


def units_rows(n: int, bad_row: int, bad: list) -> list[list]:
    rows = [[f"D{i:03d}", f"县第{i}局", "部门", None, None, None, None] for i in range(1, n + 1)]
    rows[bad_row - 2] = bad
    return rows


def write_book(path: Path, sheet: str, header: list[str], rows: list[list]) -> Path:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def test_a_bad_row_anywhere_leaves_nothing_written(engine, tmp_path):
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, seed.UNITS)
        repo.save_index(conn, seed.index())
        repo.save_points(conn, seed.POINTS)
    header = [c.header for c in registers.UNIT_COLUMNS]
    for bad_row, bad in ((40, ["D999", "局" * 201, "部门"]), (60, ["D001", "重复编码局", "部门"])):
        path = write_book(tmp_path / f"单位{bad_row}.xlsx", "单位", header, units_rows(60, bad_row, bad))
        text = refused(engine, Exception, lambda p=path: registers.import_units(engine, ADMIN, p))
        assert f"单位{bad_row}.xlsx:单位:R{bad_row}:C" in text, text
    # the same through the upload page
    result = imports.apply_upload(engine, ADMIN, "units", "单位.xlsx", (tmp_path / "单位40.xlsx").read_bytes())
    assert result.lines == ["单位.xlsx:单位:R40:C2: 「单位名称」过长：最多 200 个字，现有 201 个字"]
    # users: the 30th of 30 rows is bad
    header = [c.header for c in users_workbook.USER_COLUMNS]
    rows = [[f"user{i}", f"用户{i}", "测评员"] for i in range(1, 30)] + [["user30", "用户30", "总指挥"]]
    path = write_book(tmp_path / "用户.xlsx", "用户", header, rows)
    refused(engine, Exception, lambda: users_workbook.import_users(engine, ADMIN, path), "R31", "总指挥")
    # a batch of points from the editing table whose last point does not fit: the first ones are not kept either
    points = [Point(code=f"N{i:02d}", name=f"新点位{i}", point_type="农贸市场") for i in range(20)]
    points.append(Point(code="N99", name="末尾点位", point_type="农贸市场", owner_leader="李" * 101))
    refused(engine, repo.StoreError, lambda: registers.save_points(engine, ADMIN, points), "责任领导")


# --- path tricks -------------------------------------------------------------------------------------------

TRICKS = [
    "../../etc/passwd.xlsx",
    "..\\..\\..\\windows\\x.xlsx",
    "/tmp/absolute/名录.xlsx",
    "C:\\Users\\office\\单位名录.xlsx",
    "a\x00b\x07c.xlsx",
    "\u202egnp.xlsx",
    "dir/sub/点位.xlsx",
    "x" * 1000 + ".xlsx",
    "名" * 300 + ".xlsx",
    "..",
    "",
    "/",
]


@pytest.mark.parametrize("name", TRICKS, ids=range(len(TRICKS)))
def test_uploaded_file_names_lose_their_directories(name):
    safe = imports.safe_name(name, imports.Kind.units)
    assert safe and "/" not in safe and "\\" not in safe and "\x00" not in safe
    assert safe not in (".", "..") and len(safe.encode()) <= 200 and "\u202e" not in safe
    shown = photos.display_name(name)
    assert "/" not in shown and "\\" not in shown and "\x00" not in shown and len(shown) <= 81
    for stem in (paper.safe_filename(name), download_name(name)):
        assert stem and "/" not in stem and "\\" not in stem and "\x00" not in stem and stem not in (".", "..")


def test_path_tricks_never_write_outside(engine, tmp_path, monkeypatch):
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")  # "../outside/…" from here is the directory below
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "store" / "photos"))
    outside = tmp_path / "outside"
    outside.mkdir()
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, seed.UNITS)
    data = write_book(tmp_path / "u.xlsx", "单位", ["单位编码", "单位名称"], [["D77", "县新局"]]).read_bytes()
    names = [str(outside / "x.xlsx"), "../outside/y.xlsx", "..\\outside\\z.xlsx", "../../outside/w.xlsx"]
    for name in names:
        checked = imports.check_upload(engine, ADMIN, "units", name, data)
        assert checked.ok and "/" not in checked.filename and "\\" not in checked.filename, checked
        assert imports.apply_upload(engine, ADMIN, "units", name, data).ok
    bad = write_book(tmp_path / "bad.xlsx", "单位", ["单位编码", "单位名称"], [["D78", ""]]).read_bytes()
    result = imports.check_upload(engine, ADMIN, "units", "../../../../etc/单位.xlsx", bad)
    assert result.lines == ["单位.xlsx:单位:R2:C2: 单位名称不能为空"]
    # photos: stored by content hash under the store's directory, the name only in messages
    prepared = photos.prepare(jpeg(), "../../outside/evil.jpg")
    assert prepared.filename == "evil.jpg"
    with audit.writing(engine, ADMIN) as conn:
        photo_id = photos.FileStore(tmp_path / "store" / "photos").put(conn, prepared, uploaded_by="test")
    assert photo_id
    stored = [p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p.is_file()]
    assert not list(outside.iterdir()), "a file was written outside the store"
    photo = [p for p in stored if p.suffix == ".jpg"]
    assert len(photo) == 1 and re.fullmatch(
        r"store/photos/[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{64}\.jpg", photo[0].as_posix()
    )
    with pytest.raises(photos.PhotoRefused) as e:
        photos.prepare(b"not a photo", "../../" + "长" * 500 + ".jpg")
    assert "../" not in str(e.value) and len(str(e.value)) < 200


# --- HTML and script shown as text --------------------------------------------------------------------------


def unsafe_html(at: AppTest) -> list[str]:
    """Elements whose HTML is rendered (st.html, markdown with unsafe_allow_html) and that hold raw tags."""
    found = []
    rendered = [e.proto.body for e in at.get("html")]
    rendered += [m.value for kind in ("markdown", "caption") for m in at.get(kind) if m.proto.allow_html]
    for body in rendered:
        if re.search(r"<\s*(script|img|iframe|svg|object)\b", body, re.I) and "alert(1)" in body:
            found.append(body)  # a raw tag of the payload: the browser would run it
    return found


def shown_as_text(at: AppTest) -> bool:
    """Whether the payload is on the page: as markdown text (rendered as text), escaped HTML, or in a table."""
    texts = [m.value for kind in ("markdown", "caption") for m in at.get(kind) if not m.proto.allow_html]
    texts += [e.proto.body for e in at.get("html")]
    texts += [str(df.value.to_dict()) for df in at.dataframe]
    return any(XSS in x or "&lt;script&gt;alert(1)&lt;/script&gt;" in x for x in texts)


@pytest.fixture
def xss_world(tmp_path, monkeypatch):
    """The seeded city, a round whose P004 failed with a script in its note (so a finding with it in its
    description), and a hand-reported finding whose unit submitted measures with a script in them."""
    url = seed.seeded_url(tmp_path / "civeval.db")
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.setenv("CIVEVAL_PHOTO_DIR", str(tmp_path / "photos"))
    monkeypatch.setenv("CIVEVAL_LOG_FILE", str(tmp_path / "civeval.log"))
    st.cache_resource.clear()
    engine = open_engine(url)
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "liai")}
    today = audit.today()
    rid = rounds.create_round(
        engine,
        actors["tester"],
        name=f"测评<b>{XSS}</b>",
        kind=RoundKind.mock,
        index_id=seed.index_id(engine),
        start=today,
        end=today + dt.timedelta(days=3),
    )
    plan = rounds.confirm_draw(engine, actors["tester"], rid, PLAN)
    assert "P004" in {p.code for p in plan.points}
    rounds.assign(engine, actors["tester"], rid, ["insp"])
    rounds.set_status(engine, actors["tester"], rid, RoundStatus.in_progress)
    insp = actors["insp"]
    rounds.save_answer(engine, insp, rid, "P004", "III-1-2", Answer(result=Result.failed, note=XSS))
    rounds.add_photo(engine, insp, rid, "P004", "III-1-2", jpeg(), "现场.jpg")
    rounds.submit_point(engine, insp, rid, "P004")
    hand = findings.create_finding(
        engine,
        actors["tester"],
        NewFinding(source=FindingSource.hotline, description=XSS, point_code="P006", unit="县城市管理局"),
    )
    findings.transition(engine, actors["liai"], hand, FindingAction.submit, reason=XSS, photos_data=[(jpeg(), "a.jpg")])
    yield url, engine, hand
    engine.dispose()
    st.cache_resource.clear()
    logs.reset()


def page_as(url: str, user: str, page: str) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=60)
    at.session_state[session.TOKEN_KEY] = seed.session_token(url, user)
    at.run()
    at.switch_page(f"{PAGES}{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def test_html_and_script_in_notes_and_descriptions_are_shown_as_text(xss_world):
    url, engine, _ = xss_world
    at = page_as(url, "tester", "findings_list")
    at.multiselect(key="fl_status").set_value([]).run()
    assert not unsafe_html(at), unsafe_html(at)
    with engine.connect() as conn:
        codes = [f.code for f in findings.list_findings(conn, ADMIN)]
    for code in codes:  # each finding's details
        at.selectbox(key="fl_pick").select(code).run()
        assert not at.exception and not unsafe_html(at), unsafe_html(at)
        assert shown_as_text(at)
    at = page_as(url, "insp", "reinspection")
    assert shown_as_text(at) and not unsafe_html(at), unsafe_html(at)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in e.proto.body for e in at.get("html"))  # the measures
    at = page_as(url, "liai", "my_findings")
    assert shown_as_text(at) and not unsafe_html(at), unsafe_html(at)
    for page in ("round_scores", "dashboard", "supervision", "home", "audit_log"):
        at = page_as(url, "tester", page)
        assert not unsafe_html(at), (page, unsafe_html(at))
    at = page_as(url, "tester", "supervision")
    at.selectbox(key="notice_unit").select("县城市管理局").run()
    at.button(key="notice_build").click().run()
    assert not at.exception and not unsafe_html(at)
    assert any("县城市管理局：未销号问题" in s.value for s in at.success)


def test_no_script_runs_in_the_browser(xss_world, chromium_path):
    url, _, _ = xss_world
    dialogs: list[str] = []
    with e2e.streamlit_server(url) as base, e2e.browser_page(chromium_path) as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        e2e.login(page, base, "insp", seed.PASSWORD)
        e2e.open_page(page, base, "reinspection")
        page.get_by_text("alert(1)</script>", exact=False).first.wait_for()
        body = page.inner_text('[data-testid="stMain"]')
        assert XSS in body  # the measures, literally (st.html, escaped)
        page.wait_for_timeout(500)
        e2e.screenshot(page, "bad-input-script-as-text", full_page=False)
    assert dialogs == [], dialogs


# --- logs ----------------------------------------------------------------------------------------------------


@pytest.fixture
def log_file(tmp_path, monkeypatch):
    path = tmp_path / "logs" / "civeval.log"
    monkeypatch.setenv("CIVEVAL_LOG_FILE", str(path))
    monkeypatch.setenv("CIVEVAL_LOG_LEVEL", "INFO")
    logs.configure()
    yield path
    logs.reset()


def lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def test_the_log_is_json_lines_with_who_what_and_outcome(log_file, engine, tmp_path):
    logs.event("backup", user="office", action="备份", detail="到 备份.zip")
    try:
        raise ValueError("磁盘已满")
    except ValueError as e:
        error_id = logs.failure(e, user=ADMIN, action="保存")
    logging.getLogger("civeval.photos").warning("a plain warning from the library")
    logging.getLogger("civeval.x").debug("below the level: not written")
    first, second, third = lines(log_file)
    assert set(first) == {"time", "level", "event", "logger", "user", "action", "outcome", "detail"}
    assert first["event"] == "backup" and first["user"] == "office" and first["outcome"] == "ok"
    assert first["action"] == "备份" and first["detail"] == "到 备份.zip"  # Chinese kept as is
    assert dt.datetime.fromisoformat(first["time"]).tzinfo is not None and first["level"] == "INFO"
    assert re.fullmatch(r"[2-9A-HJ-NP-Z]{8}", error_id)
    assert second["level"] == "ERROR" and second["error_id"] == error_id and second["user"] == ADMIN.username
    assert second["outcome"] == "error" and "Traceback" in second["exception"] and "磁盘已满" in second["exception"]
    assert third["level"] == "WARNING" and third["detail"] == "a plain warning from the library"
    assert "\n" not in log_file.read_text(encoding="utf-8").rstrip("\n").split("\n")[1]  # one line per entry

    # what the library logs: log-ins, imports, answers, transitions — never a password
    seed.add_users(engine, {"wang": (Role.admin, None)})
    with pytest.raises(auth.LoginError):
        auth.authenticate(engine, "wang", "wrong-password-1")
    wang = auth.authenticate(engine, "wang", seed.PASSWORD)
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(conn, seed.UNITS)
    bad = write_book(tmp_path / "b.xlsx", "单位", ["单位编码", "单位名称"], [["D1", ""]]).read_bytes()
    imports.apply_upload(engine, wang, "units", "b.xlsx", bad)
    code = findings.create_finding(
        engine,
        wang,
        NewFinding(source=FindingSource.hotline, description="路灯不亮", point_code=None, unit="县城市管理局"),
    )
    findings.transition(engine, wang, code, FindingAction.void, reason="重复")
    got = [(e["event"], e.get("user"), e["outcome"]) for e in lines(log_file)[3:]]
    assert got == [
        ("login", "wang", "refused"),
        ("login", "wang", "ok"),
        ("import", "wang", "refused"),
        ("finding_transition", "wang", "ok"),
    ]
    assert "wrong-password" not in log_file.read_text(encoding="utf-8")
    assert "b.xlsx:单位:R2:C2: 单位名称不能为空" in lines(log_file)[5]["detail"]


def test_an_unexpected_error_in_a_page_shows_an_id_and_logs_the_traceback(tmp_path, monkeypatch):
    url = seed.seeded_url(tmp_path / "civeval.db")
    log = tmp_path / "civeval.log"
    monkeypatch.setenv("CIVEVAL_DATABASE_URL", url)
    monkeypatch.setenv("CIVEVAL_LOG_FILE", str(log))
    st.cache_resource.clear()

    def broken(*args, **kwargs):
        raise RuntimeError("the disk went away")

    monkeypatch.setattr(repo, "count_rows", broken)  # the home page counts what the database holds
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.session_state[session.TOKEN_KEY] = seed.session_token(url, "tester")
        at.run()
        assert not at.exception, [e.value for e in at.exception]  # no Streamlit exception block, no traceback
        message = at.error[0].value
        assert message.startswith("出错了：打开“首页”页面时发生意外错误") and "详情已记入日志" in message
        assert "RuntimeError" not in message and "disk" not in message and "Traceback" not in message
        error_id = re.search(r"编号 ([2-9A-Z]{8})", message).group(1)
        entry = next(e for e in lines(log) if e.get("error_id") == error_id)
        assert entry["user"] == "tester" and entry["action"] == "打开“首页”页面" and entry["level"] == "ERROR"
        assert "Traceback" in entry["exception"] and "the disk went away" in entry["exception"]
        assert "count_rows" in entry["exception"] or "broken" in entry["exception"]
    finally:
        st.cache_resource.clear()
        logs.reset()


def test_refusals_are_shown_by_their_own_message():
    assert common.is_refusal(PermissionDenied("测试管理员无权查看"))
    assert common.is_refusal(repo.StoreError("该测评体系已不存在"))
    assert not common.is_refusal(RuntimeError("数据库连接中断"))  # not civeval's own: unexpected
    assert not common.is_refusal(repo.StoreError("no such table"))  # civeval's, but not meant for users
    assert common.unexpected_message("ABCD2345", "保存").endswith("（编号 ABCD2345，详情已记入日志）")


def test_the_system_actor_is_logged_by_name(log_file):
    logs.event("demo", user=Actor.system("演示"), action="装入演示数据")
    assert lines(log_file)[0]["user"] == "system:演示"


def test_what_a_page_logs_reaches_the_file(log_file):
    """Streamlit runs page files as __main__: their logging.getLogger(__name__) writes to the same file."""
    try:
        raise OSError("网络中断")
    except OSError:
        logging.getLogger("__main__").exception("saving a materials answer")
    [entry] = lines(log_file)
    assert entry["logger"] == "__main__" and entry["level"] == "ERROR"
    assert entry["detail"] == "saving a materials answer" and "网络中断" in entry["exception"]
