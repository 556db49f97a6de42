"""问卷管理 (administrators): define a questionnaire and its questions (tied to the index's survey standards), the
populations quotas are shares of, import answers exported by online survey tools (upload → the proposed column
mapping, editable → check → located problems, or what would be imported → import), the answer template, and the
answer sheets stored (voiding one). Every rule is civeval.survey's; this page turns widgets into its calls."""

import re

import pandas as pd
import streamlit as st

from civeval import rounds, survey
from civeval.models import Method
from civeval.permissions import PermissionDenied
from civeval.store import repo
from civeval.ui import common
from civeval.workbook import WorkbookInvalid, clean, split_list

NEW = 0
MESSAGES = "sa_messages"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
QUESTION_COLUMNS = ["编号", "题目", "类型", "对应标准", "选项", "计为“是”的选项"]

actor = common.current_actor()
engine = common.engine()
common.page(
    "问卷管理",
    "问卷题目对应测评体系中的问卷调查标准；答卷可从问卷星、腾讯问卷等导出的 Excel/CSV 导入，"
    "也可在「纸质问卷录入」逐份录入。",
)

with engine.connect() as conn:
    infos = survey.list_questionnaires(conn, actor)
    indexes = repo.list_indexes(conn)
    round_infos = rounds.list_rounds(conn, actor)
by_id = {i.id: i for i in infos}
if (picked := st.session_state.pop("sa_q_next", None)) in by_id:
    st.session_state["sa_q"] = picked
choice = st.selectbox(
    "问卷",
    [*by_id, NEW],
    format_func=lambda i: by_id[i].name if i in by_id else "（新建问卷）",
    key="sa_q",
)
common.show_messages(MESSAGES)
with engine.connect() as conn:
    current = survey.get_questionnaire(conn, actor, choice) if choice in by_id else None


def _refused(e: Exception) -> None:
    lines = e.messages if isinstance(e, survey.SurveyError) else [str(e)]
    st.error("未保存。请改正：\n\n" + "\n".join(f"- {m}" for m in lines), icon=":material/error:")


def _show_problems(result: survey.AnswerImport, verb: str) -> None:
    st.error(
        f"{verb}：“{result.filename}”有 {len(result.problems)} 处问题，未导入任何答卷。"
        "每行依次为 文件:工作表:R行:C列: 问题；请改正后重新上传，或修改列对应。",
        icon=":material/error:",
    )
    st.code("\n".join(result.lines), language=None, wrap_lines=True)


# --- 问卷与题目 --------------------------------------------------------------------------------------------------


def _question_rows(spec: survey.QuestionnaireSpec) -> list[dict]:
    return [
        {
            "编号": q.code,
            "题目": q.text,
            "类型": q.kind.label,
            "对应标准": q.standard or None,
            "选项": "、".join(q.choices),
            "计为“是”的选项": "、".join(q.yes_values or []) if q.kind in survey.RATE_KINDS else "",
        }
        for q in spec.questions
    ]


def _scores_text(scores: dict[str, float]) -> str:
    return "、".join(f"{k} {v:g}" for k, v in scores.items())


def _parse_scores(text: str) -> dict[str, float]:
    scores: dict[str, float] = {}
    for token in split_list(text):
        m = re.match(r"^(.+?)\s*[=:：]?\s*(-?\d+(?:\.\d+)?)\s*分?$", token)
        if not m:
            raise survey.SurveyError(f"满意度分值“{token}”应写成 选项 分值，如 满意 100")
        scores[m.group(1).strip()] = float(m.group(2))
    return scores


def _cell(value) -> str:
    """A data-editor cell as text: None and NaN (an empty cell) as ""."""
    return "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value)


