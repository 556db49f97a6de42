"""材料进度 (office): where the materials of an index stand — per unit and per standard (counts and completion rate) —
the review queue of uploaded files (images shown inline, every file downloadable) with 通过 / 需补充 / 不通过 and a
comment, and the task breakdown: built from the index, edited (what to provide, by when) and exported to Excel."""

import datetime as dt
import logging

import pandas as pd
import streamlit as st

from civeval import auth, materials
from civeval.materials import ConflictError, MaterialsError, MaterialStatus, RequirementEdit, Review
from civeval.permissions import PermissionDenied
from civeval.ui import common, session
from civeval.ui import material_widgets as mw

log = logging.getLogger(__name__)
MESSAGES = "ms_messages"
DECISIONS = [
    (Review.accepted, "通过", ":material/check_circle:", "primary"),
    (Review.more, "需补充", ":material/note_add:", "secondary"),
    (Review.rejected, "不通过", ":material/cancel:", "secondary"),
]

actor = common.current_actor()
engine = common.engine()
common.page("材料进度", "各单位材料申报和审核进度；逐份审核单位上传的材料；生成、修改和导出任务分解清单。")


def _who():
    return auth.resume_session(common.engine(), st.session_state.get(session.TOKEN_KEY))


def review_messages(submission_id: int) -> str:
    return f"ms_rv_msgs_{submission_id}"


def on_review(submission_id: int, decision: str, version: int, file_name: str) -> None:
    """A decision button's handler (runs before the page: checks the sign-in itself)."""
    where = review_messages(submission_id)
    who = _who()
    if who is None:
        common.leave_message(where, "error", "登录已过期，审核结果未保存。请刷新页面重新登录后再试。")
        return
    comment = str(st.session_state.get(f"ms_rv_{submission_id}_comment") or "")
    try:
        materials.review(common.engine(), who, submission_id, Review(decision), comment, expected_version=version)
    except ConflictError as e:
        common.leave_message(where, "warning", str(e))
    except (MaterialsError, PermissionDenied) as e:
        common.leave_message(where, "error", f"未保存：{e}")
    except Exception:
        log.exception("reviewing submission %s", submission_id)
        common.leave_message(where, "error", "未保存：系统暂时无法保存，请稍后再试。")
    else:
        common.leave_message(MESSAGES, "success", f"“{mw.md(file_name)}”：{Review(decision).label}")


def on_build(index_id: int) -> None:
    who = _who()
    if who is None:
        common.leave_message(MESSAGES, "error", "登录已过期。请刷新页面重新登录后再试。")
        return
    try:
        added = materials.refresh_breakdown(
            common.engine(), who, index_id, due_date=st.session_state.get("ms_build_due")
        )
    except (MaterialsError, PermissionDenied) as e:
        common.leave_message(MESSAGES, "error", str(e))
        return
    text = f"已生成任务 {added} 项。" if added else "任务分解清单已是最新，没有需要补充的任务。"
    common.leave_message(MESSAGES, "success", text)


def build_form(index_id: int, label: str) -> None:
    with st.container(horizontal=True, vertical_alignment="bottom"):
        st.date_input(
            "完成时限（可不填，之后可逐项修改）", value=None, key="ms_build_due", min_value=dt.date(2000, 1, 1)
        )
        st.button(label, key="ms_build", type="primary", on_click=on_build, args=(index_id,))


with engine.connect() as conn:
    index = common.index_picker(conn)
if index is None:
    common.empty_state("index")
    st.stop()
try:
    with engine.connect() as conn:
        reqs = materials.task_breakdown(conn, actor, index.id)
        queue = materials.review_queue(conn, actor, index.id)
        reviewed = materials.submissions(conn, actor, index.id, reviews=[Review.accepted, Review.more, Review.rejected])
        by_unit = materials.status_by_unit(conn, actor, index.id)
        by_standard = materials.status_by_standard(conn, actor, index.id)
