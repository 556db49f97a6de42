"""The pieces of the inspector's pages (我的任务, 点位打分): one standard's answer block, saved the moment an
answer is given, with its note and photos.

Every rule is civeval.rounds' (what may be answered, what a count of problems means, what stops a submission);
this module turns widget values into its calls and shows what it answers, in Chinese. Session state is only a
cache: each widget starts from the stored answer (``rounds.point_sheet``) and is set again from it whenever the
stored version moves on (another device, a conflict), so a reload always shows what the database holds.

Each block runs as a keyed ``st.fragment``: a tap reruns that block only, and the progress bar when the count of
answered standards moves (``st.rerun([...])`` from the callback). Measured on a 23-standard demo point: about 3.5 KB
sent to the tablet per tap instead of 26 KB for the whole page. Callbacks run without the page around them (no
sign-in check of app.py), so they check the sign-in in the store themselves before writing.
"""

from __future__ import annotations

import datetime as dt
import html
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from civeval import auth, photos, presentation, rounds
from civeval.models import Actor, Answer, Result, ScoringMode, Veto
from civeval.permissions import PermissionDenied
from civeval.scoring import ScoringError
from civeval.ui import common, session

log = logging.getLogger(__name__)

PAGES_DIR = Path(__file__).resolve().parent / "pages"
SCORE_PAGE = PAGES_DIR / "score_point.py"
TASKS_PAGE = PAGES_DIR / "tasks.py"
TARGET_KEY = "scoring_target"  # (round id, point code) last opened, when the URL has lost its query parameters
LOCAL = dt.timezone(dt.timedelta(hours=8))  # China is UTC+8 throughout; the store keeps naive UTC
PHOTO_TYPES = ["jpg", "jpeg", "png", "webp", "gif", "bmp", "heic", "heif"]
COUNTS = ["0", "1", "2", "3", "4", "5+", "na"]  # a deduction standard's problem instances, then not applicable
THUMB_SIDE = 240
# A tap reruns only its standard's block (st.fragment); CIVEVAL_SCORING_FRAGMENTS=0 reruns the whole page instead
# (to compare, or should a Streamlit release break fragments with callbacks).
FRAGMENTS = os.environ.get("CIVEVAL_SCORING_FRAGMENTS", "1").strip() != "0"

# Touch targets of at least 48 px, dark text for sun glare, nothing wider than a portrait tablet.
STYLE = """
<style>
[data-testid="stButtonGroup"] button { min-height: 48px; min-width: 60px; }
[data-testid="stButtonGroup"] button p { font-size: 1.05rem; }
[data-testid="stButtonGroup"] button[aria-checked="true"] {
  background-color: #1a4f8b !important; border-color: #1a4f8b !important; color: #fff !important; }
[data-testid="stButtonGroup"] button[aria-checked="true"] p { color: #fff !important; font-weight: 600; }
.stButton button { min-height: 48px; }
[data-testid="stTextInput"] input, [data-testid="stNumberInput"] input { min-height: 48px; font-size: 1rem; }
[data-testid="stNumberInput"] button { min-width: 48px; min-height: 48px; }
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] p { color: #3a3a3a; }
[data-testid="stWidgetLabel"] p { color: #222; }
[data-testid="stFileUploaderDropzoneInstructions"] { display: none; }
[data-testid="stFileUploaderDropzone"] button { min-height: 48px; }
[data-testid="stFileUploaderDropzone"] button p { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button p::after { content: "选择照片"; font-size: 1rem; }
[data-testid="stCameraInputButton"] { min-height: 48px; font-size: 0 !important; }
[data-testid="stCameraInputButton"]::after { content: "拍照"; font-size: 1rem; }
[data-testid="stCameraInputWebcamComponent"] p { font-size: 0; }
[data-testid="stCameraInputWebcamComponent"] p a { display: none; }
[data-testid="stCameraInputWebcamComponent"] p::before { content: "请在浏览器中允许本网页使用相机"; font-size: 1rem; }
[data-testid="stCheckbox"] label { min-height: 48px; align-items: center; }
.sc-hint { border-left: 4px solid #b8860b; background: #fff8e1; color: #2b2b2b; padding: .35rem .6rem;
           border-radius: 4px; font-size: .95rem; }
.sc-text { font-size: 1.08rem; color: #111; line-height: 1.5; }
[data-testid="stProgress"] p { color: #222; font-weight: 600; }
</style>
"""


