"""Materials documents (材料审核 / 网上申报): the task breakdown, uploads checked by their bytes, reviews, statuses and
summaries, the Excel export, scope, and the stores (files beside SQLite, the database on PostgreSQL).

The store tests run on SQLite and PostgreSQL through the ``engine`` fixture. Every file is made here: a one-page PDF,
PNG/JPEG with Pillow, OOXML as zip files (an .xlsx by xlsxwriter), an OLE compound file by hand.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import struct
import zipfile

import openpyxl
import pytest
import sqlalchemy as sa
import xlsxwriter
from PIL import Image

from civeval import audit, cli, materials
from civeval.materials import (
    ConflictError,
    DocumentRefused,
    MaterialsError,
    MaterialStatus,
    RequirementEdit,
    Review,
)
from civeval.models import (
    Actor,
    Category,
    EvaluationIndex,
    Grant,
    Item,
    Method,
    PointType,
    Role,
    Standard,
)
from civeval.permissions import PermissionDenied
from civeval.store import repo
from civeval.store import schema as t
from tests import seed
from tests.conftest import ADMIN

OFFICE = ADMIN
WMB = Actor(
    user_id=None, username="wmb", display_name="文明办联络员", grants=(Grant(role=Role.liaison, scope="县文明办"),)
)
CGJ = Actor(
    user_id=None, username="cgj", display_name="城管联络员", grants=(Grant(role=Role.liaison, scope="县城市管理局"),)
)
INSPECTOR = Actor(user_id=None, username="insp", grants=(Grant(role=Role.inspector),))
LEADER = Actor(user_id=None, username="boss", grants=(Grant(role=Role.leader),))
STREET = Actor(user_id=None, username="coord", grants=(Grant(role=Role.coordinator, scope="城关街道"),))


# --- files -----------------------------------------------------------------------------------------------------------


def pdf(text: str = "plan") -> bytes:
    return materials.demo_pdf(text)


def png(colour=(200, 30, 30), size=(60, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, colour).save(buf, "PNG")
    return buf.getvalue()


def jpeg(size=(60, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, (20, 90, 200)).save(buf, "JPEG")
    return buf.getvalue()


def ooxml(part: str = "word/document.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", '<?xml version="1.0"?><Types/>')
        z.writestr("_rels/.rels", '<?xml version="1.0"?><Relationships/>')
        z.writestr(part, '<?xml version="1.0"?><document/>')
    return buf.getvalue()


def xlsx_file() -> bytes:
    buf = io.BytesIO()
    wb = xlsxwriter.Workbook(buf, {"in_memory": True})
    wb.add_worksheet("台账").write(0, 0, "诚信宣传活动")
    wb.close()
    return buf.getvalue()


def ole(stream: str = "WordDocument") -> bytes:
    """A minimal OLE compound file (512-byte sectors): header, one FAT sector, one directory sector holding the
    root entry and one stream named ``stream``."""
    end, free, fat_sect = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD
    header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(16)
    header += struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + bytes(6)
    header += struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, end, 0, end, 0)
    header += struct.pack("<109I", 0, *([free] * 108))
    fat = struct.pack("<128I", fat_sect, end, *([free] * 126))

    def entry(name: str, kind: int) -> bytes:
        raw = name.encode("utf-16-le") + b"\x00\x00"
        e = raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1)
        e += struct.pack("<III", free, free, 1 if kind == 5 else free)
        return e.ljust(116, b"\x00") + struct.pack("<IQ", end, 0)

    directory = entry("Root Entry", 5) + entry(stream, 2) + bytes(256)
    return header + fat + directory


# --- the database -----------------------------------------------------------------------------------------------------


def materials_index() -> EvaluationIndex:
    """M-1 (materials) lead 县文明办, supporting 县城市管理局 and 环境整治组; M-2 (field and materials) lead 县教育局,
    supporting 县文明办; F-1 field only and S-1 survey only (no requirements)."""
    return EvaluationIndex(
        name="材料测试体系",
        version="1",
        year=2026,
        point_types=[PointType(code="PT04", name="学校周边")],
        categories=[
            Category(
                code="I-9",
                name="诚信建设",
                items=[
                    Item(
                        code="III-9",
                        name="诚信档案",
                        standards=[
                            Standard(
                                code="M-1",
                                text="建立诚信档案",
                                methods=[Method.materials],
                                full_marks=2,
                                lead_unit="县文明办",
                                supporting_units=["县城市管理局", "环境整治组"],
                                instructions="查看近一年的档案",
                            ),
                            Standard(
                                code="F-1",
                                text="校园周边整洁",
                                methods=[Method.field],
                                full_marks=1,
                                point_types=["学校周边"],
                                lead_unit="县教育局",
                            ),
                            Standard(
                                code="M-2",
                                text="开展诚信教育进校园",
                                methods=[Method.field, Method.materials],
                                full_marks=1,
                                point_types=["学校周边"],
                                lead_unit="县教育局",
                                supporting_units=["县文明办"],
                            ),
                            Standard(
                                code="S-1",
                                text="群众知晓率",
                                methods=[Method.survey],
                                full_marks=1,
                                lead_unit="县文明办",
                            ),
                        ],
                    )
                ],
            )
        ],
    )


@pytest.fixture(autouse=True)
def _environment(monkeypatch):
    for name in ("CIVEVAL_PHOTO_STORAGE", "CIVEVAL_DOCUMENT_DIR", "CIVEVAL_MAX_DOCUMENT_MB"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def world(engine):
    """The seed's units and index, and the materials index; returns (engine, seed index id, materials index id)."""
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, seed.UNITS)
        seeded = repo.save_index(conn, seed.index())
        mine = repo.save_index(conn, materials_index())
    return engine, seeded, mine


