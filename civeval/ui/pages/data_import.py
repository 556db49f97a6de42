"""数据导入: empty templates, checked uploads and exports of the index, the unit register and the point register
(administrators). The checking and importing are civeval.imports; this page only shows what they say."""

from functools import partial

import streamlit as st

from civeval import criteria, imports
from civeval.imports import Kind
from civeval.permissions import PermissionDenied
from civeval.store import repo
from civeval.ui import common

actor = common.current_actor()
engine = common.engine()
common.page(
    "数据导入",
    "用 Excel 批量导入测评体系、单位名录和点位名录：下载空白模板填写，上传后先校验，没有任何问题才能导入；"
    "也可把已存储的数据导出为文件。",
)
# The uploader's own texts are English ("Upload", "25MB per file • XLSX"): say them in Chinese.
MAX_MB = st.get_option("server.maxUploadSize")
st.html(
    """<style>
[data-testid="stFileUploaderDropzone"] button p, [data-testid="stFileUploaderDropzoneInstructions"] span
  { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button p::after { content: "选择文件"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after
  { content: "或把文件拖到这里（不超过 MAX_MBMB）"; font-size: 0.875rem; }
</style>""".replace("MAX_MB", str(MAX_MB))
)

NOTES = {
    Kind.index: "上传测评体系工作簿（.xlsx）或文本（.yaml）。标准中的牵头、配合单位须在单位名录中，"
    "或写在工作簿的“单位”表里（随体系一并导入）。",
    Kind.units: "按单位编码新增或更新；上级单位可以是本表中的单位，也可以是已有的单位。",
    Kind.points: "按点位编码新增或更新。点位类型、所属街道和包保单位须已存在，或写在工作簿的“点位类型”“单位”表里。",
}


def _state(kind: Kind, name: str) -> str:
    return f"import_{kind.value}_{name}"


def _show_problems(result: imports.CheckResult, *, verb: str) -> None:
    if result.error:
        st.error(f"{verb}：{result.error}。未导入任何内容。", icon=":material/error:")
        return
    st.error(
        f"{verb}：“{result.filename}”有 {len(result.problems)} 处问题，未导入任何内容。"
        "每行依次为 文件:工作表:R行:C列: 问题；请改正后重新上传。",
        icon=":material/error:",
    )
    st.code("\n".join(result.lines), language=None, wrap_lines=True)


def upload_section(kind: Kind) -> None:
    st.caption(NOTES[kind])
    st.download_button(
        "下载空白模板",
        partial(imports.template, kind),  # built only when clicked
        imports.TEMPLATE_NAMES[kind],
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        key=_state(kind, "template"),
        icon=":material/download:",
        on_click="ignore",
    )
    common.show_messages(_state(kind, "messages"))
    round_ = st.session_state.get(_state(kind, "round"), 0)  # a new uploader after each import: it starts empty
    upload = st.file_uploader(
        f"上传{kind.label}文件（{'、'.join(kind.suffixes)}）",
        type=[s.lstrip(".") for s in kind.suffixes],
        key=_state(kind, f"upload_{round_}"),
    )
    replace = False
    if kind is Kind.index:
        replace = st.checkbox(
            "替换同名同版本",
            key=_state(kind, "replace"),
            help="已存储同名同版本的测评体系时，用上传的文件替换它；不勾选则不导入。",
        )
    checked_key = _state(kind, "checked")
    if upload is None:
        st.session_state.pop(checked_key, None)
    buttons = st.container(horizontal=True)
    if buttons.button("校验", key=_state(kind, "check"), disabled=upload is None, icon=":material/fact_check:"):
        result = imports.check_upload(engine, actor, kind, upload.name, upload.getvalue())
        st.session_state[checked_key] = (upload.file_id, result)
    checked = st.session_state.get(checked_key)
    result = checked[1] if checked and upload is not None and checked[0] == upload.file_id else None
    if buttons.button(
        "导入",
        key=_state(kind, "import"),
        type="primary",
        disabled=result is None or not result.ok,
        icon=":material/upload:",
        help="先校验；没有问题的文件才能导入",
    ):
        done = imports.apply_upload(engine, actor, kind, upload.name, upload.getvalue(), replace=replace)
        if done.ok:
            common.leave_message(_state(kind, "messages"), "success", f"{done.summary}（文件“{done.filename}”）")
            st.session_state[_state(kind, "round")] = round_ + 1
            st.session_state.pop(checked_key, None)
            st.rerun()
        _show_problems(done, verb="导入失败")
    elif result is None:
        if upload is not None:
            st.caption("已选择文件，请点“校验”。")
    elif result.ok:
        st.success(f"有效：{result.summary}。可以导入。", icon=":material/check_circle:")
        if result.warning:
            st.warning(result.warning, icon=":material/warning:")
    else:
        _show_problems(result, verb="校验未通过")


def export_section(kind: Kind) -> None:
    st.divider()
    st.markdown("##### 导出已存储的数据")
    index_id, fmt = None, ".xlsx"
    if kind is Kind.index:
        with engine.connect() as conn:
            stored = criteria.stored_indexes(conn, actor)
        if not stored:
            common.empty_state("index")
            return
        by_id = {i.id: i for i in stored}
        c1, c2 = st.columns([3, 2])
        index_id = c1.selectbox(
            "测评体系", list(by_id), format_func=lambda i: by_id[i].title, key=_state(kind, "export_pick")
        )
        fmt = c2.radio(
            "格式",
            imports.EXPORT_FORMATS,
            format_func={".xlsx": "Excel（.xlsx）", ".yaml": "文本（.yaml）"}.get,
            horizontal=True,
            key=_state(kind, "export_format"),
        )
    if st.button("生成导出文件", key=_state(kind, "export"), icon=":material/description:"):
        try:
            out = imports.export(engine, actor, kind, index_id=index_id, fmt=fmt)
        except (PermissionDenied, repo.StoreError) as e:
            st.error(f"未导出：{e}")
        else:
            st.download_button(
                f"下载 {out.filename}",
                out.data,
                out.filename,
                key=_state(kind, "export_download"),
                type="primary",
                icon=":material/download:",
                on_click="ignore",
            )
            st.caption(out.summary)


tabs = st.tabs([k.label for k in Kind], key="import_tabs", on_change="rerun")  # lazy: only the open tab runs
for kind, tab in zip(Kind, tabs, strict=True):
    if tab.open:
        with tab:
            upload_section(kind)
            export_section(kind)