@dataclass(frozen=True)
class Target:
    """The point being scored in one round; widget keys name round, point and standard."""

    round_id: int
    point: str

    def key(self, *parts: object) -> str:
        return "_".join(["sc", str(self.round_id), self.point, *(str(p) for p in parts)])


# --- opening a point ----------------------------------------------------------------------------------------


def open_point(round_id: int, point_code: str) -> None:
    """Go to the scoring page for this point; the URL then says which (``?round=3&point=P00012``)."""
    st.session_state[TARGET_KEY] = (round_id, point_code)
    st.switch_page(SCORE_PAGE, query_params={"round": str(round_id), "point": point_code})


def target_from_request() -> Target | None:
    """The point named by the URL (``round``, ``point``), else the one last opened in this session."""
    params = st.query_params
    rid, code = params.get("round"), params.get("point")
    if rid and code and rid.strip().isdigit():
        target = Target(int(rid), code.strip())
        st.session_state[TARGET_KEY] = (target.round_id, target.point)
        return target
    remembered = st.session_state.get(TARGET_KEY)
    if remembered:
        st.query_params.update({"round": str(remembered[0]), "point": remembered[1]})
        return Target(*remembered)
    return None


def next_open_task(conn: sa.Connection, actor: Actor, *, after: Target | None = None) -> rounds.Task | None:
    """The first of the actor's tasks not yet submitted (other than ``after``)."""
    for task in rounds.tasks(conn, actor):
        if task.point.submitted_at is None and (
            after is None or (task.round.id, task.point.point.code) != (after.round_id, after.point)
        ):
            return task
    return None


# --- the sheet, cached for the blocks -------------------------------------------------------------------------


def load_sheet(target: Target, actor: Actor | None = None) -> rounds.PointSheet:
    """Read the point's sheet from the store and keep it for the blocks. Raises RoundError, PermissionDenied."""
    with common.engine().connect() as conn:
        sheet = rounds.point_sheet(conn, actor or common.current_actor(), target.round_id, target.point)
    st.session_state[target.key("sheet")] = sheet
    return sheet


def cached_sheet(target: Target) -> rounds.PointSheet:
    return st.session_state.get(target.key("sheet")) or load_sheet(target)


def _answer_of(target: Target, code: str) -> rounds.StandardAnswer:
    return next(a for a in cached_sheet(target).answers if a.standard.code == code)


def locked(target: Target) -> bool:
    """A submitted point is changed only with a reason (asked for at the top of the page)."""
    sheet = cached_sheet(target)
    return sheet.point.submitted_at is not None and not str(st.session_state.get(target.key("reason"), "")).strip()


def local_time(at: dt.datetime | None) -> str:
    if at is None:
        return ""
    local = at.replace(tzinfo=dt.UTC).astimezone(LOCAL)
    today = dt.datetime.now(LOCAL).date()
    return local.strftime("%H:%M") if local.date() == today else local.strftime("%m-%d %H:%M")


# --- widget values <-> answers ---------------------------------------------------------------------------------


def widget_values(sa_: rounds.StandardAnswer) -> dict[str, object]:
    answer = sa_.answer
    values: dict[str, object] = {"note": answer.note if answer else ""}
    if sa_.standard.scoring_mode is ScoringMode.deduction:
        n = (answer.instances or 0) if answer else 0
        if answer is None:
            values["count"] = None
        elif answer.result is Result.na:
            values["count"] = "na"
        else:
            values["count"] = str(n) if n < 5 else "5+"
        values["more"] = max(n, 5)
    else:
        values["result"] = answer.result.value if answer else None
    return values


def _sync(target: Target, sa_: rounds.StandardAnswer) -> None:
    """Set the block's widgets from the stored answer when it changed since they were last set (or never were)."""
    code = sa_.standard.code
    seen = target.key(code, "seen")
    stale = st.session_state.get(seen) != sa_.version
    for name, value in widget_values(sa_).items():
        key = target.key(code, name)
        if stale or key not in st.session_state:
            st.session_state[key] = value
    st.session_state[seen] = sa_.version