def _spec_from(rows: list[dict], head: dict) -> survey.QuestionnaireSpec:
    questions = []
    errors = []
    for n, raw in enumerate(rows, start=1):
        r = {k: _cell(v) for k, v in raw.items()}
        if not any(clean(v) for v in r.values()):
            continue
        kind = survey.QuestionKind.parse(clean(r["类型"]))
        if kind is None:
            errors.append(f"第{n}行的类型“{r['类型']}”无效，可选：{'、'.join(survey.QuestionKind.labels())}")
            continue
        yes = split_list(r["计为“是”的选项"])
        questions.append(
            survey.QuestionSpec(
                code=clean(r["编号"]),
                text=clean(r["题目"], punctuation=False),
                kind=kind,
                standard=clean(r["对应标准"]) or None,
                choices=split_list(r["选项"]),
                yes_values=yes or None,
            )
        )
    if errors:
        raise survey.SurveyError(errors)
    return survey.QuestionnaireSpec(**head, questions=questions)


def definition_tab() -> None:
    if not indexes:
        common.empty_state("index")
        return
    key = f"sa_def_{choice}"
    spec = current.spec() if current else None
    index_ids = [i.id for i in indexes]
    titles = {i.id: i.title for i in indexes}
    c1, c2 = st.columns(2)
    name = c1.text_input("问卷名称", value=spec.name if spec else "", key=f"{key}_name", max_chars=200)
    start_index = index_ids.index(spec.index_id) if spec and spec.index_id in index_ids else 0
    index_id = c2.selectbox("测评体系", index_ids, index=start_index, format_func=titles.get, key=f"{key}_index")
    round_ids = [None, *(r.id for r in round_infos if r.index_id == index_id)]
    round_names = {r.id: r.name for r in round_infos}
    c1, c2, c3 = st.columns([2, 1, 1])
    round_id = c1.selectbox(
        "所属测评轮次（可不选）",
        round_ids,
        index=round_ids.index(spec.round_id) if spec and spec.round_id in round_ids else 0,
        format_func=lambda r: "（不属于某一轮）" if r is None else round_names[r],
        key=f"{key}_round",
        help="属于某一轮模拟测评的问卷，其比率计入该轮的综合得分。",
    )
    start = c2.date_input("调查开始", value=spec.start_date if spec else None, key=f"{key}_start")
    end = c3.date_input("调查结束", value=spec.end_date if spec else None, key=f"{key}_end")
    scores_text = st.text_input(
        "满意度分值",
        value=_scores_text(spec.satisfaction_scores if spec else survey.DEFAULT_SATISFACTION_SCORES),
        key=f"{key}_scores",
        help="每个满意度选项的分值（0～100），如：满意 100、基本满意 60、不满意 0。未列出的选项（如“说不清”）不计分。",
    )

    with engine.connect() as conn:
        index = repo.load_index(conn, index_id)
    survey_standards = {s.code: s.text for _, _, s in index.standards() if Method.survey in s.methods}
    gen_key = f"{key}_gen"
    draft_key = f"{key}_draft"
    if st.button(
        "按测评体系生成题目",
        key=f"{key}_default",
        icon=":material/auto_awesome:",
        help="每条问卷调查标准生成一道题（标准写了两个比率时两道），另加一道意见建议题；生成后可修改。",
    ):
        st.session_state[draft_key] = _question_rows(survey.default_questionnaire(index))
        st.session_state[gen_key] = st.session_state.get(gen_key, 0) + 1
    rows = st.session_state.get(draft_key) or (_question_rows(spec) if spec else [])
    st.caption(
        "每行一道题。选项用顿号分隔；知晓、支持、参与题的“计为‘是’的选项”留空时取 是、知道、支持、参与过 等；"
        "满意度题按上面的分值计分；“其他”题不计分。"
    )
    edited = st.data_editor(
        pd.DataFrame(rows, columns=QUESTION_COLUMNS),
        key=f"{key}_questions_{st.session_state.get(gen_key, 0)}",
        num_rows="dynamic",
        hide_index=True,
        width="stretch",
        column_config={
            "编号": st.column_config.TextColumn(required=True, width="small"),
            "题目": st.column_config.TextColumn(required=True, width="large"),
            "类型": st.column_config.SelectboxColumn(options=survey.QuestionKind.labels(), required=True),
            "对应标准": st.column_config.SelectboxColumn(options=list(survey_standards)),
            "选项": st.column_config.TextColumn(width="medium"),
            "计为“是”的选项": st.column_config.TextColumn(),
        },
    )
    with st.expander(f"本测评体系的问卷调查标准（{len(survey_standards)} 条）"):
        st.dataframe(
            pd.DataFrame([{"编码": c, "标准": t} for c, t in survey_standards.items()]),
            hide_index=True,
            key=f"{key}_standards",
        )
    if not st.button("保存问卷", key=f"{key}_save", type="primary", icon=":material/save:"):
        return
    try:
        head = dict(
            name=name,
            index_id=index_id,
            round_id=round_id,
            start_date=start,
            end_date=end,
            satisfaction_scores=_parse_scores(scores_text),
        )
        new_spec = _spec_from(edited.to_dict("records"), head)
        qid = survey.save_questionnaire(engine, actor, new_spec, current.id if current else None)
    except (survey.SurveyError, PermissionDenied) as e:
        _refused(e)
        return
    st.session_state.pop(draft_key, None)
    common.leave_message(MESSAGES, "success", f"已保存问卷“{new_spec.name}”：{len(new_spec.questions)} 道题。")
    st.session_state["sa_q_next"] = qid  # picked on the rerun, before the picker exists
    st.rerun()


