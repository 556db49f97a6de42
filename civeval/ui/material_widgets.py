"""Pieces shared by the materials pages (材料申报, 材料进度) and the office's scoring page (材料审核): status badges,
document downloads built on click, image previews, and the per-standard summary of what units have uploaded."""

from __future__ import annotations

import datetime as dt
import functools
import logging
import re

import sqlalchemy as sa
import streamlit as st

from civeval import audit, materials, photos
from civeval.materials import MaterialStatus, Requirement, Review, Submission
from civeval.models import Actor
from civeval.ui import common

log = logging.getLogger(__name__)

STATUS_STYLE = {
    MaterialStatus.missing: ("gray", ":material/radio_button_unchecked:"),
    MaterialStatus.submitted: ("blue", ":material/hourglass_top:"),
    MaterialStatus.accepted: ("green", ":material/check_circle:"),
    MaterialStatus.needs_more: ("orange", ":material/note_add:"),
    MaterialStatus.rejected: ("red", ":material/cancel:"),
}
REVIEW_STYLE = {
    Review.pending: ("blue", ":material/hourglass_top:"),
    Review.accepted: ("green", ":material/check_circle:"),
    Review.more: ("orange", ":material/note_add:"),
    Review.rejected: ("red", ":material/cancel:"),
}
_REVIEW_TEXT_COLOUR = {Review.pending: "blue", Review.accepted: "green", Review.more: "orange", Review.rejected: "red"}
PREVIEW_SIDE = 480


def md(text: str) -> str:
    """Text shown literally in Markdown (file names, comments typed by people)."""
    return re.sub(r"([\\`*_{}\[\]()<>#+!|~$:-])", r"\\\1", text)


def today() -> dt.date:
    return audit.today()


def percent(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.0f}%"


def local_time(moment: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A store timestamp (naive UTC) in the office's time zone."""
    if moment is None:
        return ""
    return moment.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime(fmt)


def status_badge(status: MaterialStatus) -> None:
    color, icon = STATUS_STYLE[status]
    st.badge(status.label, color=color, icon=icon)


def review_badge(review: Review) -> None:
    color, icon = REVIEW_STYLE[review]
    st.badge(review.label, color=color, icon=icon)


def due_badge(req: Requirement, on: dt.date) -> None:
    if req.due_date is None:
        return
    if req.overdue(on):
        st.badge(
            f"已逾期 {(on - req.due_date).days} 天（时限 {req.due_date:%m-%d}）", color="red", icon=":material/alarm:"
        )
    else:
        st.badge(f"完成时限 {req.due_date:%Y-%m-%d}", color="gray", icon=":material/event:")


def _document(engine: sa.Engine, actor: Actor, submission_id: int) -> bytes:
    """The bytes of an upload (run when the download button is clicked, outside the page script)."""
    with engine.connect() as conn:
        return materials.document_bytes(conn, actor, submission_id)


def download_document(engine: sa.Engine, actor: Actor, sub: Submission, *, key: str, label: str | None = None) -> None:
    """A button that downloads the upload under its own (sanitised) name; the bytes are read only on click."""
    st.download_button(
        label or "下载",
        data=functools.partial(_document, engine, actor, sub.id),
        file_name=sub.file_name,
        mime=sub.content_type,
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )


@st.cache_data(max_entries=500, show_spinner=False)
def _preview(url: str, document_id: int, side: int) -> bytes | None:
    """A small JPEG of an uploaded image (stored once by content: an id always shows the same picture)."""
    engine = common.engine()
    try:
        with engine.connect() as conn:
            return photos.thumbnail(materials.document_store(engine).get_bytes(conn, document_id), side)
    except (photos.PhotoNotFound, photos.PhotoRefused):
        return None
    except Exception:  # a file share gone away: a missing picture, never a traceback
        log.exception("preview of document %s", document_id)
        return None


def preview(sub: Submission, *, width: int = 320) -> None:
    """An uploaded image, inline and small; nothing for other formats."""
    if not sub.is_image:
        return
    thumb = _preview(str(common.engine().url), sub.document_id, PREVIEW_SIDE)
    if thumb is None:
        st.warning("图片文件缺失或无法显示", icon=":material/broken_image:")
    else:
        st.image(thumb, width=width, caption=sub.file_name)


def file_line(sub: Submission) -> str:
    """“方案.pdf（PDF 文件，120 KB）· 张三 11-20 09:30 上传”."""
    kind = sub.kind.label if sub.kind else sub.content_type
    when = local_time(sub.submitted_at, "%m-%d %H:%M")
    return f"**{md(sub.file_name)}**（{kind}，{sub.size_text}）· {sub.submitted_by} {when} 上传"


def breakdown_download(
    engine: sa.Engine, actor: Actor, index_id: int, unit: str | None, *, key: str, label: str, primary: bool = False
) -> None:
    """A button that downloads the task breakdown (one unit's, or all units') as Excel, built on click."""
    name = f"材料任务分解清单-{unit or '全部单位'}-{today().isoformat()}.xlsx"
    st.download_button(
        label,
        data=functools.partial(materials.task_breakdown_bytes, engine, actor, index_id, unit),
        file_name=name,
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=key,
        on_click="ignore",
        icon=":material/download:",
        type="primary" if primary else "secondary",
    )


def documents_summary(entries: list[tuple[Requirement, list[Submission]]]) -> None:
    """For the office's scoring of one materials standard: each responsible unit's requirement status and the files
    it uploaded with their review state (read-only; reviewing is on 材料进度)."""
    if not entries:
        return
    lines = []
    for req, subs in entries:
        color = STATUS_STYLE[req.status][0]
        files = "、".join(
            f"{md(s.file_name)}（:{_REVIEW_TEXT_COLOUR[s.review]}[{s.review.label}]）" for s in subs[:4]
        ) + (f" 等 {len(subs)} 份" if len(subs) > 4 else "")
        lines.append(
            f"{md(req.unit)}（{req.role_label}）:{color}[{req.status.label}]"
            + (f" · {files}" if files else " · 尚未上传")
        )
    with st.container(key=f"mw_docs_{entries[0][0].standard_code}"):
        st.caption("申报材料：" + "；".join(lines))
