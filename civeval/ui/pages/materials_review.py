"""材料审核 (office): score the materials standards of a round per responsible unit, each answer stored the moment
it is given, as on the field scoring page: 符合/不符合/不适用, a grade, or a count of problems; a note saved on
change; an "已保存" badge; a conflict with someone else's change or a refusal told in Chinese.

Session state is only a cache: each widget starts from the stored answer and is set again from it whenever the stored
version moves on (another reviewer, a conflict), so a reload always shows what the database holds.
"""

import html
import logging

import streamlit as st

from civeval import auth, materials, presentation, rounds
from civeval.models import Answer, Result, RoundStatus, ScoringMode
from civeval.permissions import PermissionDenied
from civeval.scoring import ScoringError
from civeval.ui import common, scoring_widgets, session
from civeval.ui import material_widgets as mw
from civeval.ui import round_widgets as rw

log = logging.getLogger(__name__)

COUNTS = ["0", "1", "2", "3", "4", "5+", "na"]  # a deduction standard's problem instances, then not applicable
STYLE = """
<style>
[data-testid="stButtonGroup"] button { min-height: 44px; min-width: 56px; }
.mr-text { font-size: 1.05rem; line-height: 1.5; }
</style>
"""


def key(rid: int, code: str, name: str) -> str:
    return f"mr_{rid}_{code}_{name}"


def cache_key(rid: int) -> str:
    return f"mr_{rid}_answers"


# --- widget values <-> answers ---------------------------------------------------------------------------------


def sync(rid: int, sa_: rounds.StandardAnswer) -> None:
    """Set the widgets from the stored answer when its version moved on since they were last set (or never were)."""
    code = sa_.standard.code
    seen = key(rid, code, "seen")
    stale = st.session_state.get(seen) != sa_.version
    for name, value in scoring_widgets.widget_values(sa_).items():
        k = key(rid, code, name)
        if stale or k not in st.session_state:
            st.session_state[k] = value
    st.session_state[seen] = sa_.version


def answer_from_widgets(rid: int, sa_: rounds.StandardAnswer) -> Answer | None:
    state = st.session_state
    code = sa_.standard.code
    note = str(state.get(key(rid, code, "note"), "") or "").strip()
    if sa_.standard.scoring_mode is ScoringMode.deduction:
        choice = state.get(key(rid, code, "count"))
        if choice is None:
            return None
        if choice == "na":
            return Answer(result=Result.na, note=note)
        n = int(state.get(key(rid, code, "more")) or 5) if choice == "5+" else int(choice)
        return rounds.count_answer(n, note)
    value = state.get(key(rid, code, "result"))
    return None if value is None else Answer(result=Result(value), note=note)


# --- saving: every change is stored at once -------------------------------------------------------------------


def say(rid: int, code: str, kind: str, text: str) -> None:
    st.session_state.setdefault(key(rid, code, "msgs"), []).append((kind, text))


def save(rid: int, code: str, *, revert_on_error: bool) -> None:
    """Store what the standard's widgets hold (a widget callback: it runs before the page, so it checks the
    sign-in itself)."""
    cached = st.session_state.get(cache_key(rid), {}).get(code)
    if cached is None:
        return
    unit, sa_ = cached
    answer = answer_from_widgets(rid, sa_)
    if answer is None:
        return
    engine = common.engine()
    actor = auth.resume_session(engine, st.session_state.get(session.TOKEN_KEY))
    if actor is None:
        say(rid, code, "error", "登录已过期，本次修改未保存。请刷新页面重新登录后再改。")
        st.session_state.pop(key(rid, code, "seen"), None)
        return
    try:
        version = rounds.save_unit_answer(engine, actor, rid, unit, code, answer, expected_version=sa_.version)
    except rounds.ConflictError as e:
        say(rid, code, "warning", f"{e}。下面已换成最新保存的答案，请核对后再改。")
        st.session_state.pop(key(rid, code, "seen"), None)
    except (rounds.RoundError, PermissionDenied, ScoringError) as e:
        say(rid, code, "error", f"未保存：{e}")
        if revert_on_error:
            st.session_state.pop(key(rid, code, "seen"), None)
    except Exception:  # the database unreachable …: never a traceback
        log.exception("saving materials answer %s %s %s", rid, unit, code)
        say(rid, code, "error", "未保存：系统暂时无法保存，请稍后再试一次。")
        if revert_on_error:
            st.session_state.pop(key(rid, code, "seen"), None)
    else:
        st.session_state[key(rid, code, "seen")] = version
        st.toast(f"已保存 {code}", icon=":material/check_circle:")


def on_answer(rid: int, code: str) -> None:
    save(rid, code, revert_on_error=True)


def on_note(rid: int, code: str) -> None:
    save(rid, code, revert_on_error=False)  # keep what was typed when it could not be stored


# --- drawing -----------------------------------------------------------------------------------------------------