# --- 人口与配额 ----------------------------------------------------------------------------------------------------


def population_tab() -> None:
    st.caption(
        "配额 = ⌈人口 × 比例⌉；比例留空用默认：镇 40%，城区街道 60%，社区（村）随所属街道（镇），单位按职工 100%。"
    )
    all_units = st.toggle("列出全部单位（填写职工数）", key="sa_pop_all")
    with engine.connect() as conn:
        rows = survey.list_populations(conn, actor, all_units=all_units)
    original = pd.DataFrame(
        [
            {
                "单位": r.unit,
                "类型": r.kind.label,
                "上级": r.parent or "",
                "人口/职工数": r.population,
                "比例（%）": None if r.share is None else round(r.share * 100, 2),
                "默认比例（%）": round(r.default_share * 100),
                "配额": r.quota,
            }
            for r in rows
        ]
    )
    if original.empty:
        common.empty_state("units")
        return
    edited = st.data_editor(
        original,
        key=f"sa_pop_editor_{all_units}_{st.session_state.get('sa_pop_gen', 0)}",
        hide_index=True,
        width="stretch",
        disabled=["单位", "类型", "上级", "默认比例（%）", "配额"],
        column_config={
            "人口/职工数": st.column_config.NumberColumn(min_value=0, step=1, format="%d"),
            "比例（%）": st.column_config.NumberColumn(min_value=0.01, max_value=100, help="留空用默认比例"),
        },
    )
    if st.button("保存人口和比例", key="sa_pop_save", type="primary", icon=":material/save:"):
        changes = []
        for before, after in zip(original.to_dict("records"), edited.to_dict("records"), strict=True):
            pop, share = after["人口/职工数"], after["比例（%）"]
            pop = None if pd.isna(pop) else int(pop)
            share = None if pd.isna(share) else float(share) / 100
            old_pop = None if pd.isna(before["人口/职工数"]) else int(before["人口/职工数"])
            old_share = None if pd.isna(before["比例（%）"]) else float(before["比例（%）"]) / 100
            if (pop, share) != (old_pop, old_share):
                changes.append((after["单位"], pop, share))
        if not changes:
            st.info("没有改动。")
        else:
            try:
                n = survey.set_populations(engine, actor, changes, context="问卷管理：修改人口基数")
            except (survey.SurveyError, PermissionDenied) as e:
                _refused(e)
            else:
                common.leave_message(MESSAGES, "success", f"已保存 {n} 个单位的人口和比例。")
                st.session_state["sa_pop_gen"] = st.session_state.get("sa_pop_gen", 0) + 1
                st.rerun()
    st.markdown("##### 用 Excel 批量填写")
    with engine.connect() as conn:
        book = survey.populations_workbook(conn, actor)
    st.download_button(
        "下载人口表（含全部单位）",
        book,
        "问卷人口基数.xlsx",
        mime=XLSX,
        key="sa_pop_download",
        icon=":material/download:",
        on_click="ignore",
    )
    upload = st.file_uploader("上传填好的人口表（.xlsx）", type=["xlsx"], key="sa_pop_upload")
    if upload is not None and st.button("导入人口表", key="sa_pop_import", icon=":material/upload:"):
        try:
            n = survey.import_populations(engine, actor, upload.name, upload.getvalue())
        except WorkbookInvalid as e:
            st.error(f"“{upload.name}”有 {len(e.problems)} 处问题，未导入任何内容：", icon=":material/error:")
            st.code("\n".join(str(p) for p in e.problems), language=None, wrap_lines=True)
        except PermissionDenied as e:
            st.error(str(e))
        else:
            common.leave_message(MESSAGES, "success", f"已导入人口表：{n} 个单位。")
            st.session_state["sa_pop_gen"] = st.session_state.get("sa_pop_gen", 0) + 1
            st.rerun()


