"""意见建议登记: one citizen's suggestion on a tablet, laid out as the door-to-door form (群众意见建议征询表,
seed 002): 被征询对象 (a "不愿留姓名" box that hides and clears the name), 所在区、街道、社区, 征询记录人 (the user by
default), 时间, 类别, 地点 and 内容. Saved at once with 保存; the code is shown and the form starts empty for the next
one.

What is required, what a coordinator may record and that a withheld name is never stored are civeval.suggestions'.
"""

import datetime as dt
import logging

import streamlit as st

from civeval import audit, auth, suggestions
from civeval.permissions import PermissionDenied
from civeval.suggestions import Channel, NewSuggestion, SuggestionError
from civeval.ui import common, session

log = logging.getLogger(__name__)
MESSAGES = "si_msgs"
RECENT = 8  # the user's latest suggestions listed under the form


def k(name: str) -> str:
    """A widget key of the current (empty after each save) form."""
    return f"si_{name}_{st.session_state.get('si_nonce', 0)}"


def _save(community_key: str) -> None:
    state = st.session_state
    engine = common.engine()
    actor = auth.resume_session(engine, state.get(session.TOKEN_KEY))
    if actor is None:
        common.leave_message(MESSAGES, "error", "登录已过期，未保存。请刷新页面重新登录后再试。")
        return
    withheld = bool(state.get(k("withheld")))
    day, time = state.get(k("date")), state.get(k("time"))
    new = NewSuggestion(
        channel=Channel(state.get(k("channel")) or Channel.door_to_door),
        content=str(state.get(k("content")) or ""),
        category=str(state.get(k("category")) or ""),
        person="" if withheld else str(state.get(k("person")) or ""),
        name_withheld=withheld,
        contact=str(state.get(k("contact")) or ""),
        area=str(state.get(k("area")) or ""),
        street=state.get(k("street")),
        community=state.get(community_key),
        place=str(state.get(k("place")) or ""),
        recorder=str(state.get(k("recorder")) or ""),
        received_at=suggestions.store_time(day, time) if day else None,
    )
    try:
        code = suggestions.record(engine, actor, new)
    except (SuggestionError, PermissionDenied) as e:
        common.leave_message(MESSAGES, "error", f"未保存：{e}")
        return
    except Exception:  # the database unreachable, a full disk …: never a traceback on the tablet
        log.exception("recording a suggestion")
        common.leave_message(MESSAGES, "error", "未保存：系统暂时无法保存，请稍后再试。")
        return
    who = "不愿留姓名" if withheld else (new.person.strip() or "未留姓名")
    common.leave_message(
        MESSAGES, "success", f"已保存意见建议 {code}（{new.channel.label}，{new.category}，被征询对象：{who}）。"
    )
    state["si_last"] = code
    state["si_nonce"] = state.get("si_nonce", 0) + 1  # the next form starts empty


actor = common.current_actor()
engine = common.engine()
common.page(
    "意见建议登记",
    "按《群众意见建议征询表》登记市民热线、电子邮件、入户征询等收到的意见建议。点“保存”即存入，并生成编号。",
)

try:
    with engine.connect() as conn:
        places = suggestions.intake_places(conn, actor)
        kinds = suggestions.categories(conn)
        recent = [s for s in suggestions.list_suggestions(conn, actor) if s.created_by == actor.username][:RECENT]
except PermissionDenied as e:
    st.error(str(e), icon=":material/error:")
    st.stop()

for kind, text in st.session_state.pop(MESSAGES, []):
    getattr(st, kind)(text)
    if kind == "success":
        st.toast(text, icon=":material/task_alt:")

now_local = audit.now().replace(tzinfo=dt.UTC).astimezone(audit.local_zone())
defaults = st.session_state.setdefault(
    k("defaults"), {"date": now_local.date(), "time": now_local.time().replace(second=0, microsecond=0)}
)

with st.container(border=True, key="si_form"):
    st.radio(
        "渠道",
        list(Channel),
        index=list(Channel).index(Channel.door_to_door),
        format_func=lambda c: c.label,
        horizontal=True,
        key=k("channel"),
    )
    st.markdown("**被征询对象**（姓名是否填写尊重本人意见）")
    withheld = st.checkbox("不愿留姓名", key=k("withheld"))
    if withheld:
        st.session_state.pop(k("person"), None)  # nothing typed before the box was ticked is kept
        st.caption("不记录姓名。")
    else:
        st.text_input("姓名（可不填）", key=k("person"), max_chars=suggestions.PERSON_MAX)
    st.text_input("联系方式（可不填，用于答复）", key=k("contact"), max_chars=suggestions.CONTACT_MAX)

    st.markdown("**所在区、街道、社区名称**")
    c1, c2, c3 = st.columns(3)
    c1.text_input("所在区（可不填）", key=k("area"), max_chars=suggestions.AREA_MAX)
    street = c2.selectbox(
        "街道（镇）", list(places), index=0 if len(places) == 1 else None, placeholder="请选择", key=k("street")
    )
    community_key = k(f"community_{street or ''}")
    c3.selectbox("社区（村）", places.get(street or "", []), index=None, placeholder="可不选", key=community_key)
    st.text_input(
        "地点（可不填）", key=k("place"), placeholder="如：和平路东段、某小区3号楼", max_chars=suggestions.PLACE_MAX
    )

    c4, c5, c6 = st.columns(3)
    c4.text_input("征询记录人", value=actor.name, key=k("recorder"), max_chars=suggestions.RECORDER_MAX)
    c5.date_input("时间（日期）", value=defaults["date"], max_value=now_local.date(), key=k("date"))
    c6.time_input("时间（时刻）", value=defaults["time"], step=dt.timedelta(minutes=5), key=k("time"))
    st.selectbox("类别", kinds, index=None, placeholder="请选择类别", key=k("category"))
    st.text_area(
        "意见建议内容（必填）",
        key=k("content"),
        height=150,
        max_chars=suggestions.CONTENT_MAX,
        placeholder="群众反映的问题、意见和建议，尽量写明具体地点",
    )
    st.button(
        "保存",
        key=k("save"),
        type="primary",
        icon=":material/save:",
        on_click=_save,
        args=(community_key,),
        width="stretch",
    )

if recent:
    st.markdown("**我最近登记的意见建议**")
    st.dataframe(
        [
            {
                "编号": s.code,
                "收到时间": s.received_at.replace(tzinfo=dt.UTC).astimezone(audit.local_zone()).strftime("%m-%d %H:%M"),
                "渠道": s.channel.label,
                "类别": s.category,
                "所在": s.where,
                "办理情况": s.stage(),
            }
            for s in recent
        ],
        hide_index=True,
        key="si_recent",
    )