def requirement(engine, index_id: int, code: str, unit: str) -> materials.Requirement:
    with engine.connect() as conn:
        return next(
            r for r in materials.task_breakdown(conn, OFFICE, index_id) if (r.standard_code, r.unit) == (code, unit)
        )


def counts(engine) -> tuple[int, int, int, int]:
    with engine.connect() as conn:
        return tuple(
            conn.scalar(sa.select(sa.func.count()).select_from(table))
            for table in (t.documents, t.material_submissions, t.audit_log, t.material_requirements)
        )


# --- the task breakdown -----------------------------------------------------------------------------------------------


def test_breakdown_of_the_seeded_index_gives_iii_4_1_to_the_civilisation_office(world):
    engine, seeded, _ = world
    assert materials.refresh_breakdown(engine, OFFICE, seeded, due_date=dt.date(2026, 12, 31)) == 1
    with engine.connect() as conn:
        [r] = materials.task_breakdown(conn, OFFICE, seeded)
    assert (r.standard_code, r.unit, r.role, r.role_label) == ("III-4-1", "县文明办", "lead", "牵头")
    assert (r.status, r.due_date, r.version, r.submissions) == (MaterialStatus.missing, dt.date(2026, 12, 31), 1, 0)
    assert "开展诚信主题宣传活动，有方案、有记录" in r.documents  # the default is written from the standard
    assert (r.category, r.item, r.full_marks) == ("诚信建设", "诚信宣传", 1.5)


def test_breakdown_has_lead_and_supporting_units_and_a_refresh_keeps_what_the_office_wrote(world):
    engine, _, index_id = world
    assert materials.refresh_breakdown(engine, OFFICE, index_id) == 5
    with engine.connect() as conn:
        rows = materials.task_breakdown(conn, OFFICE, index_id)
    assert [(r.standard_code, r.unit, r.role) for r in rows] == [
        ("M-1", "县文明办", "lead"),
        ("M-1", "县城市管理局", "support"),
        ("M-1", "环境整治组", "support"),
        ("M-2", "县教育局", "lead"),
        ("M-2", "县文明办", "support"),
    ]
    assert "查看近一年的档案" in rows[0].documents and "配合" in rows[1].documents
    edit = RequirementEdit(rows[0].id, "诚信档案目录及2026年档案扫描件", dt.date(2027, 1, 15), rows[0].version)
    assert materials.update_requirements(engine, OFFICE, [edit]) == 1
    assert materials.refresh_breakdown(engine, OFFICE, index_id, due_date=dt.date(2030, 1, 1)) == 0
    r = requirement(engine, index_id, "M-1", "县文明办")
    assert (r.documents, r.due_date, r.version) == ("诚信档案目录及2026年档案扫描件", dt.date(2027, 1, 15), 2)
    with engine.connect() as conn:
        assert [q.unit for q in materials.task_breakdown(conn, OFFICE, index_id, unit="县文明办")] == ["县文明办"] * 2