# --- 导入答卷 ----------------------------------------------------------------------------------------------------


def import_tab() -> None:
    if current is None:
        st.info("请先在上方选择问卷（或在「问卷与题目」中新建一份）。", icon=":material/info:")
        return
    with engine.connect() as conn:
        template = survey.answer_template(conn, actor, current.id)
    st.download_button(
        "下载答卷模板（Excel）",
        template,
        survey.answer_template_name(current),
        mime=XLSX,
        key="sa_template",
        icon=":material/download:",
        on_click="ignore",
        help="每题一列、带下拉选项；另有“题目”表，可据此在问卷平台上设置同样的题目和选项。",
    )
    st.caption(
        "上传问卷平台导出的答卷（每行一位受访者，第一行为表头；.xlsx，或 UTF-8 / GBK 编码的 .csv）。"
        "列与字段的对应会自动推荐，可逐列修改；导入成功后对应关系保存在问卷上，下次导入直接沿用。"
        "已导入过的答卷（按序号识别）再次导入时自动跳过。"
    )
    round_ = st.session_state.get("sa_up_round", 0)
    upload = st.file_uploader("上传答卷文件", type=["xlsx", "csv"], key=f"sa_upload_{round_}")
    if upload is None:
        st.session_state.pop("sa_checked", None)
        return
    data = upload.getvalue()
    try:
        found = survey.read_answer_file(upload.name, data)
    except WorkbookInvalid as e:
        st.error("无法读取文件：" + "；".join(str(p) for p in e.problems), icon=":material/error:")
        return
    proposed = survey.propose_mapping(current, found.headers)
    options = survey.field_options(current)
    keys = list(options)
    sample = found.rows[0][1] if found.rows else []
    st.markdown(f"##### 列对应（{len(found.rows)} 行答卷，{len([h for h in found.headers if h])} 列）")
    mapping: dict[str, str] = {}
    with st.container(key="sa_mapping"):
        head = st.columns([3, 4])
        head[0].markdown("**文件中的列**")
        head[1].markdown("**对应字段**")
        for i, h in enumerate(found.headers):
            if not h:
                continue
            left, right = st.columns([3, 4], vertical_alignment="center")
            example = clean(sample[i]) if i < len(sample) else ""
            left.markdown(
                f"{h}" + (f"  \n<small>例：{example[:30]}</small>" if example else ""), unsafe_allow_html=True
            )
            mapping[h] = right.selectbox(
                h,
                keys,
                index=keys.index(proposed.get(h, survey.IGNORE)),
                format_func=options.get,
                key=f"sa_map_{upload.file_id}_{i}",
                label_visibility="collapsed",
            )
    buttons = st.container(horizontal=True)
    if buttons.button("校验", key="sa_check", icon=":material/fact_check:"):
        result = survey.check_answers(engine, actor, current.id, upload.name, data, mapping)
        st.session_state["sa_checked"] = (upload.file_id, mapping, result)
    checked = st.session_state.get("sa_checked")
    result = checked[2] if checked and checked[0] == upload.file_id and checked[1] == mapping else None
    if buttons.button(
        "导入",
        key="sa_import",
        type="primary",
        icon=":material/upload:",
        disabled=result is None or not result.ok or result.new == 0,
        help="先校验；没有问题才能导入",
    ):
        try:
            done = survey.import_answers(engine, actor, current.id, upload.name, data, mapping)
        except WorkbookInvalid as e:
            _show_problems(survey.AnswerImport(upload.name, problems=tuple(e.problems)), "导入失败")
            return
        except PermissionDenied as e:
            st.error(str(e))
            return
        common.leave_message(MESSAGES, "success", f"{done.summary}（文件“{upload.name}”）。列对应已保存。")
        st.session_state["sa_up_round"] = round_ + 1
        st.session_state.pop("sa_checked", None)
        st.rerun()
    if result is None:
        st.caption("确认列对应后点“校验”。")
    elif not result.ok:
        _show_problems(result, "校验未通过")
    else:
        st.success(f"有效：{result.summary}。可以导入。", icon=":material/check_circle:")
        for reason, n in result.invalid_reasons.items():
            st.caption(f"无效问卷 {n} 份：{reason}")
        for w in result.warnings:
            st.warning(w, icon=":material/warning:")