except (MaterialsError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

common.show_messages(MESSAGES)
if not reqs:
    st.info(
        f"“{index.title}”还没有材料任务分解清单。生成后，每条材料审核标准的牵头单位和每个配合单位各有一项任务，"
        "“需提供的材料”按标准内容和操作提示预填，可逐项修改。",
        icon=":material/info:",
    )
    build_form(index.id, "生成任务分解清单")
    st.stop()

on = mw.today()
total = materials.summarise("", "全部", reqs, on)
with st.container(horizontal=True, key="ms_counts"):
    st.metric("材料任务", total.requirements, border=True)
    st.metric("已通过", total.accepted, border=True)
    st.metric("待审核", total.submitted, border=True)
    st.metric("需补充", total.needs_more, border=True)
    st.metric("未通过", total.rejected, border=True)
    st.metric("未提交", total.missing, border=True)
    st.metric("完成率", mw.percent(total.completion_rate), border=True, help="已通过的任务 ÷ 全部任务")

review_tab, unit_tab, standard_tab, breakdown_tab = st.tabs(["审核", "按单位", "按标准", "任务分解"])
by_id = {r.id: r for r in reqs}


def review_card(sub: materials.Submission) -> None:
    req = by_id.get(sub.requirement_id)
    with st.container(border=True, key=f"ms_card_{sub.id}"):
        st.markdown(f"#### {mw.md(sub.unit)}　{sub.standard_code}")
        st.caption(mw.md(sub.standard_text))
        if req is not None:
            with st.container(horizontal=True, gap="small"):
                st.badge(req.role_label, color="violet" if req.role == "lead" else "gray")
                mw.due_badge(req, on)
                if req.submissions > 1:
                    st.badge(f"该任务共上传 {req.submissions} 份", color="gray")
        st.markdown("**需提供的材料**：" + "  \n".join(mw.md(line) for line in sub.documents.splitlines()))
        st.markdown(mw.file_line(sub))
        if sub.note:
            st.caption(f"单位说明：{mw.md(sub.note)}")
        mw.preview(sub)
        mw.download_document(engine, actor, sub, key=f"ms_dl_{sub.id}", label="下载查看")
        common.show_messages(review_messages(sub.id))
        with st.form(f"ms_rv_{sub.id}", border=False):
            st.text_area(
                "审核意见",
                key=f"ms_rv_{sub.id}_comment",
                placeholder="需补充或不通过时必填：缺少哪些材料、问题在哪里",
                max_chars=materials.COMMENT_MAX,
                height=80,
            )
            with st.container(horizontal=True, gap="small"):
                for decision, label, icon, kind in DECISIONS:
                    st.form_submit_button(
                        label,
                        key=f"ms_rv_{sub.id}_{decision.value}",
                        type=kind,
                        icon=icon,
                        on_click=on_review,
                        args=(sub.id, decision.value, sub.version, sub.file_name),
                    )


with review_tab:
    queue_units = sorted({s.unit for s in queue})
    pick = st.selectbox(
        "单位",
        [None, *queue_units],
        format_func=lambda u: "全部单位" if u is None else u,
        key="ms_queue_unit",
    )
    shown = [s for s in queue if pick is None or s.unit == pick]
    if not queue:
        st.success("没有待审核的材料。单位上传后会出现在这里。", icon=":material/task_alt:")
    else:
        st.markdown(f"**待审核 {len(shown)} 份**（按上传时间，先传先审）")
    for sub in shown:
        review_card(sub)
    if reviewed:
        with st.expander(f"最近审核（{min(len(reviewed), 50)} 份）", icon=":material/history:", key="ms_reviewed"):
            st.dataframe(
                pd.DataFrame(
                    [
                        {
                            "单位": s.unit,
                            "标准编码": s.standard_code,
                            "文件": s.file_name,
                            "审核结果": s.review.label,
                            "审核意见": s.review_comment,
                            "审核人": s.reviewed_by or "",
                            "审核时间": mw.local_time(s.reviewed_at),
                        }
                        for s in sorted(reviewed, key=lambda s: s.reviewed_at or dt.datetime.min, reverse=True)[:50]
                    ]
                ),
                hide_index=True,
                key="ms_reviewed_table",
            )


def summary_frame(rows: list[materials.StatusSummary], first: str, second: str | None) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                first: r.key,
                **({second: r.label} if second else {}),
                "任务": r.requirements,
                "已通过": r.accepted,
                "待审核": r.submitted,
                "需补充": r.needs_more,
                "未通过": r.rejected,
                "未提交": r.missing,
                "逾期": r.overdue,
                "完成率": r.completion_rate or 0.0,
            }
            for r in rows
        ]
    )


RATE_COLUMN = st.column_config.ProgressColumn("完成率", format="percent", min_value=0.0, max_value=1.0)

