"""The pieces of the rectification pages (问题清单, 我的整改, 复查销号): badges, photos, the history, and the forms that
make one transition of a finding's life cycle.

Every rule is civeval.findings' (which transitions a user may make, what each needs, who sees which finding); this
module turns widget values into its calls and shows its refusals in Chinese. A transition runs in its submit button's
callback with the version of the finding the user was looking at, so a change someone else made meanwhile is refused
("已被他人处理，请刷新后再试") instead of being overwritten. Callbacks run before the page, so they check the sign-in
themselves.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
from collections.abc import Iterable, Sequence

import pandas as pd
import streamlit as st

from civeval import audit, auth, findings, lookup, photos
from civeval.findings import ESCALATION_LABELS, Escalation, Finding, FindingAction, FindingError
from civeval.models import EvaluationIndex, FindingSource, FindingStatus, Method, Point, Severity
from civeval.permissions import PermissionDenied
from civeval.responsibility import responsible_unit
from civeval.ui import common, session

log = logging.getLogger(__name__)

A = FindingAction
S = FindingStatus
LOCAL = dt.timezone(dt.timedelta(hours=8))  # China is UTC+8 throughout; the store keeps naive UTC
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "heic", "heif"]
THUMB_SIDE = 480

# Touch targets of at least 48 px; the file uploader in Chinese; photos never wider than their column.
STYLE = """
<style>
.stButton button, .stFormSubmitButton button { min-height: 48px; }
.stButton button p, .stFormSubmitButton button p { font-size: 1.02rem; }
[data-testid="stTextInput"] input, [data-testid="stDateInput"] input { min-height: 44px; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { min-height: 48px; }
[data-testid="stFileUploaderDropzone"] button p { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button p::after { content: "选择照片"; font-size: 1rem; }
[data-testid="stImage"] img { max-width: 100%; height: auto; border-radius: 4px; }
.fw-meta { color: #333; line-height: 1.6; }
.fw-measures { border-left: 4px solid #1a7f37; background: #f0f8f1; color: #1d1d1d; padding: .4rem .7rem;
               border-radius: 4px; white-space: pre-wrap; }
.fw-empty { color: #666; border: 1px dashed #bbb; border-radius: 4px; padding: 1.2rem .6rem; text-align: center; }
</style>
"""

STATUS_COLORS = {
    S.assigned: "blue",
    S.in_progress: "orange",
    S.submitted: "violet",
    S.closed: "green",
    S.long_term: "gray",
    S.voided: "gray",
}
ESCALATION_STYLE = {
    Escalation.due_soon: ("orange", ":material/schedule:"),
    Escalation.overdue: ("red", ":material/warning:"),
    Escalation.escalated: ("red", ":material/priority_high:"),
}
MANUAL_SOURCES = ("patrol", "unannounced", "hotline", "snapshot", "leader", "other")  # FindingSource values


def today() -> dt.date:
    """The date deadlines are counted against: the store's clock, as civeval.findings and civeval.metrics count."""
    return audit.today()


def local_time(at: dt.datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as Beijing time."""
    if at is None:
        return ""
    return at.replace(tzinfo=dt.UTC).astimezone(LOCAL).strftime(fmt)


def pct(rate: float | None) -> str:
    return "—" if rate is None else f"{rate * 100:.1f}%"


def deadline_text(f: Finding, on: dt.date) -> str:
    """“期限 11-05（还剩 2 天）”, “期限 11-05（今天到期）”, “期限 11-05（逾期 3 天）”."""
    if f.status not in findings.OPEN_STATES:
        return f"期限 {f.deadline:%Y-%m-%d}"
    late = f.days_overdue(on)
    if late:
        return f"期限 {f.deadline:%Y-%m-%d}（逾期 {late} 天）"
    left = (f.deadline - on).days
    return f"期限 {f.deadline:%Y-%m-%d}（{'今天到期' if left == 0 else f'还剩 {left} 天'}）"


def point_label(f: Finding) -> str:
    return f"{f.point_code} {f.point_name}" if f.point_code else "（无具体点位）"


def standard_label(f: Finding) -> str:
    return f"{f.standard_code} {f.standard_text}" if f.standard_code else "（未对应测评标准）"


def badges(f: Finding, on: dt.date) -> None:
    """Status, escalation (即将到期 / 已逾期 / 严重逾期), a pending extension and a recurrence, in one row."""
    with st.container(horizontal=True, gap="small"):
        st.badge(f.status.label, color=STATUS_COLORS.get(f.status, "gray"))
        level = f.escalation(on)
        if level is not Escalation.none:
            color, icon = ESCALATION_STYLE[level]
            st.badge(ESCALATION_LABELS[level], color=color, icon=icon)
        if f.extension_until is not None and f.status in findings.OPEN_STATES:
            st.badge(f"已申请延期至 {f.extension_until:%m-%d}，待审批", color="yellow", icon=":material/update:")
        if f.recurrence_of:
            st.badge(f"反弹（原问题 {f.recurrence_of}）", color="violet", icon=":material/replay:")


def matches(f: Finding, search: str) -> bool:
    """Whether every word of ``search`` occurs in the finding's code, point, street, standard, unit or description."""
    terms = lookup.search_terms(search)
    if not terms:
        return True
    fields = [
        f.code,
        f.point_code,
        f.point_name,
        f.street,
        f.standard_code,
        f.standard_text,
        f.unit,
        f.description,
        f.round_name,
    ]
    haystack = lookup.normalise(lookup.SEP.join(x or "" for x in fields))
    return all(t in haystack for t in terms)


# --- photos -----------------------------------------------------------------------------------------------------


@st.cache_data(max_entries=2000, show_spinner=False)
def _thumbnail(url: str, photo_id: int, side: int) -> bytes | None:
    """A small JPEG of a stored photo (stored once by content: an id always shows the same picture)."""
    engine = common.engine()
    try:
        with engine.connect() as conn:
            return photos.thumbnail(photos.photo_store(engine).get_bytes(conn, photo_id), side)
    except (photos.PhotoNotFound, photos.PhotoRefused):
        return None
    except Exception:  # a file share gone away: a missing picture, never a traceback
        log.exception("thumbnail of photo %s", photo_id)
        return None


def _image(url: str, photo_id: int, width: int | str) -> None:
    thumb = _thumbnail(url, photo_id, THUMB_SIDE)
    if thumb is None:
        st.warning("照片文件缺失", icon=":material/broken_image:")
    else:
        st.image(thumb, width=width)


def photo_strip(
    photo_ids: Sequence[int], *, key: str, empty: str = "没有照片", width: int = 200, big: bool = False
) -> None:
    """The photos side by side (wrapping), each at most ``width`` px wide; with ``big``, the first one as wide as
    its column and the others small below it. A dashed box saying ``empty`` when there is none."""
    if not photo_ids:
        st.html(f'<div class="fw-empty">{html.escape(empty)}</div>')
        return
    url = str(common.engine().url)
    with st.container(key=key, gap="small"):
        rest = photo_ids
        if big:
            _image(url, photo_ids[0], "stretch")
            rest, width = photo_ids[1:], min(width, 120)
        if rest:
            with st.container(horizontal=True, gap="small"):
                for photo_id in rest:
                    _image(url, photo_id, width)


def before_after(f: Finding, *, key: str, width: int = 200, big: bool = False) -> None:
    """整改前 and 整改后 photos in two columns, side by side (also on a portrait tablet)."""
    before, after = st.columns(2, gap="small")
    with before:
        st.markdown("**整改前**")
        photo_strip(f.before_photos, key=f"{key}_before", empty="没有整改前照片", width=width, big=big)
    with after:
        st.markdown("**整改后**")
        photo_strip(f.after_photos, key=f"{key}_after", empty="尚未上传整改后照片", width=width, big=big)


# --- history ----------------------------------------------------------------------------------------------------


def _action_label(action: str) -> str:
    if action == "create":
        return "登记交办"
    try:
        return FindingAction(action).label
    except ValueError:
        return action


def _status_label(value: str | None) -> str:
    try:
        return FindingStatus(value).label if value else ""
    except ValueError:
        return value or ""


def history_frame(events: Iterable[dict]) -> pd.DataFrame:
    """The events of a finding as a table: when, who, what, the change of status, and the reason given."""
    rows = []
    for e in events:
        detail = e.get("detail") or {}
        extra = ""
        if e["action"] == "create" and "deadline" in detail:
            extra = f"期限 {detail['deadline']}"
        elif e["action"] == "request_extension" and "requested" in detail:
            extra = f"申请延期至 {detail['requested']}"
        elif e["action"] == "grant_extension" and "to" in detail:
            extra = f"期限 {detail.get('from', '')} → {detail['to']}"
        elif e["action"] == "reassign" and "to" in detail:
            extra = f"{detail.get('from', '')} → {detail['to']}"
        status = _status_label(e["to_status"])
        if e["from_status"] not in (None, e["to_status"]):
            status = f"{_status_label(e['from_status'])} → {status}"
        rows.append(
            {
                "时间": local_time(e["at"]),
                "操作人": e["actor"],
                "操作": _action_label(e["action"]),
                "状态": status,
                "原因/说明": "；".join(x for x in (e.get("reason") or "", extra) if x),
            }
        )
    return pd.DataFrame(rows, columns=["时间", "操作人", "操作", "状态", "原因/说明"])


def latest_submission(events: Sequence[dict]) -> dict | None:
    """The last 提交整改 event (its reason holds the measures taken), or None."""
    return next((e for e in reversed(events) if e["action"] == A.submit.value), None)


# --- messages ---------------------------------------------------------------------------------------------------


def say(key: str, kind: str, text: str) -> None:
    """A message shown once where the page calls ``common.show_messages(key)`` (kind: success, info, warning, error)."""
    common.leave_message(key, kind, text)


def message_key(code: str) -> str:
    return f"fw_msgs_{code}"


def show_finding_messages(code: str) -> None:
    common.show_messages(message_key(code))


# --- transitions ------------------------------------------------------------------------------------------------

# What each transition asks the user for, beyond the button: (label of the reason box or None, reason required)
REASON = {
    A.start: (None, False),
    A.submit: ("整改措施（做了什么、何时完成）", True),
    A.pass_reinspection: ("复查意见（可不填）", False),
    A.fail_reinspection: ("不通过的原因", True),
    A.request_extension: ("延期理由", True),
    A.grant_extension: ("说明（可不填）", False),
    A.refuse_extension: ("驳回理由", True),
    A.reassign: ("转办理由", True),
    A.mark_long_term: ("列为长效整改的理由", True),
    A.void: ("作废原因", True),
}
DONE = {
    A.start: "已开始整改",
    A.submit: "已提交整改，等待复查",
    A.pass_reinspection: "复查通过，已销号",
    A.fail_reinspection: "复查不通过，已退回责任单位整改",
    A.request_extension: "已申请延期，等待审批",
    A.grant_extension: "已批准延期",
    A.refuse_extension: "已驳回延期申请",
    A.reassign: "已转办",
    A.mark_long_term: "已列为长效整改",
    A.void: "已作废",
}
ICONS = {
    A.start: ":material/play_arrow:",
    A.submit: ":material/upload:",
    A.pass_reinspection: ":material/task_alt:",
    A.fail_reinspection: ":material/undo:",
    A.request_extension: ":material/update:",
    A.grant_extension: ":material/check:",
    A.refuse_extension: ":material/block:",
    A.reassign: ":material/swap_horiz:",
    A.mark_long_term: ":material/hourglass_empty:",
    A.void: ":material/delete:",
}


def _nonce(code: str) -> int:
    return st.session_state.get(f"fw_nonce_{code}", 0)


def form_key(prefix: str, code: str, action: FindingAction) -> str:
    """The key of a transition's form; its widgets are ``<form key>_reason`` / ``_deadline`` / ``_unit`` /
    ``_photos`` and its button ``<form key>_go``. The number at the end moves on after each success (empty form)."""
    return f"{prefix}_{action.value}_{code}_{_nonce(code)}"


def uploads(value: object) -> list[tuple[bytes, str]]:
    """(bytes, file name) of what a file uploader or camera holds."""
    files = value if isinstance(value, list) else [value] if value is not None else []
    return [(f.getvalue(), f.name) for f in files]


def run_transition(
    code: str,
    action: FindingAction,
    version: int | None,
    *,
    reason: str = "",
    deadline: dt.date | None = None,
    unit: str | None = None,
    photos_data: Sequence[tuple[bytes, str]] = (),
    done_key: str | None = None,
) -> findings.Finding | None:
    """Make one transition as the signed-in user; a refusal is told in the finding's block (``message_key``), a
    success there or under ``done_key``. Returns the finding after it, or None. (The buttons' handler; tests may
    call it.)"""
    where = message_key(code)
    engine = common.engine()
    actor = auth.resume_session(engine, st.session_state.get(session.TOKEN_KEY))
    if actor is None:
        say(where, "error", "登录已过期，本次操作未保存。请刷新页面重新登录后再试。")
        return None
    try:
        after = findings.transition(
            engine,
            actor,
            code,
            action,
            reason=reason.strip(),
            deadline=deadline,
            unit=unit,
            photos_data=photos_data,
            expected_version=version,
        )
    except (FindingError, PermissionDenied, photos.PhotoRefused, photos.PhotoStoreError) as e:
        say(where, "error", f"未保存：{e}")
        return None
    except Exception:  # the database unreachable, a full disk …: never a traceback on the tablet
        log.exception("transition %s %s", code, action.value)
        say(where, "error", "未保存：系统暂时无法保存，请稍后再试。")
        return None
    text = f"问题 {code}：{DONE[action]}。"
    if action is A.request_extension and deadline:
        text = f"问题 {code}：已申请延期至 {deadline:%Y-%m-%d}，等待审批。"
    say(done_key or where, "success", text)
    st.session_state[f"fw_nonce_{code}"] = _nonce(code) + 1  # the next form starts empty
    return after


def _on_form(code: str, action: FindingAction, version: int, key: str, done_key: str | None) -> None:
    state = st.session_state
    run_transition(
        code,
        action,
        version,
        reason=str(state.get(f"{key}_reason") or ""),
        deadline=state.get(f"{key}_deadline"),
        unit=state.get(f"{key}_unit"),
        photos_data=uploads(state.get(f"{key}_photos")),
        done_key=done_key,
    )


def action_button(
    f: Finding, action: FindingAction, *, prefix: str, done_key: str | None = None, label: str | None = None
) -> None:
    """A transition that needs nothing more than a tap (开始整改)."""
    st.button(
        label or action.label,
        key=f"{form_key(prefix, f.code, action)}_go",
        icon=ICONS[action],
        on_click=_on_form,
        args=(f.code, action, f.version, form_key(prefix, f.code, action), done_key),
        width="stretch",
    )


def action_form(
    f: Finding,
    action: FindingAction,
    *,
    prefix: str,
    units: Sequence[str] = (),
    done_key: str | None = None,
    label: str | None = None,
    primary: bool = True,
) -> None:
    """A transition's form, asking for what it needs (reason, new deadline, new unit, after-photos)."""
    key = form_key(prefix, f.code, action)
    reason_label, required = REASON[action]
    with st.form(key, border=False, enter_to_submit=False):
        if action is A.request_extension:
            st.date_input(
                "申请延期至",
                value=max(f.deadline, today()) + dt.timedelta(days=7),
                min_value=f.deadline + dt.timedelta(days=1),
                key=f"{key}_deadline",
            )
        elif action is A.grant_extension:
            st.date_input(
                "批准延期至（可缩短申请的日期）",
                value=f.extension_until or f.deadline,
                min_value=min(today(), f.extension_until or f.deadline),
                key=f"{key}_deadline",
            )
        elif action is A.reassign:
            st.selectbox(
                "新的责任单位",
                [u for u in units if u != f.unit],
                index=None,
                placeholder="请选择单位",
                key=f"{key}_unit",
            )
            st.date_input("新的整改期限（可不填，沿用原期限）", value=None, min_value=today(), key=f"{key}_deadline")
        if reason_label:
            st.text_area(
                reason_label + ("（必填）" if required else ""),
                key=f"{key}_reason",
                height=100 if action is A.submit else 68,
                max_chars=2000,
            )
        if action is A.submit:
            st.file_uploader(
                "整改后照片（必传，可多张）",
                type=PHOTO_TYPES,
                accept_multiple_files=True,
                key=f"{key}_photos",
            )
        st.form_submit_button(
            label or action.label,
            key=f"{key}_go",
            icon=ICONS[action],
            type="primary" if primary else "secondary",
            on_click=_on_form,
            args=(f.code, action, f.version, key, done_key),
            width="stretch",
        )


def transition_controls(f: Finding, allowed: Sequence[FindingAction], *, prefix: str, units: Sequence[str]) -> None:
    """The buttons for the transitions the user may make now (``findings.allowed_actions``), each in its own
    expander when it needs more than a tap."""
    if not allowed:
        st.caption("您对该问题当前没有可办理的操作。")
        return
    simple = [a for a in allowed if REASON[a][0] is None]
    for action in simple:
        action_button(f, action, prefix=prefix)
    for action in allowed:
        if action in simple:
            continue
        with st.expander(action.label, icon=ICONS[action], key=f"{form_key(prefix, f.code, action)}_box"):
            action_form(f, action, prefix=prefix, units=units, primary=action is not A.void)


def reinspection_form(f: Finding, *, prefix: str, done_key: str | None = None) -> None:
    """复查: one opinion box and two big buttons, 通过（销号） and 不通过 (which needs the opinion)."""
    key = f"{prefix}_{f.code}_{_nonce(f.code)}"
    with st.form(key, border=False, enter_to_submit=False):
        st.text_area("复查意见（不通过时必填）", key=f"{key}_reason", height=68, max_chars=2000)
        ok, no = st.columns(2, gap="small")
        ok.form_submit_button(
            "通过（销号）",
            key=f"{key}_pass",
            type="primary",
            icon=ICONS[A.pass_reinspection],
            on_click=_on_form,
            args=(f.code, A.pass_reinspection, f.version, key, done_key),
            width="stretch",
        )
        no.form_submit_button(
            "不通过",
            key=f"{key}_fail",
            icon=ICONS[A.fail_reinspection],
            on_click=_on_form,
            args=(f.code, A.fail_reinspection, f.version, key, done_key),
            width="stretch",
        )


# --- reporting by hand ------------------------------------------------------------------------------------------


def severity_label(value: str | None) -> str:
    return "按测评标准或默认（一般）" if value is None else Severity(value).label


REPORT_MESSAGES = "fr_msgs"


def _report_key(name: str) -> str:
    return f"fr_{name}_{st.session_state.get('fr_nonce', 0)}"


def report_form(
    points: Sequence[Point],
    units: Sequence[str],
    index: EvaluationIndex | None,
    index_id: int | None,
    *,
    done_key: str,
    pick_key: str | None = None,
) -> None:
    """登记问题: source, point (searched), standard, unit (by the responsibility rule when a point and a standard are
    chosen, else to be chosen), description, severity and photos; ``findings.create_finding`` does the rest."""
    k = _report_key
    state = st.session_state
    common.show_messages(REPORT_MESSAGES)
    st.selectbox("问题来源", MANUAL_SOURCES, format_func=lambda v: FindingSource(v).label, key=k("source"))

    by_code = {p.code: p for p in points}
    search = st.text_input("查找点位", key=k("point_search"), placeholder="点位编号、名称、地址或街道")
    options = [p.code for p in lookup.filter_points(points, search=search)[:200]]
    if state.get(k("point")) in by_code and state[k("point")] not in options:
        options.insert(0, state[k("point")])  # keep the point chosen while another search is typed
    point_code = st.selectbox(
        f"点位（可不选；找到 {len(options)} 个）",
        options,
        index=None,
        placeholder="不指定点位",
        format_func=lambda c: f"{c} {by_code[c].name}（{by_code[c].street or '未指定街道'}）",
        key=k("point"),
    )
    point = by_code.get(point_code) if point_code else None

    standard = None
    if index is not None:
        rows = lookup.filter_standards(
            index, methods=[Method.field], point_types=[point.point_type] if point is not None else []
        )
        standards = {s.code: s for _, _, s in rows}
        if state.get(k("standard")) not in standards:
            state[k("standard")] = None  # the point changed to a type the standard is not checked at
        chosen = st.selectbox(
            "测评标准（可不选）",
            list(standards),
            index=None,
            placeholder="不对应测评标准",
            format_func=lambda c: f"{c} {standards[c].text}",
            key=k("standard"),
        )
        standard = standards.get(chosen) if chosen else None

    default = responsible_unit(standard, point) if standard is not None and point is not None else None
    unit_key = k(f"unit_{point_code or ''}_{standard.code if standard else ''}")
    st.selectbox(
        "责任单位（必填）",
        list(units),
        index=list(units).index(default) if default in units else None,
        placeholder="请选择责任单位",
        key=unit_key,
    )
    if default:
        st.caption(f"按责任规则（{standard.responsibility.label}）默认交办“{default}”，可改选。")
    else:
        st.caption("选定点位和测评标准后，按责任规则自动带出责任单位。")
    st.text_area("问题描述（必填）", key=k("desc"), height=90, max_chars=5000)
    st.selectbox(
        "严重程度",
        [None, *(s.value for s in Severity)],
        format_func=severity_label,
        key=k("severity"),
        help="整改期限按严重程度（或测评标准自己的整改时限）自动计算。",
    )
    st.file_uploader("问题照片（可多张）", type=PHOTO_TYPES, accept_multiple_files=True, key=k("photos"))
    st.button(
        "登记并交办",
        key=k("go"),
        type="primary",
        icon=":material/add_task:",
        on_click=_on_report,
        args=(index_id if standard is not None else None, unit_key, done_key, pick_key),
        width="stretch",
    )


def _on_report(index_id: int | None, unit_key: str, done_key: str, pick_key: str | None) -> None:
    k = _report_key
    state = st.session_state
    engine = common.engine()
    actor = auth.resume_session(engine, state.get(session.TOKEN_KEY))
    if actor is None:
        say(REPORT_MESSAGES, "error", "登录已过期，问题未登记。请刷新页面重新登录后再试。")
        return
    unit = state.get(unit_key)
    if not unit:
        say(REPORT_MESSAGES, "error", "未登记：请选择责任单位。")
        return
    severity = state.get(k("severity"))
    new = findings.NewFinding(
        source=FindingSource(state.get(k("source")) or "other"),
        description=str(state.get(k("desc")) or ""),
        point_code=state.get(k("point")),
        unit=unit,
        standard_code=state.get(k("standard")) if index_id is not None else None,
        index_id=index_id,
        severity=Severity(severity) if severity else None,
    )
    try:
        code = findings.create_finding(engine, actor, new, photos_data=uploads(state.get(k("photos"))))
        with engine.connect() as conn:
            f = findings.get_finding(conn, actor, code)
    except (FindingError, PermissionDenied, photos.PhotoRefused, photos.PhotoStoreError) as e:
        say(REPORT_MESSAGES, "error", f"未登记：{e}")
        return
    except Exception:
        log.exception("reporting a finding")
        say(REPORT_MESSAGES, "error", "未登记：系统暂时无法保存，请稍后再试。")
        return
    say(done_key, "success", f"已登记问题 {code}，交办“{f.unit}”，整改期限 {f.deadline:%Y-%m-%d}。")
    state["fr_nonce"] = state.get("fr_nonce", 0) + 1  # an empty form next time
    if pick_key:
        state[pick_key] = code
