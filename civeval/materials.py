"""Materials review (材料审核 / 网上申报): the task breakdown and the documents units upload for it.

For every materials standard of an index (测评方式含“材料审核”), each responsible unit — the lead unit and every
supporting unit — gets one requirement (任务分解清单): what it must provide (by default written from the standard's
text and 操作提示, editable by the office) and by when. Units upload documents against their requirements; the
office reviews each upload as 通过 / 需补充 / 不通过 with a comment::

    materials.refresh_breakdown(engine, office, index_id, due_date=dt.date(2026, 12, 31))
    sid = materials.submit_document(engine, liaison, requirement_id, data, "诚信宣传方案.pdf", note="第一批")
    materials.review(engine, office, sid, Review.accepted, "材料齐全", expected_version=1)

Uploads are checked by their content, never by their name: PDF, JPEG/PNG, Word/Excel/PowerPoint (OOXML and the
older binary formats), WPS and OFD files are accepted; a file whose name says one format and whose bytes are another is
refused, and so is anything over ``CIVEVAL_MAX_DOCUMENT_MB`` (default 20) megabytes. The file name is kept only
sanitised (no directories, no control characters, at most 120 characters, its extension kept). The bytes are stored
once by SHA-256 like photos (``civeval.photos`` stores on the ``documents`` table: files in a ``documents`` folder
beside a SQLite database, or in the database for PostgreSQL; env ``CIVEVAL_PHOTO_STORAGE``, ``CIVEVAL_DOCUMENT_DIR``).

A requirement's status follows its latest upload: 未提交 (none) → 待审核 → 已通过 / 需补充 / 未通过; a newer upload
makes it 待审核 again. The completion rate of a unit or a standard is accepted requirements ÷ requirements.

Who: the office (``review_materials``) builds the breakdown, reviews, and sees everything; a unit liaison
(``submit_materials``, within their unit) sees and uploads for their own unit's requirements only.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import logging
import re
import struct
import unicodedata
import zipfile
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO

import sqlalchemy as sa
import xlsxwriter
from PIL import Image

from civeval import audit, photos, xlsx
from civeval.models import Actor, EvaluationIndex, LabelledEnum, Method, Standard, Unit, register_labels
from civeval.permissions import Action, PermissionDenied, allowed, reach, require
from civeval.registers import unit_subtree
from civeval.store import repo
from civeval.store import schema as t

log = logging.getLogger(__name__)

MAX_DOCUMENT_MB = 20  # overridden by env CIVEVAL_MAX_DOCUMENT_MB
FILE_NAME_MAX = 120
NOTE_MAX = 1000
COMMENT_MAX = 2000
DOCUMENTS_MAX = 4000


class MaterialsError(Exception):
    """A materials operation that cannot be done; the message is Chinese."""


class ConflictError(MaterialsError):
    """Someone else changed the row since it was read."""


class DocumentRefused(MaterialsError):
    """An upload that cannot be accepted (format, size, name); the message is Chinese and names the file."""


class MaterialStatus(LabelledEnum):
    missing = "missing"
    submitted = "submitted"
    accepted = "accepted"
    needs_more = "needs_more"
    rejected = "rejected"


class Review(LabelledEnum):
    pending = "pending"
    accepted = "accepted"
    more = "more"
    rejected = "rejected"


register_labels(
    "MaterialStatus",
    {
        "missing": ("未提交", "缺"),
        "submitted": ("待审核", "已提交"),
        "accepted": ("已通过", "通过"),
        "needs_more": ("需补充", "补充"),
        "rejected": ("未通过", "退回"),
    },
)
register_labels(
    "Review",
    {
        "pending": ("待审核",),
        "accepted": ("通过", "已通过", "合格"),
        "more": ("需补充", "补充材料"),
        "rejected": ("不通过", "未通过", "退回"),
    },
)

# The latest upload's review -> the requirement's status.
_STATUS_OF_REVIEW = {
    Review.pending: MaterialStatus.submitted,
    Review.accepted: MaterialStatus.accepted,
    Review.more: MaterialStatus.needs_more,
    Review.rejected: MaterialStatus.rejected,
}
ROLE_LABELS = {"lead": "牵头", "support": "配合"}


# --- file formats ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FileKind:
    key: str
    label: str
    content_type: str
    extensions: tuple[str, ...]  # the first is the one given to a file uploaded without one

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")


_KINDS = (
    FileKind("pdf", "PDF 文件", "application/pdf", (".pdf",)),
    FileKind("jpeg", "JPEG 图片", "image/jpeg", (".jpg", ".jpeg")),
    FileKind("png", "PNG 图片", "image/png", (".png",)),
    FileKind(
        "docx", "Word 文档", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", (".docx",)
    ),
    FileKind("xlsx", "Excel 表格", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", (".xlsx",)),
    FileKind(
        "pptx",
        "PowerPoint 演示文稿",
        "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        (".pptx",),
    ),
    FileKind("doc", "Word 97-2003 文档", "application/msword", (".doc", ".wps")),
    FileKind("xls", "Excel 97-2003 表格", "application/vnd.ms-excel", (".xls", ".et")),
    FileKind("ppt", "PowerPoint 97-2003 演示文稿", "application/vnd.ms-powerpoint", (".ppt", ".dps")),
    FileKind("ofd", "OFD 版式文件", "application/ofd", (".ofd",)),
)
KINDS = {k.key: k for k in _KINDS}
KIND_BY_CONTENT_TYPE = {k.content_type: k for k in _KINDS}
ACCEPTED_EXTENSIONS = tuple(e.lstrip(".") for k in _KINDS for e in k.extensions)  # for st.file_uploader(type=…)
ACCEPTED_TEXT = "PDF、JPG/PNG 图片、Word、Excel、PowerPoint（含 97-2003 格式）、WPS、OFD"

_PDF = b"%PDF-"
_JPEG = b"\xff\xd8\xff"
_PNG = b"\x89PNG\r\n\x1a\n"
_ZIP = b"PK\x03\x04"
_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLE_END = 0xFFFFFFFA  # sector numbers from here up are markers (end of chain, free, FAT, DIFAT)


def max_document_bytes() -> int:
    """The size limit of one upload: env CIVEVAL_MAX_DOCUMENT_MB megabytes when it is a positive number, else 20."""
    return int(photos.positive_env("CIVEVAL_MAX_DOCUMENT_MB", MAX_DOCUMENT_MB) * 1024 * 1024)


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f}".removesuffix(".0")


def size_text(n: int) -> str:
    """A size for people: “512 字节”, “120 KB”, “3.5 MB”."""
    if n < 1024:
        return f"{n} 字节"
    if n < 1024 * 1024:
        return f"{n / 1024:.0f} KB"
    return f"{_mb(n)} MB"


def limits_text() -> str:
    """What may be uploaded, for the upload form."""
    return f"可上传 {ACCEPTED_TEXT}，每个文件不超过 {size_text(max_document_bytes())}"


_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(1, 10)), *(f"lpt{i}" for i in range(1, 10))}


def _split_extension(name: str) -> tuple[str, str]:
    m = re.fullmatch(r"(.*?)(\.[0-9A-Za-z]{1,10})", name)
    return (m.group(1), m.group(2)) if m else (name, "")


def clean_file_name(name: str | None) -> str:
    """The file name as kept and offered for download: no directories (``../../x.pdf`` → ``x.pdf``), no control,
    format or line-separator characters, none of ``<>:"|?*``, no leading or trailing dots or spaces, at most 120
    characters with the extension kept; "未命名文件" when nothing is left."""
    base = re.split(r"[\\/]", name or "")[-1]
    base = re.sub(r"[\t\n\v\f\r\u2028\u2029]+", " ", unicodedata.normalize("NFC", base))
    base = "".join(ch for ch in base if unicodedata.category(ch) not in ("Cc", "Cf", "Zl", "Zp", "Co", "Cs"))
    base = re.sub(r'[<>:"|?*]', "_", base)
    base = re.sub(r"\s+", " ", base).strip(" .")
    stem, ext = _split_extension(base)
    stem = stem.strip(" .")
    if stem.lower() in _RESERVED:
        stem = f"_{stem}"
    stem = stem[: FILE_NAME_MAX - len(ext)].rstrip(" .") or "未命名文件"
    return f"{stem}{ext.lower()}"


def _ole_streams(data: bytes) -> set[str]:
    """The names of the entries of an OLE compound file (the .doc/.xls/.ppt container). Raises ValueError."""
    if len(data) < 512:
        raise ValueError("too short")
    shift = int.from_bytes(data[30:32], "little")
    if shift not in (9, 12):
        raise ValueError("sector size")
    size = 1 << shift

    def sector(n: int) -> bytes:
        block = data[(n + 1) * size : (n + 2) * size]
        if len(block) < size:
            raise ValueError("sector outside the file")
        return block

    n_fat = int.from_bytes(data[44:48], "little")
    first_dir = int.from_bytes(data[48:52], "little")
    next_difat = int.from_bytes(data[68:72], "little")
    fat_sectors = list(struct.unpack("<109I", data[76:512]))
    seen: set[int] = set()
    while next_difat < _OLE_END and len(fat_sectors) < n_fat:  # FAT sectors beyond the first 109
        if next_difat in seen:
            raise ValueError("DIFAT loop")
        seen.add(next_difat)
        entries = struct.unpack(f"<{size // 4}I", sector(next_difat))
        fat_sectors += entries[:-1]
        next_difat = entries[-1]
    fat: list[int] = []
    for s in fat_sectors[:n_fat]:
        if s < _OLE_END:
            fat.extend(struct.unpack(f"<{size // 4}I", sector(s)))
    names: set[str] = set()
    s, seen = first_dir, set()
    while s < _OLE_END:
        if s in seen or len(seen) > 10_000:
            raise ValueError("directory loop")
        seen.add(s)
        block = sector(s)
        for k in range(0, size, 128):
            entry = block[k : k + 128]
            length = int.from_bytes(entry[64:66], "little")
            if 2 <= length <= 64 and entry[66] in (1, 2, 5):  # storage, stream, root
                names.add(entry[: length - 2].decode("utf-16-le", "replace"))
        s = fat[s] if s < len(fat) else _OLE_END
    return names


def _refused_damaged(name: str, what: str) -> DocumentRefused:
    return DocumentRefused(f"文件“{name}”（{what}）已损坏或无法读取，请重新导出后再上传")


def _detect(data: bytes, name: str) -> FileKind:
    """The format of an upload, from its bytes. Raises DocumentRefused."""
    if _PDF in data[:1024]:
        return KINDS["pdf"]
    if data.startswith((_JPEG, _PNG)):
        kind = KINDS["jpeg"] if data.startswith(_JPEG) else KINDS["png"]
        try:
            Image.init()
            formats = [f for f in ("JPEG", "MPO", "PNG") if f in Image.OPEN]
            with Image.open(io.BytesIO(data), formats=formats) as img:
                w, h = img.size
                if Image.MAX_IMAGE_PIXELS and w * h > Image.MAX_IMAGE_PIXELS:
                    raise DocumentRefused(f"图片“{name}”尺寸过大（{w}×{h} 像素），请缩小后再上传")
                img.verify()
        except DocumentRefused:
            raise
        except Exception as e:  # truncated, bad chunks, a decompression bomb …
            raise _refused_damaged(name, kind.label) from e
        return kind
    if data.startswith(_ZIP):
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                names = z.namelist()
        except (zipfile.BadZipFile, ValueError, OSError) as e:
            raise DocumentRefused(f"文件“{name}”是压缩包或已损坏的 Office 文件，不能上传（{limits_text()}）") from e
        if "OFD.xml" in names:
            return KINDS["ofd"]
        if "[Content_Types].xml" in names:
            for prefix, key in (("word/", "docx"), ("xl/", "xlsx"), ("ppt/", "pptx")):
                if any(n.startswith(prefix) for n in names):
                    return KINDS[key]
        raise DocumentRefused(f"文件“{name}”是压缩包，不能上传（{limits_text()}）")
    if data.startswith(_OLE):
        try:
            streams = _ole_streams(data)
        except (ValueError, struct.error) as e:
            raise _refused_damaged(name, "Office 文件") from e
        if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
            raise DocumentRefused(f"文件“{name}”设置了打开密码，创文办无法查看，请取消密码后再上传")
        if "WordDocument" in streams:
            return KINDS["doc"]
        if "Workbook" in streams or "Book" in streams:
            return KINDS["xls"]
        if "PowerPoint Document" in streams:
            return KINDS["ppt"]
        raise DocumentRefused(f"文件“{name}”是无法识别的 Office 文件（{limits_text()}）")
    raise DocumentRefused(f"文件“{name}”的格式不能上传（{limits_text()}）")


@dataclass(frozen=True)
class PreparedDocument:
    """An upload checked and ready to store (the attributes are what ``documents`` holds besides the store's own)."""

    data: bytes = field(repr=False)
    sha256: str
    filename: str  # sanitised, with the extension of its format
    kind: FileKind

    @property
    def content_type(self) -> str:
        return self.kind.content_type

    @property
    def size_bytes(self) -> int:
        return len(self.data)


def prepare_document(data: bytes, file_name: str) -> PreparedDocument:
    """Check an upload: not empty, not over the size limit, a format we accept by its bytes, a name whose extension
    (if any) fits that format. Raises DocumentRefused (Chinese, naming the file)."""
    name = clean_file_name(file_name)
    limit = max_document_bytes()
    if len(data) > limit:
        raise DocumentRefused(f"文件“{name}”超过 {size_text(limit)}（{size_text(len(data))}），请压缩或拆分后再上传")
    if not data:
        raise DocumentRefused(f"文件“{name}”是空文件")
    kind = _detect(data, name)
    ext = _split_extension(name)[1].lower()
    if not ext:
        name = clean_file_name(f"{name}{kind.extensions[0]}")
    elif ext not in kind.extensions:
        said = next((k for k in _KINDS if ext in k.extensions), None)
        if said is not None:
            raise DocumentRefused(f"文件“{name}”的内容不是“{said.label}”（实际是“{kind.label}”），请检查后重新上传")
        raise DocumentRefused(
            f"文件“{name}”的扩展名“{ext}”与内容（{kind.label}）不符，请改为“{kind.extensions[0]}”后再上传"
        )
    return PreparedDocument(data=data, sha256=hashlib.sha256(data).hexdigest(), filename=name, kind=kind)


# --- storage ----------------------------------------------------------------------------------------------------------


def document_dir(engine: sa.Engine | sa.Connection | None = None) -> Path:
    """Where document files live: env CIVEVAL_DOCUMENT_DIR; else a ``documents`` folder beside a SQLite database;
    else evaluations/documents."""
    return photos.storage_dir(engine, "documents", env="CIVEVAL_DOCUMENT_DIR")


DOCUMENT_SUFFIX = ".bin"  # document files are document_dir/ab/cd/<sha256>.bin, whatever their format


def document_store(engine: sa.Engine | sa.Connection) -> photos.PhotoStore:
    """The store of documents: as photos are stored (files for SQLite, the database for PostgreSQL, unless
    CIVEVAL_PHOTO_STORAGE says otherwise), on the ``documents`` table, files ``<sha256>.bin`` under document_dir."""
    cls = photos.default_store_class(engine)
    return cls(document_dir(engine), table=t.documents, suffix=DOCUMENT_SUFFIX, noun="文件")


# --- reading ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    """What one unit must provide for one materials standard (a row of the task breakdown), and where it stands."""

    id: int
    index_id: int
    position: int  # the standard's place in the index
    standard_code: str
    standard_text: str
    category: str
    item: str
    full_marks: float
    unit: str
    role: str  # lead / support
    documents: str
    due_date: dt.date | None
    status: MaterialStatus
    version: int
    submissions: int = 0
    pending: int = 0
    last_submitted_at: dt.datetime | None = None
    last_comment: str = ""  # the office's latest comment on this requirement's uploads

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def overdue(self, today: dt.date | None = None) -> bool:
        """Past its due date and not accepted."""
        today = today or audit.today()
        return self.due_date is not None and self.due_date < today and self.status is not MaterialStatus.accepted


@dataclass(frozen=True)
class Submission:
    """One uploaded document for a requirement, with its review."""

    id: int
    requirement_id: int
    document_id: int
    file_name: str
    content_type: str
    size_bytes: int
    note: str
    submitted_by: str
    submitted_at: dt.datetime
    review: Review
    review_comment: str
    reviewed_by: str | None
    reviewed_at: dt.datetime | None
    version: int
    unit: str
    standard_code: str
    standard_text: str
    documents: str  # what the requirement asks for

    @property
    def kind(self) -> FileKind | None:
        return KIND_BY_CONTENT_TYPE.get(self.content_type)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")

    @property
    def size_text(self) -> str:
        return size_text(self.size_bytes)


def materials_standards(index: EvaluationIndex) -> list[tuple[str, str, Standard]]:
    """The standards scored (also) on materials: (category name, item name, standard), in index order."""
    return [(c.name, i.name, s) for c, i, s in index.standards() if Method.materials in s.methods]


def _index(conn: sa.Connection, index_id: int) -> EvaluationIndex:
    from civeval import rounds  # the cached index loader

    if conn.execute(sa.select(t.indexes.c.id).where(t.indexes.c.id == index_id)).first() is None:
        raise MaterialsError(f"测评体系 #{index_id} 不存在")
    return rounds.round_index(conn, index_id)[0]


def _visible_units(conn: sa.Connection, actor: Actor, units: list[Unit] | None = None) -> set[str] | None:
    """The units whose materials the actor may see: None for all (the office), else a liaison's unit and those under
    it. Refuses someone who may neither review nor submit materials."""
    if allowed(actor, Action.review_materials) and reach(actor, Action.review_materials) is None:
        return None
    require(actor, Action.submit_materials)
    where = reach(actor, Action.submit_materials)
    if where is None:
        return None
    return unit_subtree(units if units is not None else repo.list_units(conn), where)


def _with_parents(units: list[Unit], name: str) -> set[str]:
    by_name = {u.name: u for u in units}
    out, up = set(), name
    while up and up not in out:
        out.add(up)
        up = by_name[up].parent if up in by_name else None
    return out


def _requirement_rows(conn: sa.Connection, where: Any) -> list[Any]:
    r, u, s = t.material_requirements.c, t.units.c, t.standards.c
    q = (
        sa.select(
            r.id,
            r.index_id,
            r.standard_id,
            r.documents,
            r.due_date,
            r.status,
            r.version,
            u.name.label("unit"),
            s.code.label("standard_code"),
        )
        .join(t.units, t.units.c.id == r.unit_id)
        .join(t.standards, t.standards.c.id == r.standard_id)
        .where(where)
    )
    return list(conn.execute(q))


def _submission_stats(conn: sa.Connection, requirement_ids: Sequence[int]) -> dict[int, dict[str, Any]]:
    """Per requirement: how many uploads, how many pending, the latest upload time, the office's latest comment."""
    m = t.material_submissions.c
    out: dict[int, dict[str, Any]] = {}
    if not requirement_ids:
        return out
    rows = conn.execute(
        sa.select(m.requirement_id, m.submitted_at, m.review, m.review_comment, m.reviewed_at)
        .where(m.requirement_id.in_(list(requirement_ids)))
        .order_by(m.requirement_id, m.id)
    )
    for row in rows:
        st = out.setdefault(row.requirement_id, {"n": 0, "pending": 0, "last": None, "comment": "", "commented": None})
        st["n"] += 1
        st["pending"] += row.review == Review.pending.value
        if st["last"] is None or row.submitted_at > st["last"]:
            st["last"] = row.submitted_at
        if row.review_comment and row.reviewed_at and (st["commented"] is None or row.reviewed_at >= st["commented"]):
            st["comment"], st["commented"] = row.review_comment, row.reviewed_at
    return out


def _requirements(conn: sa.Connection, index: EvaluationIndex, rows: list[Any]) -> list[Requirement]:
    places = {s.code: (n, c, i, s) for n, (c, i, s) in enumerate(materials_standards(index))}
    stats = _submission_stats(conn, [r.id for r in rows])
    out = []
    for r in rows:
        n, category, item, s = places.get(r.standard_code, (len(places), "", "", None))
        st = stats.get(r.id, {})
        out.append(
            Requirement(
                id=r.id,
                index_id=r.index_id,
                position=n,
                standard_code=r.standard_code,
                standard_text=s.text if s else "",
                category=category,
                item=item,
                full_marks=s.full_marks if s else 0.0,
                unit=r.unit,
                role="lead" if s is not None and s.lead_unit == r.unit else "support",
                documents=r.documents,
                due_date=r.due_date,
                status=MaterialStatus(r.status),
                version=r.version,
                submissions=st.get("n", 0),
                pending=st.get("pending", 0),
                last_submitted_at=st.get("last"),
                last_comment=st.get("comment", ""),
            )
        )
    out.sort(key=lambda q: (q.position, q.role != "lead", q.unit))
    return out


def task_breakdown(conn: sa.Connection, actor: Actor, index_id: int, unit: str | None = None) -> list[Requirement]:
    """The task breakdown of an index (every requirement the actor may see, or one unit's), in index order, the lead
    unit first. A liaison sees their own unit's only; asking for another unit is refused."""
    units = repo.list_units(conn)
    visible = _visible_units(conn, actor, units)
    if unit is not None:
        if unit not in {u.name for u in units}:
            raise MaterialsError(f"单位“{unit}”不在单位名录中")
        if visible is not None and unit not in visible:
            raise PermissionDenied(f"{actor.name}无权查看“{unit}”的申报材料")
    index = _index(conn, index_id)
    r = t.material_requirements.c
    where = r.index_id == index_id
    if unit is not None:
        where = sa.and_(where, t.units.c.name == unit)
    elif visible is not None:
        where = sa.and_(where, t.units.c.name.in_(sorted(visible) or ["-"]))
    return _requirements(conn, index, _requirement_rows(conn, where))


def get_requirement(conn: sa.Connection, actor: Actor, requirement_id: int) -> Requirement:
    """One requirement the actor may see. Raises MaterialsError or PermissionDenied."""
    rows = _requirement_rows(conn, t.material_requirements.c.id == requirement_id)
    if not rows:
        raise MaterialsError(f"材料任务 #{requirement_id} 不存在")
    visible = _visible_units(conn, actor)
    if visible is not None and rows[0].unit not in visible:
        raise PermissionDenied(f"{actor.name}无权查看“{rows[0].unit}”的申报材料")
    return _requirements(conn, _index(conn, rows[0].index_id), rows)[0]


def _submissions_select() -> sa.Select:
    m, d, r = t.material_submissions.c, t.documents.c, t.material_requirements.c
    return (
        sa.select(
            m.id,
            m.requirement_id,
            m.document_id,
            m.file_name,
            d.content_type,
            d.size_bytes,
            m.note,
            m.submitted_by,
            m.submitted_at,
            m.review,
            m.review_comment,
            m.reviewed_by,
            m.reviewed_at,
            m.version,
            t.units.c.name.label("unit"),
            t.standards.c.code.label("standard_code"),
            t.standards.c.text.label("standard_text"),
            r.documents,
        )
        .join(t.documents, t.documents.c.id == m.document_id)
        .join(t.material_requirements, t.material_requirements.c.id == m.requirement_id)
        .join(t.units, t.units.c.id == r.unit_id)
        .join(t.standards, t.standards.c.id == r.standard_id)
    )


def _submission(row: Any) -> Submission:
    values = dict(row._mapping)
    values["review"] = Review(values["review"])
    return Submission(**values)


def submissions(
    conn: sa.Connection,
    actor: Actor,
    index_id: int,
    *,
    unit: str | None = None,
    requirement_id: int | None = None,
    reviews: Iterable[Review] | None = None,
) -> list[Submission]:
    """The uploads of an index the actor may see (a liaison: their own unit's), newest first; filtered by unit,
    requirement and review state."""
    visible = _visible_units(conn, actor)
    m, r = t.material_submissions.c, t.material_requirements.c
    q = _submissions_select().where(r.index_id == index_id)
    if unit is not None:
        if visible is not None and unit not in visible:
            raise PermissionDenied(f"{actor.name}无权查看“{unit}”的申报材料")
        q = q.where(t.units.c.name == unit)
    elif visible is not None:
        q = q.where(t.units.c.name.in_(sorted(visible) or ["-"]))
    if requirement_id is not None:
        q = q.where(m.requirement_id == requirement_id)
    if reviews is not None:
        q = q.where(m.review.in_([Review(x).value for x in reviews]))
    return [_submission(row) for row in conn.execute(q.order_by(m.submitted_at.desc(), m.id.desc()))]


def review_queue(conn: sa.Connection, actor: Actor, index_id: int, *, unit: str | None = None) -> list[Submission]:
    """The uploads waiting for the office's review, oldest first (the office only)."""
    require(actor, Action.review_materials)
    return list(reversed(submissions(conn, actor, index_id, unit=unit, reviews=[Review.pending])))


def get_submission(conn: sa.Connection, actor: Actor, submission_id: int) -> Submission:
    row = conn.execute(_submissions_select().where(t.material_submissions.c.id == submission_id)).first()
    if row is None:
        raise MaterialsError(f"申报材料 #{submission_id} 不存在")
    visible = _visible_units(conn, actor)
    if visible is not None and row.unit not in visible:
        raise PermissionDenied(f"{actor.name}无权查看“{row.unit}”的申报材料")
    return _submission(row)


def document_bytes(conn: sa.Connection, actor: Actor, submission_id: int) -> bytes:
    """The bytes of an uploaded document, for the unit that uploaded it and for the office."""
    sub = get_submission(conn, actor, submission_id)
    try:
        return document_store(conn).get_bytes(conn, sub.document_id)
    except photos.PhotoNotFound as e:
        raise MaterialsError(f"“{sub.file_name}”的内容缺失：{e}") from e


def documents_by_standard(
    conn: sa.Connection, actor: Actor, index_id: int
) -> dict[str, list[tuple[Requirement, list[Submission]]]]:
    """For each materials standard (by code): its requirements (lead unit first) with their uploads, newest first.
    For the office's scoring page (材料审核)."""
    require(actor, Action.review_materials)
    subs: dict[int, list[Submission]] = {}
    for s in submissions(conn, actor, index_id):
        subs.setdefault(s.requirement_id, []).append(s)
    out: dict[str, list[tuple[Requirement, list[Submission]]]] = {}
    for req in task_breakdown(conn, actor, index_id):
        out.setdefault(req.standard_code, []).append((req, subs.get(req.id, [])))
    return out


# --- summaries --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class StatusSummary:
    """How the requirements of one unit, one standard or all of them stand."""

    key: str  # the unit's name, or the standard's code ("" for all)
    label: str  # the unit's name, or the standard's text
    requirements: int = 0
    missing: int = 0
    submitted: int = 0
    accepted: int = 0
    needs_more: int = 0
    rejected: int = 0
    overdue: int = 0

    @property
    def completion_rate(self) -> float | None:
        """Accepted ÷ requirements (完成率); None without requirements."""
        return self.accepted / self.requirements if self.requirements else None


def summarise(key: str, label: str, reqs: Iterable[Requirement], today: dt.date | None = None) -> StatusSummary:
    reqs = list(reqs)
    today = today or audit.today()
    n = Counter(r.status for r in reqs)
    return StatusSummary(
        key=key,
        label=label,
        requirements=len(reqs),
        missing=n[MaterialStatus.missing],
        submitted=n[MaterialStatus.submitted],
        accepted=n[MaterialStatus.accepted],
        needs_more=n[MaterialStatus.needs_more],
        rejected=n[MaterialStatus.rejected],
        overdue=sum(r.overdue(today) for r in reqs),
    )


def status_by_unit(
    conn: sa.Connection, actor: Actor, index_id: int, *, today: dt.date | None = None
) -> list[StatusSummary]:
    """One summary per unit with requirements (those the actor may see), by unit name."""
    groups: dict[str, list[Requirement]] = {}
    for r in task_breakdown(conn, actor, index_id):
        groups.setdefault(r.unit, []).append(r)
    return [summarise(u, u, groups[u], today) for u in sorted(groups)]


def status_by_standard(
    conn: sa.Connection, actor: Actor, index_id: int, *, today: dt.date | None = None
) -> list[StatusSummary]:
    """One summary per materials standard with requirements (those the actor may see), in index order."""
    groups: dict[str, list[Requirement]] = {}
    for r in task_breakdown(conn, actor, index_id):
        groups.setdefault(r.standard_code, []).append(r)
    return [summarise(code, reqs[0].standard_text, reqs, today) for code, reqs in groups.items()]


# --- writing ----------------------------------------------------------------------------------------------------------


def default_documents(standard: Standard, role: str) -> str:
    """What a unit is asked for by default: the lead unit, evidence that the standard is met (with its 操作提示);
    a supporting unit, evidence of its own part."""
    if role == "lead":
        text = f"牵头落实“{standard.text}”的佐证材料：工作方案或制度文件、工作台账和记录、活动照片等。"
        if standard.instructions:
            text += f"\n测评操作提示：{standard.instructions}"
        return text
    return f"配合落实“{standard.text}”的本单位工作记录、台账和活动照片等佐证材料。"


def refresh_breakdown(engine: sa.Engine, actor: Actor, index_id: int, *, due_date: dt.date | None = None) -> int:
    """Build the task breakdown of an index, or bring it up to date: one requirement for every materials standard ×
    responsible unit (lead and supporting) that has none yet, with the default documents text and ``due_date``.
    Requirements already there (and what the office wrote in them) are left as they are. Returns how many were added.
    """
    require(actor, Action.review_materials)
    with audit.writing(engine, actor, context=f"生成材料任务分解清单 测评体系{index_id}") as conn:
        index = _index(conn, index_id)
        unit_ids = dict(conn.execute(sa.select(t.units.c.name, t.units.c.id)).all())
        standard_ids = dict(
            conn.execute(
                sa.select(t.standards.c.code, t.standards.c.id).where(t.standards.c.index_id == index_id)
            ).all()
        )
        r = t.material_requirements.c
        have = {tuple(x) for x in conn.execute(sa.select(r.standard_id, r.unit_id).where(r.index_id == index_id))}
        rows = []
        for _, _, s in materials_standards(index):
            units = [("lead", s.lead_unit)] if s.lead_unit else []
            units += [("support", u) for u in s.supporting_units if u != s.lead_unit]
            for role, name in units:
                key = (standard_ids[s.code], unit_ids.get(name))
                if key[1] is None or key in have:
                    continue
                have.add(key)
                rows.append(
                    dict(
                        index_id=index_id,
                        standard_id=key[0],
                        unit_id=key[1],
                        documents=default_documents(s, role),
                        due_date=due_date,
                        status=MaterialStatus.missing.value,
                        version=1,
                    )
                )
        if rows:
            conn.execute(sa.insert(t.material_requirements), rows)
        return len(rows)


@dataclass(frozen=True)
class RequirementEdit:
    """The office's change to a requirement: what to provide and by when, against the version it read."""

    id: int
    documents: str
    due_date: dt.date | None
    expected_version: int | None = None


def update_requirements(engine: sa.Engine, actor: Actor, edits: Sequence[RequirementEdit]) -> int:
    """Change what units are asked for and by when, all or nothing. Returns how many requirements changed."""
    require(actor, Action.review_materials)
    changed = 0
    with audit.writing(engine, actor, context="修改材料任务分解清单") as conn:
        r = t.material_requirements.c
        for e in edits:
            documents = (e.documents or "").strip()
            if not documents:
                raise MaterialsError(f"材料任务 #{e.id}：须写明需提供的材料")
            if len(documents) > DOCUMENTS_MAX:
                raise MaterialsError(f"材料任务 #{e.id}：需提供的材料不能超过 {DOCUMENTS_MAX} 字")
            row = conn.execute(sa.select(r.documents, r.due_date, r.version).where(r.id == e.id)).first()
            if row is None:
                raise MaterialsError(f"材料任务 #{e.id} 不存在")
            if e.expected_version is not None and row.version != e.expected_version:
                raise ConflictError(f"材料任务 #{e.id} 已被他人修改，请刷新后重试")
            if (row.documents, row.due_date) == (documents, e.due_date):
                continue
            conn.execute(
                sa.update(t.material_requirements)
                .where(r.id == e.id)
                .values(documents=documents, due_date=e.due_date, version=row.version + 1)
            )
            changed += 1
    return changed


def _refresh_status(conn: sa.Connection, requirement_id: int) -> MaterialStatus:
    """Set a requirement's status from its latest upload (by upload time, then id)."""
    m, r = t.material_submissions.c, t.material_requirements.c
    latest = conn.execute(
        sa.select(m.review)
        .where(m.requirement_id == requirement_id)
        .order_by(m.submitted_at.desc(), m.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    status = MaterialStatus.missing if latest is None else _STATUS_OF_REVIEW[Review(latest)]
    row = conn.execute(sa.select(r.status, r.version).where(r.id == requirement_id)).one()
    if row.status != status.value:
        conn.execute(
            sa.update(t.material_requirements)
            .where(r.id == requirement_id)
            .values(status=status.value, version=row.version + 1)
        )
    return status


def submit_document(
    engine: sa.Engine, actor: Actor, requirement_id: int, data: bytes, file_name: str, note: str = ""
) -> int:
    """Upload a document for a requirement of the actor's unit (the office may upload for any unit). The file is
    checked (format by its bytes, size, name) and stored once by content; the requirement becomes 待审核. Returns the
    submission's id. Raises DocumentRefused, MaterialsError or PermissionDenied; nothing is stored then."""
    require(actor, Action.submit_materials)
    with engine.connect() as conn:
        rows = _requirement_rows(conn, t.material_requirements.c.id == requirement_id)
        if not rows:
            raise MaterialsError(f"材料任务 #{requirement_id} 不存在")
        unit = rows[0].unit
        require(actor, Action.submit_materials, within=_with_parents(repo.list_units(conn), unit))
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise MaterialsError(f"说明不能超过 {NOTE_MAX} 字")
    prepared = prepare_document(data, file_name)
    context = f"申报材料 {unit} {rows[0].standard_code} {prepared.filename}"
    with audit.writing(engine, actor, context=context) as conn:
        m, d = t.material_submissions.c, t.documents.c
        same = conn.execute(
            sa.select(m.file_name)
            .join(t.documents, t.documents.c.id == m.document_id)
            .where(m.requirement_id == requirement_id, d.sha256 == prepared.sha256)
        ).first()
        if same is not None:
            raise DocumentRefused(f"文件“{prepared.filename}”与已提交的“{same.file_name}”内容相同，无需重复提交")
        document_id = document_store(engine).put(conn, prepared, uploaded_by=actor.username)
        submission_id = conn.execute(
            sa.insert(t.material_submissions).values(
                requirement_id=requirement_id,
                document_id=document_id,
                file_name=prepared.filename,
                note=note,
                submitted_by=actor.username,
                submitted_at=audit.now(),
                review=Review.pending.value,
                review_comment="",
                version=1,
            )
        ).inserted_primary_key[0]
        _refresh_status(conn, requirement_id)
    return submission_id


def review(
    engine: sa.Engine,
    actor: Actor,
    submission_id: int,
    decision: Review | str,
    comment: str = "",
    expected_version: int | None = None,
) -> int:
    """The office's decision on an upload: 通过 (accepted), 需补充 (more) or 不通过 (rejected); the last two need a
    comment saying what is missing or wrong. With ``expected_version`` the decision is refused when someone reviewed
    the upload in the meantime. A decision may be changed later the same way. Returns the upload's new version."""
    require(actor, Action.review_materials)
    decision = Review(decision) if not isinstance(decision, Review) else decision
    if decision is Review.pending:
        raise MaterialsError("审核结果须为通过、需补充或不通过")
    comment = (comment or "").strip()
    if decision is not Review.accepted and not comment:
        raise MaterialsError(f"审核结果为“{decision.label}”时须填写审核意见，说明缺少什么或问题在哪里")
    if len(comment) > COMMENT_MAX:
        raise MaterialsError(f"审核意见不能超过 {COMMENT_MAX} 字")
    m = t.material_submissions.c
    with audit.writing(engine, actor, context=f"审核申报材料 #{submission_id} {decision.label}") as conn:
        row = conn.execute(sa.select(m.requirement_id, m.version).where(m.id == submission_id)).first()
        if row is None:
            raise MaterialsError(f"申报材料 #{submission_id} 不存在")
        if expected_version is not None and row.version != expected_version:
            raise ConflictError("该材料已被他人审核或修改，请刷新后查看最新结果")
        done = conn.execute(
            sa.update(t.material_submissions)
            .where(m.id == submission_id, m.version == row.version)
            .values(
                review=decision.value,
                review_comment=comment,
                reviewed_by=actor.username,
                reviewed_at=audit.now(),
                version=row.version + 1,
            )
        )
        if done.rowcount != 1:
            raise ConflictError("该材料已被他人审核或修改，请刷新后查看最新结果")
        _refresh_status(conn, row.requirement_id)
    return row.version + 1


# --- the task breakdown as a workbook -------------------------------------------------------------------------------

_COLUMNS = (
    ("序号", 5),
    ("责任单位", 16),  # only on the all-units sheet
    ("标准编码", 10),
    ("测评项目", 12),
    ("测评内容", 14),
    ("测评标准", 34),
    ("分值", 6),
    ("责任", 6),
    ("需提供的材料", 40),
    ("完成时限", 11),
    ("状态", 8),
    ("审核意见", 24),
)
HEADER_ROW = 3
ALL_UNITS_SHEET = "任务分解总表"


class _Formats:
    def __init__(self, wb: xlsxwriter.Workbook):
        base = {"border": 1, "valign": "top", "font_size": 10, "text_wrap": True}
        self.title = wb.add_format({"bold": True, "font_size": 16, "align": "center", "valign": "vcenter"})
        self.meta = wb.add_format({"font_size": 10, "valign": "vcenter", "text_wrap": True})
        self.header = wb.add_format(
            {**base, "bold": True, "bg_color": "#DDEBF7", "align": "center", "valign": "vcenter"}
        )
        self.cell = wb.add_format(base)
        self.center = wb.add_format({**base, "align": "center"})
        self.number = wb.add_format({**base, "align": "center", "num_format": "0.##"})
        self.date = wb.add_format({**base, "align": "center", "num_format": "yyyy-mm-dd"})
        self.late = wb.add_format({**base, "align": "center", "num_format": "yyyy-mm-dd", "font_color": "#C00000"})
        self.none = wb.add_format({**base, "align": "center", "italic": True})


def _sheet(
    wb: xlsxwriter.Workbook,
    fmt: _Formats,
    name: str,
    title: str,
    meta: str,
    reqs: list[Requirement],
    *,
    with_unit: bool,
    today: dt.date,
) -> None:
    columns = [c for c in _COLUMNS if with_unit or c[0] != "责任单位"]
    ws = wb.add_worksheet(name)
    last = len(columns) - 1
    for c, (_, width) in enumerate(columns):
        ws.set_column(c, c, width)
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, last, title, fmt.title)
    ws.merge_range(1, 0, 1, last, meta, fmt.meta)
    ws.set_row(1, 14 * xlsx.text_lines(meta, sum(w for _, w in columns)) + 4)
    for c, (head, _) in enumerate(columns):
        ws.write_string(HEADER_ROW, c, head, fmt.header)
    ws.set_row(HEADER_ROW, 22)
    ws.freeze_panes(HEADER_ROW + 1, 0)
    r = HEADER_ROW
    if not reqs:
        r += 1
        ws.merge_range(r, 0, r, last, "没有材料审核任务。", fmt.none)
    widths = dict(columns)
    for n, q in enumerate(reqs, 1):
        r += 1
        values: dict[str, Any] = {
            "序号": n,
            "责任单位": q.unit,
            "标准编码": q.standard_code,
            "测评项目": q.category,
            "测评内容": q.item,
            "测评标准": q.standard_text,
            "分值": q.full_marks,
            "责任": q.role_label,
            "需提供的材料": q.documents,
            "完成时限": q.due_date,
            "状态": q.status.label,
            "审核意见": q.last_comment,
        }
        lines = 1
        for c, (head, _) in enumerate(columns):
            value = values[head]
            if head in ("序号", "分值"):
                ws.write_number(r, c, value, fmt.number if head == "分值" else fmt.center)
            elif head == "完成时限":
                if value is None:
                    ws.write_string(r, c, "—", fmt.center)
                else:
                    moment = dt.datetime.combine(value, dt.time())
                    ws.write_datetime(r, c, moment, fmt.late if q.overdue(today) else fmt.date)
            else:
                cell = fmt.center if head in ("责任", "状态") else fmt.cell
                if value:
                    ws.write_string(r, c, str(value), cell)
                else:
                    ws.write_blank(r, c, None, cell)
                lines = max(lines, xlsx.text_lines(str(value or ""), widths[head]))
        ws.set_row(r, 13.5 * lines + 4)
    if reqs:
        ws.autofilter(HEADER_ROW, 0, r, last)
    xlsx.print_setup(ws, landscape=True, repeat=(HEADER_ROW, HEADER_ROW), header=f"&R&9{xlsx.header_text(title)}")
    ws.hide_gridlines(0)
    ws.print_area(0, 0, max(r, HEADER_ROW), last)


def write_task_breakdown(
    conn: sa.Connection,
    actor: Actor,
    index_id: int,
    out: str | Path | BinaryIO,
    *,
    unit: str | None = None,
    today: dt.date | None = None,
) -> int:
    """Write the task breakdown (任务分解清单) to ``out`` (.xlsx: a path or a binary file object): for one unit, one
    sheet; for all units the actor may see, a first sheet with every requirement and a 责任单位 column (filterable),
    then one sheet per unit, to hand to each. Every sheet prints on A4 landscape with its header row repeated.
    Returns the number of requirements written."""
    today = today or audit.today()
    reqs = task_breakdown(conn, actor, index_id, unit)
    info = conn.execute(sa.select(t.indexes.c.name, t.indexes.c.version).where(t.indexes.c.id == index_id)).one()
    index_title = f"{info.name}（{info.version}）"

    def meta(rows: list[Requirement]) -> str:
        s = summarise("", "", rows, today)
        return (
            f"测评体系：{index_title}　　导出日期：{today.isoformat()}　　共 {s.requirements} 项：已通过 {s.accepted}，"
            f"待审核 {s.submitted}，需补充 {s.needs_more}，未通过 {s.rejected}，未提交 {s.missing}"
            + (f"；逾期 {s.overdue} 项" if s.overdue else "")
        )

    target: Any = out if hasattr(out, "write") else str(out)
    wb = xlsxwriter.Workbook(target, {"in_memory": True})
    fmt = _Formats(wb)
    taken: set[str] = set()
    if unit is not None:
        _sheet(wb, fmt, xlsx.sheet_name(unit, taken), f"材料审核任务分解清单（{unit}）", meta(reqs), reqs,
               with_unit=False, today=today)  # fmt: skip
    else:
        _sheet(wb, fmt, xlsx.sheet_name(ALL_UNITS_SHEET, taken), "材料审核任务分解清单", meta(reqs), reqs,
               with_unit=True, today=today)  # fmt: skip
        by_unit: dict[str, list[Requirement]] = {}
        for q in reqs:
            by_unit.setdefault(q.unit, []).append(q)
        for name in sorted(by_unit):
            rows = by_unit[name]
            _sheet(wb, fmt, xlsx.sheet_name(name, taken), f"材料审核任务分解清单（{name}）", meta(rows), rows,
                   with_unit=False, today=today)  # fmt: skip
    wb.close()
    return len(reqs)


def task_breakdown_bytes(engine: sa.Engine, actor: Actor, index_id: int, unit: str | None = None) -> bytes:
    """The task breakdown workbook as bytes (for a download button)."""
    buf = io.BytesIO()
    with engine.connect() as conn:
        write_task_breakdown(conn, actor, index_id, buf, unit=unit)
    return buf.getvalue()


# --- the demo ---------------------------------------------------------------------------------------------------------


def demo_pdf(title: str = "Demo document") -> bytes:
    """A small, valid one-page PDF (ASCII text; for the demo and tests)."""
    text = re.sub(r"[()\\]", "", title.encode("ascii", "replace").decode())
    content = f"BT /F1 18 Tf 72 760 Td ({text}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(content) + content + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % n + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def demo_png(seed: int = 0, size: tuple[int, int] = (480, 320)) -> bytes:
    """A small PNG that looks like a photographed notice board (for the demo and tests)."""
    from PIL import ImageDraw

    colours = [(192, 57, 43), (41, 128, 185), (39, 174, 96), (142, 68, 173)]
    img = Image.new("RGB", size, (236, 240, 241))
    draw = ImageDraw.Draw(img)
    draw.rectangle((20, 20, size[0] - 20, size[1] - 20), outline=colours[seed % 4], width=8)
    for k in range(5):
        y = 60 + k * 45
        draw.rectangle((50, y, size[0] - 50 - 30 * ((seed + k) % 4), y + 18), fill=colours[(seed + k) % 4])
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def demo_materials(engine: sa.Engine, index_id: int, liaison_unit: str, *, due_date: dt.date | None = None) -> int:
    """The demo's materials: the task breakdown of the index, and a few units' uploads in every review state — the
    demo liaison's unit among them (one accepted, one needing more). Returns the number of requirements."""
    from civeval import auth

    office = Actor.system("演示数据")
    with engine.connect() as conn:
        try:
            liaison = auth.load_actor(conn, auth.get_user(conn, "liaison").id)
            reviewer = auth.load_actor(conn, auth.get_user(conn, "office").id)
        except Exception:  # a demo without its users: the system acts for both
            liaison = reviewer = office
    added = refresh_breakdown(engine, office, index_id, due_date=due_date or audit.today() + dt.timedelta(days=30))
    with engine.connect() as conn:
        reqs = task_breakdown(conn, office, index_id)
    mine = [q for q in reqs if q.unit == liaison_unit]
    others = [q for q in reqs if q.unit != liaison_unit and q.role == "lead"]
    plan: list[tuple[Requirement, Actor, Review | None, str]] = []
    if mine:
        plan.append((mine[0], liaison, Review.accepted, "材料齐全，予以通过。"))
    if len(mine) > 1:
        plan.append((mine[1], liaison, Review.more, "缺少近三个月的工作台账，请补充后重新上传。"))
    comments = {Review.accepted: "", Review.rejected: "材料与本标准无关，请按任务要求重新提供。", None: ""}
    for q, decision in zip(others[:5], (Review.accepted, None, Review.rejected, None, Review.accepted), strict=False):
        plan.append((q, office, decision, comments[decision]))
    for n, (q, who, decision, comment) in enumerate(plan):
        if n % 2 == 0:
            data, name = demo_pdf(f"{q.standard_code} work plan {n + 1}"), f"{q.standard_code}工作方案.pdf"
        else:
            data, name = demo_png(n), f"{q.standard_code}活动照片.png"
        sid = submit_document(engine, who, q.id, data, name, note="演示材料")
        if decision is not None:
            review(engine, reviewer, sid, decision, comment)
    return added


__all__ = [
    "ACCEPTED_EXTENSIONS",
    "DOCUMENT_SUFFIX",
    "ConflictError",
    "DocumentRefused",
    "FileKind",
    "MaterialStatus",
    "MaterialsError",
    "PreparedDocument",
    "Requirement",
    "RequirementEdit",
    "Review",
    "StatusSummary",
    "Submission",
    "clean_file_name",
    "default_documents",
    "demo_materials",
    "document_bytes",
    "document_dir",
    "document_store",
    "documents_by_standard",
    "get_requirement",
    "get_submission",
    "limits_text",
    "materials_standards",
    "max_document_bytes",
    "prepare_document",
    "refresh_breakdown",
    "review",
    "review_queue",
    "status_by_standard",
    "status_by_unit",
    "submissions",
    "submit_document",
    "summarise",
    "task_breakdown",
    "task_breakdown_bytes",
    "update_requirements",
    "write_task_breakdown",
]