def _answer_from_widgets(target: Target, sa_: rounds.StandardAnswer) -> Answer | None:
    state = st.session_state
    code = sa_.standard.code
    note = str(state.get(target.key(code, "note"), "") or "").strip()
    if sa_.standard.scoring_mode is ScoringMode.deduction:
        choice = state.get(target.key(code, "count"))
        if choice is None:
            return None
        if choice == "na":
            return Answer(result=Result.na, note=note)
        n = int(state.get(target.key(code, "more")) or 5) if choice == "5+" else int(choice)
        return rounds.count_answer(n, note)
    value = state.get(target.key(code, "result"))
    return None if value is None else Answer(result=Result(value), note=note)


# --- callbacks: every change is stored at once ------------------------------------------------------------------


def _say(target: Target, code: str, kind: str, text: str) -> None:
    """A message shown once in the standard's block (kind: success, info, warning, error)."""
    st.session_state.setdefault(target.key(code, "msgs"), []).append((kind, text))


def _actor_for_write(target: Target, code: str) -> Actor | None:
    """The signed-in user, checked in the store (a callback runs before the page's own sign-in check)."""
    actor = auth.resume_session(common.engine(), st.session_state.get(session.TOKEN_KEY))
    if actor is None:
        _say(target, code, "error", "登录已过期，本次修改未保存。请刷新页面重新登录后再改。")
    return actor


def _reason(target: Target) -> str:
    return str(st.session_state.get(target.key("reason"), "") or "").strip()


def save(target: Target, code: str, *, revert_on_error: bool = True) -> int | None:
    """Store the answer the block's widgets now hold. Returns the new version, or None when nothing was stored
    (the reason is then shown in the block)."""
    sa_ = _answer_of(target, code)
    answer = _answer_from_widgets(target, sa_)
    if answer is None:
        return None
    actor = _actor_for_write(target, code)
    if actor is None:
        st.session_state.pop(target.key(code, "seen"), None)
        return None
    try:
        version = rounds.save_answer(
            common.engine(),
            actor,
            target.round_id,
            target.point,
            code,
            answer,
            reason=_reason(target),
            expected_version=sa_.version,
        )
    except rounds.ConflictError as e:
        _say(target, code, "warning", f"{e}。下面已换成最新保存的答案，请核对后再改。")
        st.session_state.pop(target.key(code, "seen"), None)  # show the stored answer
        _reload_quietly(target, actor)
        return None
    except (rounds.RoundError, PermissionDenied, ScoringError) as e:
        _say(target, code, "error", f"未保存：{e}")
        if revert_on_error:
            st.session_state.pop(target.key(code, "seen"), None)
        return None
    except Exception:  # the database unreachable, full disk …: never a traceback on the tablet
        log.exception("saving %s %s %s", target.round_id, target.point, code)
        _say(target, code, "error", "未保存：系统暂时无法保存，请稍后再试一次。")
        if revert_on_error:
            st.session_state.pop(target.key(code, "seen"), None)
        return None
    _reload_quietly(target, actor)
    st.session_state[target.key(code, "seen")] = version
    return version


def _reload_quietly(target: Target, actor: Actor) -> None:
    try:
        load_sheet(target, actor)
    except Exception:
        log.exception("reloading the sheet of %s %s", target.round_id, target.point)
        st.session_state.pop(target.key("sheet"), None)


def add_photos(target: Target, code: str, files: list[tuple[bytes, str]], actor: Actor | None = None) -> list[int]:
    """Store uploaded photos (bytes, file name) for a standard's answer; refusals and far-away photos are told in
    the block. Returns the stored photo ids. (The uploader's and the camera's handler; tests may call it.)"""
    actor = actor or _actor_for_write(target, code)
    if actor is None:
        return []
    stored: list[int] = []
    engine = common.engine()
    point = cached_sheet(target).point.point
    for data, name in files:
        try:
            photo_id = rounds.add_photo(engine, actor, target.round_id, target.point, code, data, name)
        except photos.PhotoRefused as e:
            _say(target, code, "error", str(e))
            continue
        except (rounds.RoundError, PermissionDenied, photos.PhotoStoreError) as e:
            _say(target, code, "error", f"照片“{photos.display_name(name)}”未保存：{e}")
            continue
        except Exception:
            log.exception("storing a photo for %s %s %s", target.round_id, target.point, code)
            _say(target, code, "error", f"照片“{photos.display_name(name)}”未保存：系统暂时无法保存，请稍后再试。")
            continue
        stored.append(photo_id)
        with engine.connect() as conn:
            check = rounds.photo_location(conn, photo_id, point)
        if check is not None and check.too_far:
            _say(target, code, "warning", f"“{photos.display_name(name)}”：{check.message}，请确认是在本点位拍摄的。")
    if stored:
        _say(target, code, "success", f"已保存 {len(stored)} 张照片")
    _reload_quietly(target, actor)
    return stored


