"""纸质问卷录入: type in paper questionnaires on a tablet, one sheet after another. Pick the questionnaire and where
the respondent lives (remembered for the next sheet), tap one large answer per question, save: the sheet is stored
at once (civeval.survey.save_paper_response), a toast says how many this user has entered, and the answers clear for
the next sheet. Big touch targets, one column, nothing wider than a portrait tablet."""

import html

import streamlit as st

from civeval import auth, registers, survey
from civeval.models import UnitKind
from civeval.permissions import Action, PermissionDenied, reach
from civeval.store import repo
from civeval.ui import common, session

STYLE = """
<style>
[data-testid="stButtonGroup"] button { min-height: 52px; min-width: 72px; }
[data-testid="stButtonGroup"] button p { font-size: 1.08rem; }
[data-testid="stButtonGroup"] button[aria-checked="true"] {
  background-color: #1a4f8b !important; border-color: #1a4f8b !important; color: #fff !important; }
[data-testid="stButtonGroup"] button[aria-checked="true"] p { color: #fff !important; font-weight: 600; }
[data-testid="stSelectbox"] [data-baseweb="select"] > div { min-height: 48px; }
[data-testid="stTextInput"] input { min-height: 48px; font-size: 1rem; }
.stButton button { min-height: 56px; }
.se-q { font-size: 1.08rem; color: #111; line-height: 1.5; margin: .4rem 0 .1rem; }
.se-kind { color: #555; font-size: .9rem; }
</style>
"""
KINDS = {"resident": "居民", "staff": "单位职工"}
MESSAGE = "se_message"
LAST = "se_last"  # what the previous sheet was entered with: questionnaire, street, community, unit, kind

actor = common.current_actor()
engine = common.engine()
common.page("纸质问卷录入", "每份纸质问卷录入后点“保存本份问卷”，立即保存；所在地会保留给下一份。")
st.html(STYLE)

with engine.connect() as conn:
    infos = survey.list_questionnaires(conn, actor)
    units = repo.list_units(conn)
if not infos:
    st.info("还没有问卷。请办公室管理员在「问卷管理」中新建问卷。", icon=":material/info:")
    st.stop()

last: dict = st.session_state.setdefault(LAST, {})
for key, remembered in (("se_q", "qid"), ("se_kind", "kind"), ("se_street", "street"), ("se_comm", "community")):
    if key not in st.session_state and last.get(remembered) is not None:
        st.session_state[key] = last[remembered]
if "se_unit" not in st.session_state and last.get("unit"):
    st.session_state["se_unit"] = last["unit"]
st.session_state.setdefault("se_kind", "resident")

by_id = {i.id: i for i in infos}
if st.session_state.get("se_q") not in by_id:
    st.session_state.pop("se_q", None)
qid = st.selectbox("问卷", list(by_id), format_func=lambda i: by_id[i].name, key="se_q")
with engine.connect() as conn:
    questionnaire = survey.get_questionnaire(conn, actor, qid)
    entered = survey.paper_count(conn, actor, qid)

where = reach(actor, Action.enter_surveys)
inside = None if where is None else registers.unit_subtree(units, where)
streets = [u.name for u in units if u.kind in survey.AREA_KINDS and u.active and (inside is None or u.name in inside)]
staff_units = [
    u.name
    for u in units
    if u.kind not in (*survey.AREA_KINDS, UnitKind.community) and u.active and (inside is None or u.name in inside)
]

with st.container(border=True, key="se_where"):
    kind = st.segmented_control("受访者", list(KINDS), format_func=KINDS.get, key="se_kind", width="stretch")
    if kind == "staff" and staff_units:
        unit = st.selectbox("所在单位", staff_units, index=None, placeholder="选择单位…", key="se_unit")
        street = community = None
    else:
        unit = None
        street = st.selectbox("所在街道（镇）", streets, index=None, placeholder="选择街道或镇…", key="se_street")
        communities = [u.name for u in units if u.kind is UnitKind.community and u.parent == street and u.active]
        if st.session_state.get("se_comm") not in communities:
            st.session_state.pop("se_comm", None)
        community = st.selectbox(
            "所在社区（村）", communities, index=None, placeholder="选择社区或村（可不选）", key="se_comm"
        )