def standard_block(rid: int, sa_: rounds.StandardAnswer, disabled: bool) -> None:
    s = sa_.standard
    code = s.code
    sync(rid, sa_)
    with st.container(border=True, key=key(rid, code, "block")):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"**{code}**　{presentation.marks_line(sa_.standard)}", width="content")
            if sa_.answer is None:
                st.badge("未审核", icon=":material/radio_button_unchecked:", color="orange")
            else:
                who = "" if sa_.answered_by == actor.username else f"（{sa_.answered_by}）"
                st.badge(
                    f"已保存 {rw.local_time(sa_.answered_at, '%m-%d %H:%M')}{who}",
                    icon=":material/check_circle:",
                    color="green",
                )
            if sa_.failed:
                st.badge("问题", icon=":material/report:", color="red")
        st.html(f'<div class="mr-text">{html.escape(s.text)}</div>')
        st.caption(f"{sa_.category} › {sa_.item}" + (f"　·　操作提示：{s.instructions}" if s.instructions else ""))
        mw.documents_summary(documents.get(code, []))  # what the units uploaded for it (reviewed on 材料进度)
        if s.scoring_mode is ScoringMode.deduction:
            labels = {"5+": "5处以上", "na": Result.na.label}
            st.segmented_control(
                "发现问题（处）",
                COUNTS,
                format_func=lambda v: labels.get(v, v),
                required=True,
                key=key(rid, code, "count"),
                on_change=on_answer,
                args=(rid, code),
                disabled=disabled,
            )
            if st.session_state.get(key(rid, code, "count")) == "5+":
                st.number_input(
                    "问题处数",
                    min_value=5,
                    max_value=999,
                    step=1,
                    key=key(rid, code, "more"),
                    on_change=on_answer,
                    args=(rid, code),
                    disabled=disabled,
                )
        else:
            st.segmented_control(
                "审核结果",
                [r.value for r in rounds.result_choices(s)],
                format_func=lambda v: Result(v).label,
                required=True,
                key=key(rid, code, "result"),
                on_change=on_answer,
                args=(rid, code),
                disabled=disabled,
                label_visibility="collapsed",
            )
        for kind, text in st.session_state.pop(key(rid, code, "msgs"), []):
            getattr(st, kind)(text)
        st.text_input(
            "说明",
            key=key(rid, code, "note"),
            placeholder="说明：缺少哪些材料、问题在哪里" if sa_.answer else "先选择审核结果，再填写说明",
            max_chars=500,
            on_change=on_note,
            args=(rid, code),
            disabled=disabled or sa_.answer is None,
            label_visibility="collapsed",
        )


actor = common.current_actor()
engine = common.engine()
common.page("材料审核", "按责任单位审核材料类测评标准。每个结果选定即保存，说明在输入完成后保存。")
st.html(STYLE)

with engine.connect() as conn:
    infos = rounds.list_rounds(conn, actor)
info = rw.round_picker(infos, "mr_round")
if info is None:
    st.info("还没有测评轮次。请先在「测评轮次」中新建。", icon=":material/info:")
    st.stop()
rid = info.id
try:
    with engine.connect() as conn:
        sheets = rounds.materials_sheets(conn, actor, rid)
        documents = materials.documents_by_standard(conn, actor, info.index_id)
except (rounds.RoundError, materials.MaterialsError, PermissionDenied) as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

st.session_state[cache_key(rid)] = {a.standard.code: (sheet.unit, a) for sheet in sheets for a in sheet.answers}
disabled = info.status is RoundStatus.closed
if disabled:
    st.info("本轮已结束，只能查看。", icon=":material/lock:")
if not sheets:
    st.info(
        "本轮的测评体系没有材料审核标准（测评方式含“材料审核”、且不在点位实地考察的标准），或这些标准没有牵头单位。",
        icon=":material/info:",
    )
    st.stop()

progress = [(sh, sum(a.answer is not None for a in sh.answers), sum(a.failed for a in sh.answers)) for sh in sheets]
total = sum(len(sh.answers) for sh in sheets)
done = sum(n for _, n, _ in progress)
st.progress(done / total if total else 1.0, text=f"已审核 {done}/{total} 条（{len(sheets)} 个单位）")
st.page_link(
    "civeval/ui/pages/materials_status.py",
    label="单位上传的申报材料列在每条标准下；逐份审核材料请到「材料进度」",
    icon=":material/folder_managed:",
)
if len(sheets) > 3:  # many units: where things stand, at a glance
    st.dataframe(
        [{"责任单位": sh.unit, "已审": n, "共": len(sh.answers), "问题": f} for sh, n, f in progress],
        hide_index=True,
        height="auto" if len(sheets) <= 10 else 380,
    )
open_only = st.toggle("只看未审完的单位", key="mr_open_only")
few = len(sheets) <= 3
for i, (sheet, n_done, findings) in enumerate(progress):
    if open_only and n_done == len(sheet.answers):
        continue
    # The label stays the same while answers come in (an expander whose label changes would close again).
    label = f"**{sheet.unit}**　{len(sheet.answers)} 条"
    box = st.expander(label, expanded=few, key=f"mr_unit_{rid}_{i}", on_change="rerun", icon=":material/apartment:")
    if not box.open:
        continue
    with box:
        with st.container(horizontal=True, gap="small"):
            st.badge(f"已审 {n_done}/{len(sheet.answers)}", color="green" if n_done == len(sheet.answers) else "orange")
            if findings:
                st.badge(f"问题 {findings}", icon=":material/report:", color="red")
        for a in sheet.answers:
            standard_block(rid, a, disabled)