def test_editing_requirements_is_checked_and_all_or_nothing(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    a, b = requirement(engine, index_id, "M-1", "县文明办"), requirement(engine, index_id, "M-2", "县教育局")
    with pytest.raises(ConflictError, match="已被他人修改"):
        materials.update_requirements(
            engine, OFFICE, [RequirementEdit(a.id, "新要求", None, a.version), RequirementEdit(b.id, "x", None, 99)]
        )
    with pytest.raises(MaterialsError, match="须写明需提供的材料"):
        materials.update_requirements(engine, OFFICE, [RequirementEdit(a.id, "  ", None, a.version)])
    with pytest.raises(PermissionDenied, match="无权"):
        materials.update_requirements(engine, WMB, [RequirementEdit(a.id, "新要求", None, a.version)])
    assert requirement(engine, index_id, "M-1", "县文明办") == a  # nothing changed
    with pytest.raises(PermissionDenied, match="无权"):
        materials.refresh_breakdown(engine, WMB, index_id)


# --- uploads ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "name", "content_type", "stored_name"),
    [
        (pdf(), "诚信宣传方案.pdf", "application/pdf", "诚信宣传方案.pdf"),
        (png(), "活动照片.PNG", "image/png", "活动照片.png"),
        (jpeg(), "现场.jpeg", "image/jpeg", "现场.jpeg"),
        (ooxml(), "工作总结.docx", materials.KINDS["docx"].content_type, "工作总结.docx"),
        (xlsx_file(), "台账.xlsx", materials.KINDS["xlsx"].content_type, "台账.xlsx"),
        (ooxml("ppt/presentation.xml"), "汇报.pptx", materials.KINDS["pptx"].content_type, "汇报.pptx"),
        (ole("WordDocument"), "旧方案.doc", "application/msword", "旧方案.doc"),
        (ole("WordDocument"), "金山文档.wps", "application/msword", "金山文档.wps"),
        (ole("Workbook"), "旧台账.xls", "application/vnd.ms-excel", "旧台账.xls"),
        (ole("PowerPoint Document"), "旧汇报.ppt", "application/vnd.ms-powerpoint", "旧汇报.ppt"),
        (ooxml("OFD.xml"), "公文.ofd", "application/ofd", "公文.ofd"),
        (pdf(), "没有扩展名", "application/pdf", "没有扩展名.pdf"),
    ],
)
def test_accepted_formats_are_recognised_by_their_bytes(data, name, content_type, stored_name):
    prepared = materials.prepare_document(data, name)
    assert (prepared.content_type, prepared.filename, prepared.size_bytes) == (content_type, stored_name, len(data))
    assert prepared.sha256 == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize(
    ("data", "name", "message"),
    [
        (b"just some text, not a PDF", "假文件.pdf", "格式不能上传"),
        (png(), "伪装.pdf", "内容不是“PDF 文件”（实际是“PNG 图片”）"),
        (pdf(), "方案.docx", "内容不是“Word 文档”（实际是“PDF 文件”）"),
        (pdf(), "方案.txt", "扩展名“.txt”与内容（PDF 文件）不符"),
        (png()[:40], "坏图.png", "已损坏"),
        (b"", "空.pdf", "空文件"),
        (b"MZ\x90\x00" + bytes(100), "程序.exe", "格式不能上传"),
        (ooxml("data/readme.txt"), "打包.zip", "是压缩包"),
        (b"PK\x03\x04broken", "坏.docx", "压缩包或已损坏"),
        (ole("EncryptedPackage"), "加密.docx", "打开密码"),
        (ole("Something"), "未知.doc", "无法识别的 Office 文件"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(100), "截断.doc", "已损坏"),
    ],
)
def test_refused_uploads_say_why(data, name, message):
    with pytest.raises(DocumentRefused, match=message.replace("(", r"\(").replace(")", r"\)")):
        materials.prepare_document(data, name)