st.caption(f"本问卷您已录入 {entered} 份。")
for kind_, text in st.session_state.pop(MESSAGE, []):
    getattr(st, kind_)(text)

gen = st.session_state.get("se_gen", 0)


def widget_key(code: str) -> str:
    return f"se_{gen}_{qid}_{code}"


def save(qid: int, gen: int) -> None:
    """The save button's callback: store the sheet, then clear the answers for the next one (a new key generation)."""
    user = auth.resume_session(common.engine(), st.session_state.get(session.TOKEN_KEY))
    messages = st.session_state.setdefault(MESSAGE, [])
    if user is None:
        messages.append(("error", "登录已过期，本份问卷未保存。请刷新页面重新登录。"))
        return
    with common.engine().connect() as conn:
        q = survey.get_questionnaire(conn, user, qid)
    answers = {x.code: st.session_state.get(f"se_{gen}_{qid}_{x.code}") for x in q.questions}
    staff = st.session_state.get("se_kind") == "staff"
    response = survey.PaperResponse(
        street=None if staff else st.session_state.get("se_street"),
        community=None if staff else st.session_state.get("se_comm"),
        unit=st.session_state.get("se_unit") if staff else None,
        respondent_kind=survey.RespondentKind.staff if staff else survey.RespondentKind.resident,
        answers={k: v for k, v in answers.items() if v not in (None, "")},
    )
    try:
        saved = survey.save_paper_response(common.engine(), user, qid, response)
    except (survey.SurveyError, PermissionDenied) as e:
        lines = e.messages if isinstance(e, survey.SurveyError) else [str(e)]
        messages.append(("error", "未保存：" + "；".join(lines)))
        return
    st.session_state[LAST] = {
        "qid": qid,
        "kind": "staff" if staff else "resident",
        "street": response.street,
        "community": response.community,
        "unit": response.unit,
    }
    st.session_state["se_gen"] = gen + 1
    text = f"已保存第 {saved.entered} 份问卷（答了 {saved.answered}/{len(q.questions)} 题）"
    if not saved.valid:
        text += f"。注意：这是无效问卷（{saved.invalid_reason}），已保存但不计入统计"
    st.session_state["se_toast"] = text
    messages.append(("success" if saved.valid else "warning", text + "。请录入下一份。"))


if toast := st.session_state.pop("se_toast", None):
    st.toast(toast, icon=":material/task_alt:")

answered = 0
for n, x in enumerate(questionnaire.questions, start=1):
    with st.container(key=f"se_block_{x.code}"):
        kind_label = f'<span class="se-kind">（{x.kind.label}）</span>'
        st.markdown(f'<div class="se-q"><b>{n}.</b> {html.escape(x.text)} {kind_label}</div>', unsafe_allow_html=True)
        if x.choices:
            value = st.segmented_control(
                x.text, list(x.choices), key=widget_key(x.code), label_visibility="collapsed", width="stretch"
            )
        else:
            value = st.text_input(x.text, key=widget_key(x.code), label_visibility="collapsed", placeholder="可不填")
        answered += bool(value)

st.divider()
st.progress(answered / max(1, len(questionnaire.questions)), text=f"已答 {answered}/{len(questionnaire.questions)} 题")
st.button(
    "保存本份问卷",
    key="se_save",
    type="primary",
    icon=":material/save:",
    width="stretch",
    on_click=save,
    args=(qid, gen),
)
st.caption("计分题答了不到一半的问卷会作为无效问卷保存，不计入统计。保存后答案清空，所在地保留。")