with unit_tab:
    unfinished = st.toggle("只看未完成的单位", key="ms_unit_open")
    rows = [r for r in by_unit if not unfinished or r.accepted < r.requirements]
    rows.sort(key=lambda r: (r.completion_rate or 0.0, -r.overdue, r.key))
    st.caption("按完成率从低到高排列。完成率 = 已通过的任务 ÷ 该单位全部任务。")
    st.dataframe(
        summary_frame(rows, "单位", None),
        hide_index=True,
        column_config={"完成率": RATE_COLUMN},
        key="ms_by_unit",
    )

with standard_tab:
    st.caption("按测评体系顺序。每条标准的任务 = 牵头单位 + 配合单位。")
    st.dataframe(
        summary_frame(by_standard, "标准编码", "测评标准"),
        hide_index=True,
        column_config={"完成率": RATE_COLUMN, "测评标准": st.column_config.TextColumn(width="large")},
        key="ms_by_standard",
    )


def _day(value) -> dt.date | None:
    if value is None or (not isinstance(value, dt.date) and pd.isna(value)):
        return None
    return value.date() if isinstance(value, dt.datetime | pd.Timestamp) else value


with breakdown_tab:
    units = sorted({r.unit for r in reqs})
    c1, c2 = st.columns(2)
    unit = c1.selectbox("单位", [None, *units], format_func=lambda u: "全部单位" if u is None else u, key="ms_bd_unit")
    statuses = c2.multiselect(
        "状态", list(MaterialStatus), format_func=lambda s: s.label, key="ms_bd_status", placeholder="全部状态"
    )
    rows = [r for r in reqs if (unit is None or r.unit == unit) and (not statuses or r.status in statuses)]
    st.caption(f"共 {len(rows)} 项。可直接修改“需提供的材料”和“完成时限”，改完点“保存修改”。")
    frame = pd.DataFrame(
        [
            {
                "标准编码": r.standard_code,
                "责任单位": r.unit,
                "责任": r.role_label,
                "需提供的材料": r.documents,
                "完成时限": r.due_date,
                "状态": r.status.label,
                "审核意见": r.last_comment,
            }
            for r in rows
        ],
        index=[r.id for r in rows],
        columns=["标准编码", "责任单位", "责任", "需提供的材料", "完成时限", "状态", "审核意见"],
    )
    editor_key = f"ms_editor_{unit or '全部'}_{','.join(sorted(s.value for s in statuses))}"
    edited = st.data_editor(
        frame,
        hide_index=True,
        disabled=["标准编码", "责任单位", "责任", "状态", "审核意见"],
        column_config={
            "需提供的材料": st.column_config.TextColumn(width="large", max_chars=materials.DOCUMENTS_MAX),
            "完成时限": st.column_config.DateColumn(format="YYYY-MM-DD"),
        },
        key=editor_key,
    )
    edits = [
        RequirementEdit(r.id, str(edited.at[r.id, "需提供的材料"] or ""), _day(edited.at[r.id, "完成时限"]), r.version)
        for r in rows
        if (str(edited.at[r.id, "需提供的材料"] or ""), _day(edited.at[r.id, "完成时限"])) != (r.documents, r.due_date)
    ]
    if st.button(f"保存修改（{len(edits)} 项）", key="ms_save", type="primary", disabled=not edits):
        try:
            n = materials.update_requirements(engine, actor, edits)
        except (MaterialsError, PermissionDenied) as e:
            st.error(f"未保存：{e}", icon=":material/error:")
        else:
            common.forget_widgets(editor_key)
            common.leave_message(MESSAGES, "success", f"已保存 {n} 项任务的修改。")
            st.rerun()

    st.subheader("导出", anchor=False)
    scope = st.selectbox(
        "导出范围",
        [None, *units],
        format_func=lambda u: "全部单位（总表，另每个单位一个工作表）" if u is None else u,
        key="ms_export_unit",
    )
    mw.breakdown_download(engine, actor, index.id, scope, key="ms_export", label="下载任务分解清单（Excel）")

    with st.expander("补充生成任务", icon=":material/playlist_add:", key="ms_refresh"):
        st.caption("为尚无任务的标准和责任单位补充生成任务；已有的任务和修改过的内容不变。")
        build_form(index.id, "补充生成")