def _on_answer(target: Target, code: str) -> None:
    before = cached_sheet(target).answered
    save(target, code, revert_on_error=True)
    _rerun_with_progress(target, code, before)


def _on_note(target: Target, code: str) -> None:
    save(target, code, revert_on_error=False)  # keep what was typed when it could not be stored


def _on_upload(target: Target, code: str, widget: str) -> None:
    value = st.session_state.get(widget)
    files = value if isinstance(value, list) else [value] if value is not None else []
    add_photos(target, code, [(f.getvalue(), f.name) for f in files])
    nonce = target.key(code, "nonce")
    st.session_state[nonce] = st.session_state.get(nonce, 0) + 1  # an empty uploader next time
    st.session_state.pop(widget, None)


def _on_remove(target: Target, code: str, photo_id: int) -> None:
    actor = _actor_for_write(target, code)
    if actor is None:
        return
    try:
        rounds.remove_photo(
            common.engine(), actor, target.round_id, target.point, code, photo_id, reason=_reason(target)
        )
        _say(target, code, "success", "已删除照片")
    except (rounds.RoundError, PermissionDenied) as e:
        _say(target, code, "error", f"未删除：{e}")
    _reload_quietly(target, actor)


# --- drawing a block ----------------------------------------------------------------------------------------------


@st.cache_data(max_entries=2000, show_spinner=False)
def _thumbnail(url: str, photo_id: int) -> bytes | None:
    """A small JPEG of a stored photo (photos are stored once by content: an id always shows the same picture)."""
    engine = common.engine()
    try:
        with engine.connect() as conn:
            return photos.thumbnail(photos.photo_store(engine).get_bytes(conn, photo_id), THUMB_SIDE)
    except (photos.PhotoNotFound, photos.PhotoRefused):
        return None


def _status_badge(target: Target, sa_: rounds.StandardAnswer) -> None:
    if sa_.answer is None:
        st.badge("未作答", icon=":material/radio_button_unchecked:", color="orange")
        return
    who = "" if sa_.answered_by in ("", common.current_actor().username) else f"（{sa_.answered_by}）"
    st.badge(f"已保存 {local_time(sa_.answered_at)}{who}", icon=":material/check_circle:", color="green")


def _answer_control(target: Target, sa_: rounds.StandardAnswer, disabled: bool) -> None:
    s = sa_.standard
    code = s.code
    if s.scoring_mode is ScoringMode.deduction:
        labels = {"5+": "5处以上", "na": Result.na.label}
        st.segmented_control(
            "发现问题（处）",
            COUNTS,
            format_func=lambda v: labels.get(v, v),
            required=True,
            key=target.key(code, "count"),
            on_change=_on_answer,
            args=(target, code),
            disabled=disabled,
        )
        if st.session_state.get(target.key(code, "count")) == "5+":
            st.number_input(
                "问题处数",
                min_value=5,
                max_value=999,
                step=1,
                key=target.key(code, "more"),
                on_change=_on_answer,
                args=(target, code),
                disabled=disabled,
            )
        return
    st.segmented_control(
        "测评结果",
        [r.value for r in rounds.result_choices(s)],
        format_func=lambda v: Result(v).label,
        required=True,
        key=target.key(code, "result"),
        on_change=_on_answer,
        args=(target, code),
        disabled=disabled,
        label_visibility="collapsed",
    )