def test_the_size_limit_comes_from_the_environment(monkeypatch):
    assert materials.max_document_bytes() == 20 * 1024 * 1024
    big = pdf() + b"%" * 2048
    monkeypatch.setenv("CIVEVAL_MAX_DOCUMENT_MB", "0.002")  # about 2 KB
    with pytest.raises(DocumentRefused, match=r"超过 2 KB（3 KB）"):
        materials.prepare_document(big, "大文件.pdf")
    assert materials.prepare_document(pdf(), "小文件.pdf").filename == "小文件.pdf"
    monkeypatch.setenv("CIVEVAL_MAX_DOCUMENT_MB", "lots")
    assert materials.max_document_bytes() == 20 * 1024 * 1024
    assert "20 MB" in materials.limits_text()


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("../../x.pdf", "x.pdf"),
        ("..\\..\\windows\\x.pdf", "x.pdf"),
        ("C:\\fakepath\\报告.pdf", "报告.pdf"),
        ("/etc/passwd", "passwd"),
        ("a\x00b\x1b[31mc\u202egnp.pdf", "ab[31mcgnp.pdf"),
        ('what?<is>:"this"|*.pdf', "what__is___this___.pdf"),
        ("  .hidden.pdf. ", "hidden.pdf"),
        ("CON.pdf", "_CON.pdf"),
        ("..", "未命名文件"),
        ("", "未命名文件"),
        ("x" * 300 + ".PDF", "x" * 116 + ".pdf"),
        ("第一\n第二.pdf", "第一 第二.pdf"),
    ],
)
def test_file_names_are_sanitised(given, kept):
    assert materials.clean_file_name(given) == kept
    assert len(materials.clean_file_name(given)) <= materials.FILE_NAME_MAX


def test_a_unit_uploads_and_the_bytes_come_back_from_the_default_store(world, tmp_path):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    req = requirement(engine, index_id, "M-1", "县文明办")
    data = pdf("integrity files")
    sid = materials.submit_document(engine, WMB, req.id, data, "../../诚信档案.pdf", note=" 第一批 ")
    with engine.connect() as conn:
        sub = materials.get_submission(conn, WMB, sid)
        assert materials.document_bytes(conn, WMB, sid) == data
        assert materials.document_bytes(conn, OFFICE, sid) == data
        row = conn.execute(sa.select(t.documents).where(t.documents.c.id == sub.document_id)).one()
        logged = conn.execute(sa.select(t.audit_log.c.after).where(t.audit_log.c.table_name == "documents")).scalar()
    assert (sub.file_name, sub.note, sub.submitted_by, sub.review) == ("诚信档案.pdf", "第一批", "wmb", Review.pending)
    assert (sub.unit, sub.standard_code, sub.content_type, sub.size_bytes) == (
        "县文明办",
        "M-1",
        "application/pdf",
        len(data),
    )
    assert row.sha256 == hashlib.sha256(data).hexdigest() and row.uploaded_by == "wmb"
    assert logged["data"] in (None, f"<{len(data)} bytes>")  # the log never carries the document
    path = tmp_path / "documents" / row.sha256[:2] / row.sha256[2:4] / f"{row.sha256}.bin"
    if engine.dialect.name == "postgresql":
        assert (row.storage, bytes(row.data)) == ("db", data) and not path.exists()
    else:
        assert (row.storage, row.data) == ("file", None) and path.read_bytes() == data
        assert materials.document_store(engine).root == tmp_path / "documents"
    assert requirement(engine, index_id, "M-1", "县文明办").status is MaterialStatus.submitted


