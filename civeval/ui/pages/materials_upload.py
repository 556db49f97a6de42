"""材料申报: a unit liaison's materials tasks (the office's task breakdown for their unit): what to provide for each
materials standard and by when, where it stands (未提交 / 待审核 / 已通过 / 需补充 / 未通过) with the office's latest
comment; upload files for it; the files uploaded so far with their review; the unit's task breakdown as Excel.
Other units' tasks are never listed (civeval.materials decides)."""

import logging
import math

import streamlit as st

from civeval import auth, materials
from civeval.materials import DocumentRefused, MaterialsError, MaterialStatus
from civeval.permissions import PermissionDenied
from civeval.ui import common, session
from civeval.ui import material_widgets as mw

log = logging.getLogger(__name__)
TODO = (MaterialStatus.missing, MaterialStatus.needs_more, MaterialStatus.rejected)

actor = common.current_actor()
engine = common.engine()
common.page(
    "材料申报",
    "本单位承担的材料审核任务：按“需提供的材料”上传佐证材料（PDF、图片或 Office 文件），"
    "创文办审核后在此查看结果和意见。",
)


def messages_key(requirement_id: int) -> str:
    return f"mu_msgs_{requirement_id}"


def form_key(requirement_id: int) -> str:
    """The upload form of a requirement; the number at the end moves on after each upload (an empty form)."""
    return f"mu_up_{requirement_id}_{st.session_state.get(f'mu_nonce_{requirement_id}', 0)}"


def say(requirement_id: int, kind: str, text: str) -> None:
    st.session_state.setdefault(messages_key(requirement_id), []).append((kind, text))


def on_upload(requirement_id: int, key: str) -> None:
    """Store the file chosen in a requirement's form (the form's button handler: it runs before the page, so it checks
    the sign-in itself)."""
    state = st.session_state
    upload = state.get(f"{key}_file")
    if upload is None:
        say(requirement_id, "error", "请先选择要上传的文件。")
        return
    engine = common.engine()
    who = auth.resume_session(engine, state.get(session.TOKEN_KEY))
    if who is None:
        say(requirement_id, "error", "登录已过期，文件未上传。请刷新页面重新登录后再试。")
        return
    try:
        materials.submit_document(
            engine, who, requirement_id, upload.getvalue(), upload.name, note=str(state.get(f"{key}_note") or "")
        )
    except (DocumentRefused, MaterialsError, PermissionDenied) as e:
        say(requirement_id, "error", f"未上传：{e}")
        return
    except Exception:  # the database or the disk unreachable: never a traceback
        log.exception("uploading a document for requirement %s", requirement_id)
        say(requirement_id, "error", "未上传：系统暂时无法保存，请稍后再试。")
        return
    say(requirement_id, "success", f"已上传“{mw.md(materials.clean_file_name(upload.name))}”，等待创文办审核。")
    state[f"mu_nonce_{requirement_id}"] = state.get(f"mu_nonce_{requirement_id}", 0) + 1


with engine.connect() as conn:
    index = common.index_picker(conn)
if index is None:
    common.empty_state("index")
    st.stop()
try:
    with engine.connect() as conn:
        everything = materials.task_breakdown(conn, actor, index.id)
except (MaterialsError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

units = sorted({r.unit for r in everything})
if not units:
    st.info(
        f"“{index.title}”还没有本单位的材料审核任务：创文办下发任务分解清单后，任务会出现在这里。",
        icon=":material/info:",
    )
    st.stop()
unit = units[0] if len(units) == 1 else st.selectbox("单位", units, key="mu_unit")
reqs = [r for r in everything if r.unit == unit]
with engine.connect() as conn:
    uploads: dict[int, list[materials.Submission]] = {}
    for s in materials.submissions(conn, actor, index.id, unit=unit):
        uploads.setdefault(s.requirement_id, []).append(s)

on = mw.today()
summary = materials.summarise(unit, unit, reqs, on)
st.markdown(
    f"**{unit}：材料任务 {summary.requirements} 项**，已通过 {summary.accepted}，待审核 {summary.submitted}，"
    f"需补充 {summary.needs_more}，未通过 {summary.rejected}，未提交 {summary.missing}"
    + (f"；其中已逾期 {summary.overdue} 项" if summary.overdue else "")
    + "。"
)
st.progress(summary.completion_rate or 0.0, text=f"完成率（已通过 ÷ 任务）{mw.percent(summary.completion_rate)}")
with st.container(horizontal=True, vertical_alignment="center"):
    mw.breakdown_download(engine, actor, index.id, unit, key="mu_breakdown", label="下载本单位任务分解清单（Excel）")
    todo_only = st.toggle("只看待办（未提交、需补充、未通过）", key="mu_todo_only")


def submission_row(s: materials.Submission) -> None:
    with st.container(border=True, key=f"mu_sub_{s.id}"):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(mw.file_line(s), width="content")
            mw.review_badge(s.review)
            mw.download_document(engine, actor, s, key=f"mu_dl_{s.id}")
        if s.note:
            st.caption(f"说明：{mw.md(s.note)}")
        if s.review_comment:
            when = mw.local_time(s.reviewed_at, "%m-%d %H:%M")
            st.caption(f"审核意见（{s.reviewed_by or ''} {when}）：{mw.md(s.review_comment)}")


def card(r: materials.Requirement) -> None:
    with st.container(border=True, key=f"mu_card_{r.id}"):
        st.markdown(f"#### {r.standard_code}　{mw.md(r.standard_text)}")
        with st.container(horizontal=True, gap="small"):
            mw.status_badge(r.status)
            st.badge(r.role_label, color="violet" if r.role == "lead" else "gray")
            mw.due_badge(r, on)
        st.markdown("**需提供的材料**：" + "  \n".join(mw.md(line) for line in r.documents.splitlines()))
        if r.last_comment and r.status in (MaterialStatus.needs_more, MaterialStatus.rejected):
            st.warning(f"创文办意见：{mw.md(r.last_comment)}", icon=":material/feedback:")
        for kind, text in st.session_state.pop(messages_key(r.id), []):
            getattr(st, kind)(text)
            if kind == "success":
                st.toast(text, icon=":material/task_alt:")
        mine = uploads.get(r.id, [])
        if mine:
            st.caption(f"已上传 {len(mine)} 份（最新在前）")
            for s in mine:
                submission_row(s)
        with st.expander(
            "上传材料" if not mine else "继续上传（补充或更新材料）",
            icon=":material/upload:",
            expanded=r.status in TODO,
            key=f"mu_box_{r.id}",
        ):
            key = form_key(r.id)
            with st.form(key, clear_on_submit=False, border=False):
                st.file_uploader(
                    "选择文件",
                    type=list(materials.ACCEPTED_EXTENSIONS),
                    key=f"{key}_file",
                    max_upload_size=max(1, math.ceil(materials.max_document_bytes() / (1024 * 1024))),
                    help=materials.limits_text(),
                )
                st.caption(materials.limits_text() + "。文件按内容识别格式，扩展名须与内容相符。")
                st.text_input("说明（可不填）", key=f"{key}_note", max_chars=materials.NOTE_MAX)
                st.form_submit_button(
                    "上传",
                    type="primary",
                    icon=":material/upload:",
                    key=f"{key}_go",
                    on_click=on_upload,
                    args=(r.id, key),
                )


shown = [r for r in reqs if r.status in TODO] if todo_only else reqs
if not shown:
    st.success("没有待办的材料任务。", icon=":material/task_alt:")
for r in shown:
    card(r)