def _photos(target: Target, sa_: rounds.StandardAnswer, disabled: bool) -> None:
    code = sa_.standard.code
    if sa_.photo_ids:
        url = str(common.engine().url)
        with st.container(horizontal=True, gap="small", key=target.key(code, "photos")):
            for photo_id in sa_.photo_ids:
                with st.container(width=THUMB_SIDE // 2 + 40, gap="small"):
                    thumb = _thumbnail(url, photo_id)
                    if thumb is None:
                        st.warning("照片文件缺失")
                    else:
                        st.image(thumb, width=THUMB_SIDE // 2 + 40)
                    st.button(
                        "删除",
                        key=target.key(code, "remove", photo_id),
                        icon=":material/delete:",
                        on_click=_on_remove,
                        args=(target, code, photo_id),
                        disabled=disabled,
                        width="stretch",
                    )
    if not sa_.failed:
        return
    nonce = st.session_state.get(target.key(code, "nonce"), 0)
    upload_key = target.key(code, "upload", nonce)
    st.file_uploader(
        "问题照片（可选多张）" + ("" if sa_.photo_ids else "：不符合须上传照片"),
        type=PHOTO_TYPES,
        accept_multiple_files=True,
        key=upload_key,
        on_change=_on_upload,
        args=(target, code, upload_key),
        disabled=disabled,
    )
    if st.toggle("用相机拍照", key=target.key(code, "camera"), disabled=disabled):
        camera_key = target.key(code, "shot", nonce)
        st.camera_input(
            "拍照", key=camera_key, on_change=_on_upload, args=(target, code, camera_key), disabled=disabled
        )


def standard_block(target: Target, code: str) -> None:
    """One standard: code, text, marks, 操作提示, the answer control, the note and the photos, saved on change."""
    sa_ = _answer_of(target, code)
    s = sa_.standard
    _sync(target, sa_)
    disabled = locked(target)
    with st.container(border=True, key=target.key(code, "block")):
        with st.container(horizontal=True, vertical_alignment="center", gap="small"):
            st.markdown(f"**{s.code}**　{presentation.marks_line(sa_.standard)}", width="content")
            if s.veto is not Veto.none:
                st.badge(f"一票否决：{s.veto.label}", color="red")
            _status_badge(target, sa_)
        st.html(f'<div class="sc-text">{html.escape(s.text)}</div>')
        if s.instructions:
            st.html(f'<div class="sc-hint"><b>操作提示：</b>{html.escape(s.instructions)}</div>')
        _answer_control(target, sa_, disabled)
        for kind, text in st.session_state.pop(target.key(code, "msgs"), []):
            getattr(st, kind)(text)
        placeholder = "不符合时必填：问题、位置、数量" if sa_.answer else "先选择测评结果，再填写说明"
        st.text_input(
            "说明",
            key=target.key(code, "note"),
            placeholder=placeholder,
            max_chars=500,
            on_change=_on_note,
            args=(target, code),
            disabled=disabled or sa_.answer is None,
        )
        _photos(target, sa_, disabled)


PROGRESS_FRAGMENT = "sc_progress"


def _fragment_key(code: str) -> str:
    return f"sc_fragment_{code}"


def standard_blocks(target: Target, codes: list[str]) -> None:
    """The blocks of these standards, each rerunning on its own when answered (a keyed fragment per standard)."""
    for code in codes:
        if FRAGMENTS:
            st.fragment(standard_block, key=_fragment_key(code))(target, code)
        else:
            standard_block(target, code)


def progress(target: Target) -> None:
    """The point's progress bar; a block whose answer changes the count reruns it with itself."""
    if FRAGMENTS:
        st.fragment(_progress, key=PROGRESS_FRAGMENT)(target)
    else:
        _progress(target)


def _progress(target: Target) -> None:
    sheet = cached_sheet(target)
    done, total = sheet.answered, len(sheet.answers)
    st.progress(done / total if total else 1.0, text=f"已答 {done}/{total}")


def _rerun_with_progress(target: Target, code: str, answered_before: int) -> None:
    """After a callback: when the count of answered standards moved, rerun the progress bar with the block (in a
    full-page run, as after a reload or in AppTest, the page draws both anyway)."""
    sheet = st.session_state.get(target.key("sheet"))
    ctx = get_script_run_ctx()
    fragment_run = ctx is not None and bool(ctx.fragment_ids_this_run)
    if fragment_run and sheet is not None and sheet.answered != answered_before:
        st.rerun([_fragment_key(code), PROGRESS_FRAGMENT])