def test_the_same_file_is_stored_once_and_not_submitted_twice_for_one_requirement(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    a, b = requirement(engine, index_id, "M-1", "县文明办"), requirement(engine, index_id, "M-2", "县文明办")
    data = png()
    materials.submit_document(engine, WMB, a.id, data, "照片.png")
    materials.submit_document(engine, WMB, b.id, data, "同一张照片.png")  # another requirement: fine
    before = counts(engine)
    with pytest.raises(DocumentRefused, match=r"与已提交的“照片\.png”内容相同"):
        materials.submit_document(engine, WMB, a.id, data, "再传一次.png")
    assert counts(engine) == before
    assert before[:2] == (1, 2)  # one document, two submissions


def test_scope_a_liaison_uploads_and_sees_only_their_own_unit(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    ours, theirs = (
        requirement(engine, index_id, "M-1", "县文明办"),
        requirement(engine, index_id, "M-1", "县城市管理局"),
    )
    sid = materials.submit_document(engine, WMB, ours.id, pdf(), "方案.pdf")
    before = counts(engine)
    for actor in (CGJ, INSPECTOR, LEADER, STREET):
        with pytest.raises(PermissionDenied, match="无权"):
            materials.submit_document(engine, actor, ours.id, pdf("other"), "别人的.pdf")
    with pytest.raises(PermissionDenied, match="无权"):
        materials.submit_document(engine, WMB, theirs.id, pdf("x"), "越权.pdf")
    assert counts(engine) == before
    with engine.connect() as conn:
        assert {r.unit for r in materials.task_breakdown(conn, CGJ, index_id)} == {"县城市管理局"}
        assert materials.submissions(conn, CGJ, index_id) == []
        with pytest.raises(PermissionDenied):
            materials.task_breakdown(conn, CGJ, index_id, unit="县文明办")
        with pytest.raises(PermissionDenied):
            materials.document_bytes(conn, CGJ, sid)
        with pytest.raises(PermissionDenied):
            materials.get_requirement(conn, CGJ, ours.id)
        with pytest.raises(PermissionDenied):
            materials.task_breakdown(conn, LEADER, index_id)
        with pytest.raises(PermissionDenied):
            materials.review_queue(conn, WMB, index_id)
    with pytest.raises(PermissionDenied, match="无权"):
        materials.review(engine, WMB, sid, Review.accepted)
    assert materials.submit_document(engine, OFFICE, theirs.id, pdf("for them"), "代传.pdf")  # the office may


def test_unknown_requirement_and_long_note_are_refused(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    req = requirement(engine, index_id, "M-1", "县文明办")
    before = counts(engine)
    with pytest.raises(MaterialsError, match="不存在"):
        materials.submit_document(engine, WMB, 9999, pdf(), "a.pdf")
    with pytest.raises(MaterialsError, match="说明不能超过"):
        materials.submit_document(engine, WMB, req.id, pdf(), "a.pdf", note="长" * 1001)
    with pytest.raises(DocumentRefused):
        materials.submit_document(engine, WMB, req.id, b"not a pdf", "a.pdf")
    assert counts(engine) == before
    assert not (engine.dialect.name == "sqlite" and any(materials.document_dir(engine).rglob("*.bin")))


# --- reviews and statuses ---------------------------------------------------------------------------------------------


def test_reviews_need_a_comment_unless_accepted_and_refuse_a_stale_version(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    req = requirement(engine, index_id, "M-1", "县文明办")
    sid = materials.submit_document(engine, WMB, req.id, pdf(), "方案.pdf")
    before = counts(engine)
    for decision in (Review.more, Review.rejected, "more"):
        with pytest.raises(MaterialsError, match="须填写审核意见"):
            materials.review(engine, OFFICE, sid, decision, "  ", expected_version=1)
    with pytest.raises(MaterialsError, match="通过、需补充或不通过"):
        materials.review(engine, OFFICE, sid, Review.pending, "x")
    with pytest.raises(MaterialsError, match="不存在"):
        materials.review(engine, OFFICE, 9999, Review.accepted)
    assert counts(engine) == before
    assert materials.review(engine, OFFICE, sid, Review.more, "缺少活动记录", expected_version=1) == 2
    with pytest.raises(ConflictError, match="已被他人审核"):
        materials.review(engine, OFFICE, sid, Review.accepted, "", expected_version=1)
    with engine.connect() as conn:
        sub = materials.get_submission(conn, OFFICE, sid)
    assert (sub.review, sub.review_comment, sub.reviewed_by, sub.version) == (
        Review.more,
        "缺少活动记录",
        OFFICE.username,
        2,
    )
    assert materials.review(engine, OFFICE, sid, "accepted", expected_version=2) == 3  # the office changes its mind
    assert requirement(engine, index_id, "M-1", "县文明办").status is MaterialStatus.accepted


def test_the_status_follows_the_latest_upload(world):
    engine, _, index_id = world
    materials.refresh_breakdown(engine, OFFICE, index_id)
    rid = requirement(engine, index_id, "M-1", "县文明办").id

    def status() -> MaterialStatus:
        with engine.connect() as conn:
            return materials.get_requirement(conn, WMB, rid).status

    assert status() is MaterialStatus.missing
    with audit.clock_at(dt.datetime(2026, 11, 1, 9)):
        first = materials.submit_document(engine, WMB, rid, pdf("v1"), "方案.pdf")
    assert status() is MaterialStatus.submitted
    materials.review(engine, OFFICE, first, Review.more, "缺少签到表")
    assert status() is MaterialStatus.needs_more
    with audit.clock_at(dt.datetime(2026, 11, 2, 9)):
        second = materials.submit_document(engine, WMB, rid, png(), "签到表.png")
    assert status() is MaterialStatus.submitted  # a newer upload waits for review
    materials.review(engine, OFFICE, second, Review.accepted)
    assert status() is MaterialStatus.accepted
    materials.review(engine, OFFICE, first, Review.rejected, "旧版本作废")  # an older upload does not decide
    assert status() is MaterialStatus.accepted
    with engine.connect() as conn:
        r = materials.get_requirement(conn, WMB, rid)
        queue = materials.review_queue(conn, OFFICE, index_id)
    assert (r.submissions, r.pending, r.last_comment) == (2, 0, "旧版本作废")
    assert r.last_submitted_at == dt.datetime(2026, 11, 2, 9)
    assert queue == []
    with audit.clock_at(dt.datetime(2026, 11, 3, 9)):
        materials.submit_document(engine, WMB, rid, jpeg(), "补充.jpg")
    assert status() is MaterialStatus.submitted


def scenario(engine, index_id: int) -> dict[str, int]:
    """M-1: 县文明办 accepted, 县城市管理局 needs more, 环境整治组 missing; M-2: 县教育局 pending, 县文明办 rejected.
    Every due date yesterday."""
    yesterday = audit.today() - dt.timedelta(days=1)
    materials.refresh_breakdown(engine, OFFICE, index_id, due_date=yesterday)
    ids = {}
    for (code, unit), (data, name), decision, comment in [
        (("M-1", "县文明办"), (pdf(), "档案.pdf"), Review.accepted, ""),
        (("M-1", "县城市管理局"), (png(), "照片.png"), Review.more, "照片不清晰"),
        (("M-2", "县教育局"), (ooxml(), "总结.docx"), None, ""),
        (("M-2", "县文明办"), (xlsx_file(), "台账.xlsx"), Review.rejected, "与本标准无关"),
    ]:
        sid = materials.submit_document(engine, OFFICE, requirement(engine, index_id, code, unit).id, data, name)
        if decision is not None:
            materials.review(engine, OFFICE, sid, decision, comment)
        ids[f"{code} {unit}"] = sid
    return ids


def test_status_by_unit_and_by_standard(world):
    engine, _, index_id = world
    scenario(engine, index_id)
    with engine.connect() as conn:
        units = {s.key: s for s in materials.status_by_unit(conn, OFFICE, index_id)}
        standards = materials.status_by_standard(conn, OFFICE, index_id)
        mine = materials.status_by_unit(conn, WMB, index_id)

    def row(s):
        return (s.requirements, s.missing, s.submitted, s.accepted, s.needs_more, s.rejected, s.overdue)

    assert list(units) == sorted(units)
    assert row(units["县文明办"]) == (2, 0, 0, 1, 0, 1, 1) and units["县文明办"].completion_rate == 0.5
    assert row(units["县城市管理局"]) == (1, 0, 0, 0, 1, 0, 1) and units["县城市管理局"].completion_rate == 0
    assert row(units["县教育局"]) == (1, 0, 1, 0, 0, 0, 1)
    assert row(units["环境整治组"]) == (1, 1, 0, 0, 0, 0, 1)
    assert [(s.key, s.label) for s in standards] == [("M-1", "建立诚信档案"), ("M-2", "开展诚信教育进校园")]
    assert row(standards[0]) == (3, 1, 0, 1, 1, 0, 2) and standards[0].completion_rate == pytest.approx(1 / 3)
    assert row(standards[1]) == (2, 0, 1, 0, 0, 1, 2) and standards[1].completion_rate == 0
    assert [s.key for s in mine] == ["县文明办"]  # a liaison's summary is their own unit's
    assert materials.StatusSummary("x", "x").completion_rate is None


def test_documents_by_standard_for_the_scoring_page(world):
    engine, _, index_id = world
    scenario(engine, index_id)
    with engine.connect() as conn:
        docs = materials.documents_by_standard(conn, OFFICE, index_id)
        with pytest.raises(PermissionDenied):
            materials.documents_by_standard(conn, WMB, index_id)
    assert list(docs) == ["M-1", "M-2"]
    assert [(r.unit, r.status, [s.file_name for s in subs]) for r, subs in docs["M-2"]] == [
        ("县教育局", MaterialStatus.submitted, ["总结.docx"]),
        ("县文明办", MaterialStatus.rejected, ["台账.xlsx"]),
    ]


# --- Excel ------------------------------------------------------------------------------------------------------------


def test_the_task_breakdown_exports_to_excel(world, tmp_path):
    engine, _, index_id = world
    scenario(engine, index_id)
    out = tmp_path / "任务分解.xlsx"
    with engine.connect() as conn:
        assert materials.write_task_breakdown(conn, OFFICE, index_id, out, today=dt.date(2026, 11, 22)) == 5
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["任务分解总表", "县城市管理局", "县教育局", "县文明办", "环境整治组"]
    ws = wb["任务分解总表"]
    assert ws["A1"].value == "材料审核任务分解清单" and "材料测试体系（1）" in ws["A2"].value
    header = [c.value for c in ws[4]]
    assert header == [
        "序号", "责任单位", "标准编码", "测评项目", "测评内容", "测评标准", "分值", "责任", "需提供的材料", "完成时限",
        "状态", "审核意见",
    ]  # fmt: skip
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5)]
    assert [(r[1], r[2], r[7], r[10], r[11]) for r in rows] == [
        ("县文明办", "M-1", "牵头", "已通过", None),
        ("县城市管理局", "M-1", "配合", "需补充", "照片不清晰"),
        ("环境整治组", "M-1", "配合", "未提交", None),
        ("县教育局", "M-2", "牵头", "待审核", None),
        ("县文明办", "M-2", "配合", "未通过", "与本标准无关"),
    ]
    assert isinstance(rows[0][9], dt.datetime) and rows[0][6] == 2
    assert ws.freeze_panes == "A5" and ws.auto_filter.ref == "A4:L9"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == "$4:$4"
    assert ws.column_dimensions["I"].width > 30 and ws.cell(5, 9).alignment.wrap_text
    unit_sheet = wb["县文明办"]
    assert [c.value for c in unit_sheet[4]][:3] == ["序号", "标准编码", "测评项目"]
    assert [r[1].value for r in unit_sheet.iter_rows(min_row=5)] == ["M-1", "M-2"]

    one = tmp_path / "一个单位.xlsx"
    with engine.connect() as conn:
        assert materials.write_task_breakdown(conn, WMB, index_id, one, unit="县文明办") == 2
        with pytest.raises(PermissionDenied):
            materials.write_task_breakdown(conn, WMB, index_id, tmp_path / "x.xlsx", unit="县教育局")
    wb = openpyxl.load_workbook(one)
    assert wb.sheetnames == ["县文明办"] and wb["县文明办"]["A1"].value == "材料审核任务分解清单（县文明办）"
    assert materials.task_breakdown_bytes(engine, CGJ, index_id)[:2] == b"PK"


def test_cli_writes_the_breakdown(sqlite_url, tmp_path, capsys):
    from civeval.store import open_engine

    engine = open_engine(sqlite_url)
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, seed.UNITS)
        repo.save_index(conn, materials_index())
    out = tmp_path / "清单.xlsx"
    assert cli.main(["materials", "breakdown", "--out", str(out), "--db", sqlite_url, "--due", "2026-12-31"]) == 0
    assert "任务 5 项（本次新生成 5 项）" in capsys.readouterr().out
    assert openpyxl.load_workbook(out).sheetnames[0] == "任务分解总表"
    one = tmp_path / "文明办.xlsx"
    assert cli.main(["materials", "breakdown", "--out", str(one), "--unit", "县文明办", "--db", sqlite_url]) == 0
    assert capsys.readouterr().out.strip().endswith("县文明办，任务 2 项")
    assert cli.main(["materials", "breakdown", "--out", str(one), "--unit", "没有这个单位", "--db", sqlite_url]) == 1
    assert "不在单位名录中" in capsys.readouterr().err