# --- 答卷 ------------------------------------------------------------------------------------------------------------


def responses_tab() -> None:
    if current is None:
        st.info("请先在上方选择问卷。", icon=":material/info:")
        return
    which = st.segmented_control("显示", ["全部", "有效", "无效"], default="全部", key="sa_resp_filter")
    valid = {"有效": True, "无效": False}.get(which or "全部")
    with engine.connect() as conn:
        rows = survey.list_responses(conn, actor, current.id, valid=valid, limit=500)
    if not rows:
        st.caption("没有答卷。")
        return
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "编号": r.id,
                    "来源": "导入" if r.source == "import" else "纸质",
                    "答卷编号": r.external_id if r.external_id and not r.external_id.startswith("h:") else "",
                    "街道（镇）": r.street or "",
                    "社区（村）": r.community or "",
                    "单位": r.unit or "",
                    "身份": r.respondent_kind.label,
                    "作答题数": r.answered,
                    "有效": "是" if r.valid else "否",
                    "无效原因": r.invalid_reason,
                    "录入人": r.entered_by,
                }
                for r in rows
            ]
        ),
        hide_index=True,
        key="sa_responses",
        width="stretch",
    )
    st.caption("最多显示最近 500 份。")
    with st.form("sa_void", border=True):
        st.markdown("**作废一份答卷**（保留备查，不再计入统计）")
        c1, c2 = st.columns([1, 3])
        rid = c1.number_input("答卷编号（上表“编号”）", min_value=1, step=1, value=None, key="sa_void_id")
        reason = c2.text_input("作废原因", key="sa_void_reason", max_chars=200)
        if st.form_submit_button("作废", key="sa_void_go") and rid:
            try:
                survey.void_response(engine, actor, int(rid), reason)
            except (survey.SurveyError, PermissionDenied) as e:
                _refused(e)
            else:
                common.leave_message(MESSAGES, "success", f"已作废答卷 {int(rid)}。")
                st.rerun()


tabs = st.tabs(["问卷与题目", "人口与配额", "导入答卷", "答卷"], key="sa_tabs", on_change="rerun")
for tab, body in zip(tabs, (definition_tab, population_tab, import_tab, responses_tab), strict=True):
    if tab.open:
        with tab:
            body()
