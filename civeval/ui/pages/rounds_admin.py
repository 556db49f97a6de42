"""测评轮次 (office): list and create rounds; the sampling plan, a preview of the draw (table and offline map) before
it is confirmed; sharing the points among inspectors; starting and closing a round.

Every rule is civeval.rounds' / civeval.sampling's (what may be drawn, how points are shared, which status may follow
which); this page asks, previews and shows. Nothing is stored until 确认抽样 / 自动分配 / 保存改派 / a status button.
"""

import datetime as dt
import random
import zlib
from collections import Counter

import pandas as pd
import streamlit as st
from streamlit import column_config as cc

from civeval import rounds, sampling
from civeval.models import Point, Quota, RoundKind, RoundStatus, SamplePlan
from civeval.permissions import PermissionDenied
from civeval.presentation import NONE, POINT_LABELS
from civeval.store import repo
from civeval.ui import common
from civeval.ui import round_widgets as rw

MESSAGES = "ra_messages"
PICKER = "ra_round"
QUOTA_WIDTHS = (150, 90, 100, 110, 120)  # px: 点位类型, 启用点位, 每点标准数, 抽取数量, 抽取比例
REFUSED = (rounds.RoundError, sampling.SampleError, PermissionDenied, ValueError)

actor = common.current_actor()
engine = common.engine()
common.page("测评轮次", "新建测评轮次，按抽样方案随机抽取点位（先预览、再确认），分配测评员，开始和结束测评。")
common.show_messages(MESSAGES)

with engine.connect() as conn:
    infos = rounds.list_rounds(conn, actor)
    indexes = repo.list_indexes(conn)
index_titles = {i.id: i.title for i in indexes}

# --- the rounds, and a new one -------------------------------------------------------------------------------

if infos:
    st.dataframe(
        rw.rounds_frame(infos),
        hide_index=True,
        column_config={
            "开始日期": cc.DateColumn(format="YYYY-MM-DD"),
            "结束日期": cc.DateColumn(format="YYYY-MM-DD"),
        },
        key="ra_list",
    )

with st.expander("新建测评轮次", expanded=not infos, icon=":material/add:"):
    if not indexes:
        common.empty_state("index", demo=True)
    else:
        with st.form("ra_new", border=False):
            name = st.text_input(
                "轮次名称", key="ra_new_name", placeholder="例如：2026年11月第一次模拟测评", max_chars=200
            )
            a, b = st.columns(2)
            kind = a.selectbox("类型", list(RoundKind), format_func=lambda k: k.label, key="ra_new_kind")
            chosen_index = st.session_state.get("chosen_index_id")
            ids = list(index_titles)
            index_id = b.selectbox(
                "测评体系",
                ids,
                index=ids.index(chosen_index) if chosen_index in ids else 0,
                format_func=index_titles.get,
                key="ra_new_index",
            )
            today = dt.date.today()
            a, b = st.columns(2)
            start = a.date_input("开始日期", value=today, key="ra_new_start", format="YYYY-MM-DD")
            end = b.date_input("结束日期", value=today + dt.timedelta(days=6), key="ra_new_end", format="YYYY-MM-DD")
            if st.form_submit_button("新建", type="primary", icon=":material/add:"):
                try:
                    rid = rounds.create_round(
                        engine, actor, name=name, kind=kind, index_id=index_id, start=start, end=end
                    )
                except REFUSED as e:
                    st.error(f"未新建：{e}", icon=":material/error:")
                else:
                    common.leave_message(MESSAGES, "success", f"已新建测评轮次“{name.strip()}”。下一步：填写抽样方案。")
                    common.forget_widgets("ra_new_")
                    rw.choose_round(rid, PICKER)
                    st.rerun()

info = rw.round_picker(infos, PICKER, label="选择测评轮次")
if info is None:
    st.info("还没有测评轮次。展开上方「新建测评轮次」新建一轮。", icon=":material/info:")
    st.stop()

rid = info.id
closed = info.status is RoundStatus.closed
with engine.connect() as conn:
    index, _ = rounds.round_index(conn, info.index_id)
    register = repo.list_points(conn)
    drawn = rounds.round_points(conn, actor, rid)
    inspector_names = rounds.inspectors(conn, actor)
by_code: dict[str, Point] = {p.code: p for p in register}
types = [pt.name for pt in index.point_types]


def _status(to: RoundStatus, done: str, reason: str = "") -> None:
    try:
        rounds.set_status(engine, actor, rid, to, reason=reason)
    except REFUSED as e:
        st.error(str(e), icon=":material/error:")
    else:
        common.leave_message(MESSAGES, "success", done)
        st.rerun()


# --- the round's header and status ----------------------------------------------------------------------------

with st.container(border=True, key="ra_header"):
    st.subheader(info.name, anchor=False)
    st.markdown(
        f"{info.kind.label}　·　{info.start_date:%Y-%m-%d} 至 {info.end_date:%Y-%m-%d}　·　"
        f"{index_titles.get(info.index_id, NONE)}　·　**{info.status.label}**　·　"
        f"抽取点位 {info.n_points} 个，已提交 {info.n_submitted} 个"
    )
    unassigned = sum(1 for rp in drawn if not rp.inspector)
    with st.container(horizontal=True, gap="small", key="ra_status"):
        if info.status is RoundStatus.planned:
            if st.button(
                "开始测评",
                key="ra_start",
                type="primary",
                icon=":material/play_arrow:",
                disabled=info.n_points == 0,
                help="先确认抽样，才能开始。"
                if info.n_points == 0
                else "开始后，测评员即可在「我的任务」中看到分给自己的点位。",
            ):
                _status(RoundStatus.in_progress, f"“{info.name}”已开始测评。")
        elif info.status is RoundStatus.in_progress:
            with st.popover("结束测评", icon=":material/stop:", key="ra_close_pop"):
                st.markdown("结束后本轮只能查看，不能再打分、改派；重新打开须填写原因。")
                if st.button("确认结束", key="ra_close", type="primary"):
                    _status(RoundStatus.closed, f"“{info.name}”已结束测评。")
        else:
            with st.popover("重新打开", icon=":material/lock_open:", key="ra_reopen_pop"):
                why = st.text_input("重新打开的原因", key=f"ra_reopen_reason_{rid}", max_chars=200)
                if st.button("确认重新打开", key="ra_reopen", type="primary", disabled=not why.strip()):
                    _status(RoundStatus.in_progress, f"“{info.name}”已重新打开。", reason=why)
        rw.offline_sheets_button(engine, actor, info, [rp.inspector for rp in drawn if rp.inspector])
    if closed:
        st.info("本轮已结束，只能查看。如需修改，先“重新打开”并填写原因。", icon=":material/lock:")
    elif info.n_points and unassigned:
        st.warning(f"还有 {unassigned} 个点位没有分配测评员。", icon=":material/warning:")


# --- the sampling plan ---------------------------------------------------------------------------------------


def _stored_plan() -> SamplePlan | None:
    try:
        return SamplePlan.model_validate(info.sample_plan) if info.sample_plan else None
    except ValueError:
        return None


def _plan_text(plan: SamplePlan) -> str:
    quotas = "、".join(
        f"{q.point_type} {q.count} 个" if q.count is not None else f"{q.point_type} {q.share * 100:g}%"
        for q in plan.quotas
    )
    parts = [f"配额：{quotas}", f"范围：{'、'.join(plan.streets) if plan.streets else '全部街道/镇'}"]
    if plan.exclude_last_rounds:
        parts.append(f"排除最近 {plan.exclude_last_rounds} 轮抽过的点位")
    if plan.fixed_points:
        parts.append(f"固定点位：{'、'.join(plan.fixed_points)}")
    return "；".join(parts)


def _new_seed(key: str) -> None:
    st.session_state[key] = random.SystemRandom().randint(1, 999_999)


def _missing(v) -> bool:
    return v is None or pd.isna(v)


def plan_editor(stored: SamplePlan | None) -> SamplePlan | None:
    """The plan's widgets (keys end with the round id); the plan they describe, or None (the reason shown)."""
    active = [p for p in register if p.active]
    n_type = Counter(p.point_type for p in active)
    workload = sampling.workload_by_type(index)
    quotas = {q.point_type: q for q in stored.quotas} if stored else {}
    rows = [*types, *(t for t in quotas if t not in types)]
    base = pd.DataFrame(
        {
            "点位类型": rows,
            "启用点位": [n_type.get(t, 0) for t in rows],
            "每点标准数": [workload.get(t, 0) for t in rows],
            "抽取数量": pd.array([quotas[t].count if t in quotas else None for t in rows], dtype="Int64"),
            "抽取比例（%）": pd.array(
                [quotas[t].share * 100 if t in quotas and quotas[t].share is not None else None for t in rows],
                dtype="Float64",
            ),
        }
    )
    st.markdown("**各类点位抽取多少**（填数量或比例之一；留空的类型不抽）")
    edited = st.data_editor(
        base,
        key=f"ra_quotas_{rid}",
        on_change="ignore",  # no rerun per cell (a county has 40 point types): 预览抽样 reads the table
        placeholder="",
        hide_index=True,
        disabled=["点位类型", "启用点位", "每点标准数"],
        column_config={
            # Fixed widths: the grid reads the same on every screen (and a browser test finds its cells).
            "点位类型": cc.TextColumn(width=QUOTA_WIDTHS[0]),
            "启用点位": cc.NumberColumn(help="点位库中该类型启用的点位数", width=QUOTA_WIDTHS[1]),
            "每点标准数": cc.NumberColumn(help="该类型每个点位要检查的实地考察标准数（工作量）", width=QUOTA_WIDTHS[2]),
            "抽取数量": cc.NumberColumn(min_value=0, step=1, format="%d", width=QUOTA_WIDTHS[3]),
            "抽取比例（%）": cc.NumberColumn(min_value=0, max_value=100, step=1, format="%g%%", width=QUOTA_WIDTHS[4]),
        },
    )
    street_options = sorted(
        {sampling.street_label(p.street) for p in active}, key=lambda s: (s == sampling.NO_STREET, s)
    )
    a, b = st.columns(2)
    streets = a.multiselect(
        "抽样范围（街道/镇）",
        street_options,
        default=[s for s in (stored.streets if stored else []) if s in street_options],
        key=f"ra_streets_{rid}",
        placeholder="全部街道/镇",
    )
    exclude = b.number_input(
        "排除最近几轮抽过的点位",
        min_value=0,
        max_value=50,
        step=1,
        value=stored.exclude_last_rounds if stored else 0,
        key=f"ra_exclude_{rid}",
        help="0 表示不排除。固定点位不受影响。",
    )
    fixed_options = [p.code for p in active]
    fixed = st.multiselect(
        "固定点位（每轮必查）",
        fixed_options,
        default=[c for c in (stored.fixed_points if stored else []) if c in fixed_options],
        format_func=lambda c: f"{c} {by_code[c].name}（{by_code[c].point_type}）",
        key=f"ra_fixed_{rid}",
        placeholder="可输入编号或名称查找",
        help="固定点位一定抽中，并计入该类型的配额。",
    )
    seed_key = f"ra_seed_{rid}"
    if seed_key not in st.session_state:
        if stored:
            st.session_state[seed_key] = stored.seed
        else:
            _new_seed(seed_key)
    with st.container(horizontal=True, vertical_alignment="bottom", gap="small"):
        seed = st.number_input(
            "随机种子",
            min_value=0,
            max_value=2_147_483_647,
            step=1,
            key=seed_key,
            help="同一方案、同一种子总是抽出同样的点位，便于复核。默认随机生成，也可自行填写。",
            width=220,
        )
        st.button("换一个种子", key="ra_reseed", on_click=_new_seed, args=(seed_key,), icon=":material/casino:")

    chosen: list[Quota] = []
    problems: list[str] = []
    for row in edited.to_dict("records"):
        count, share = row["抽取数量"], row["抽取比例（%）"]
        has_count, has_share = not _missing(count) and count > 0, not _missing(share) and share > 0
        if has_count and has_share:
            problems.append(f"「{row['点位类型']}」只填抽取数量或比例之一")
        elif has_count:
            chosen.append(Quota(point_type=row["点位类型"], count=int(count)))
        elif has_share:
            chosen.append(Quota(point_type=row["点位类型"], share=float(share) / 100))
    if problems:
        st.error("；".join(problems), icon=":material/error:")
        return None
    if not chosen:
        st.info("在上表为要抽取的点位类型填写数量或比例，再预览抽样。", icon=":material/info:")
        return None
    return SamplePlan(
        quotas=chosen, seed=int(seed), streets=streets, exclude_last_rounds=int(exclude), fixed_points=fixed
    )


def draw_frame(draw: sampling.Draw) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {
                "分层": p.stratum,
                POINT_LABELS["code"]: p.code,
                POINT_LABELS["name"]: p.name,
                POINT_LABELS["point_type"]: p.point_type,
                POINT_LABELS["street"]: sampling.street_label(p.street),
                "固定": p.fixed,
            }
            for p in draw.points
        ],
        columns=["分层", *(POINT_LABELS[k] for k in ("code", "name", "point_type", "street")), "固定"],
    )


def strata_frame(draw: sampling.Draw) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"街道/镇": sampling.street_label(s.street), "点位类型": s.point_type, "可抽": s.eligible, "抽取": s.drawn,
             "其中固定": s.fixed}
            for s in draw.strata
        ],
        columns=["街道/镇", "点位类型", "可抽", "抽取", "其中固定"],
    )  # fmt: skip


def show_draw(draw: sampling.Draw) -> None:
    n_fixed = sum(p.fixed for p in draw.points)
    n_streets = len({p.street for p in draw.points})
    st.markdown(
        f"**预览：将抽取 {len(draw.points)} 个点位**（固定点位 {n_fixed} 个，分布在 {n_streets} 个街道/镇，"
        f"{len(draw.strata)} 层）。尚未保存。"
    )
    for w in draw.warnings:
        st.warning(w, icon=":material/warning:")
    with st.container(key="ra_draw_table"):
        st.dataframe(draw_frame(draw), hide_index=True, height="auto" if len(draw.points) <= 12 else 460)
    st.markdown("**各层抽取数量**")
    with st.container(key="ra_strata_table"):
        st.dataframe(strata_frame(draw), hide_index=True, height="auto" if len(draw.strata) <= 8 else 320)
    rw.points_map([by_code[c] for c in draw.codes if c in by_code], types, key="ra_draw_map")


def plan_and_preview(stored: SamplePlan | None) -> None:
    """The plan editor, 预览抽样 (nothing stored) and, for the preview of the plan on screen, 确认抽样."""
    plan = plan_editor(stored)
    preview_key = f"ra_preview_{rid}"
    if st.button("预览抽样", key="ra_preview", icon=":material/preview:") and plan is not None:
        try:
            with engine.connect() as conn:
                preview = rounds.preview_draw(conn, actor, rid, plan)
        except REFUSED as e:
            st.session_state.pop(preview_key, None)
            st.error(f"无法抽样：{e}", icon=":material/error:")
        else:
            st.session_state[preview_key] = (plan.model_dump(mode="json"), preview)
    shown = st.session_state.get(preview_key)
    if shown and plan is not None and shown[0] == plan.model_dump(mode="json"):
        show_draw(shown[1])
        replace = f"，替换已抽取的 {info.n_points} 个点位及其分配" if info.n_points else ""
        if st.button(
            f"确认抽样（{len(shown[1].points)} 个点位）",
            key="ra_confirm",
            type="primary",
            icon=":material/check:",
            disabled=not shown[1].points,
            help=f"保存方案和随机种子{replace}。",
        ):
            try:
                confirmed = rounds.confirm_draw(engine, actor, rid, plan)
            except REFUSED as e:
                st.error(f"未保存：{e}", icon=":material/error:")
            else:
                st.session_state.pop(preview_key, None)
                common.leave_message(
                    MESSAGES,
                    "success",
                    f"已确认抽样：{len(confirmed.points)} 个点位，随机种子 {plan.seed}。下一步：分配测评员。",
                )
                st.rerun()
    elif shown:
        st.info("抽样方案已改动，请重新预览。", icon=":material/info:")


st.subheader("抽样", anchor=False, divider="gray")
stored = _stored_plan()
if info.drawn_at is not None:
    seed_text = f"，随机种子 **{stored.seed}**" if stored else ""
    st.markdown(
        f"已抽取 {info.n_points} 个点位：由 **{info.drawn_by}** 于 {rw.local_time(info.drawn_at)} 抽取{seed_text}。"
    )
    if stored:
        st.caption(_plan_text(stored))


if info.status is RoundStatus.planned and info.drawn_at is None:
    plan_and_preview(stored)
elif info.status is RoundStatus.planned:
    # Until scoring starts the plan may change and the points be drawn again.
    box = st.expander("修改方案，重新抽取", key=f"ra_redraw_{rid}", on_change="rerun", icon=":material/edit:")
    if box.open:
        with box:
            st.caption("重新抽取会替换已抽取的点位和分配。")
            plan_and_preview(stored)
elif info.drawn_at is None:
    st.caption("本轮没有抽取点位。")

# --- inspectors ---------------------------------------------------------------------------------------------------

if drawn:
    st.subheader("点位与测评员", anchor=False, divider="gray")
    current = sorted({rp.inspector for rp in drawn if rp.inspector})
    if not closed:
        options = sorted(set(inspector_names) | set(current))
        if not options:
            st.info("还没有测评员账户。请在「用户管理」中新增角色为“测评员”的用户。", icon=":material/info:")
        picked = st.multiselect(
            "参加本轮的测评员",
            options,
            default=current,
            key=f"ra_insp_{rid}",
            placeholder="选择测评员",
        )
        help_text = "按每人要检查的测评标准数均衡分配，同一街道的点位尽量分给同一人"
        if info.kind is RoundKind.unannounced:
            help_text += "；暗访轮次同时排定每个点位的暗访日期"
        if info.status is RoundStatus.in_progress:
            st.caption("测评已开始：重新自动分配会改变每个点位的测评员，已作答的记录保留。")
        if st.button("自动分配", key="ra_assign", disabled=not picked, icon=":material/group_work:", help=help_text):
            try:
                result = rounds.assign(engine, actor, rid, picked)
            except REFUSED as e:
                st.error(f"未分配：{e}", icon=":material/error:")
            else:
                common.leave_message(MESSAGES, "success", f"已把 {len(drawn)} 个点位分给 {len(result)} 名测评员。")
                st.rerun()

    # Each inspector's load, in standards to check, and how even the loads are.
    workload = {rp.point.code: rp.applicable for rp in drawn}
    holding: dict[str, list[str]] = {}
    for rp in drawn:
        if rp.inspector:
            holding.setdefault(rp.inspector, []).append(rp.point.code)
    if holding:
        loads = sampling.loads(holding, workload)
        ratio = sampling.imbalance(holding, workload)
        load_rows = [
            {
                "测评员": name,
                "点位数": len(codes),
                "测评标准数": loads[name],
                "街道/镇": "、".join(
                    dict.fromkeys(sampling.street_label(rp.point.street) for rp in drawn if rp.inspector == name)
                ),
                "已提交": sum(1 for rp in drawn if rp.inspector == name and rp.submitted_at is not None),
            }
            for name, codes in sorted(holding.items())
        ]
        st.dataframe(pd.DataFrame(load_rows), hide_index=True)
        balance = "∞（有测评员没有分到工作量）" if ratio == float("inf") else f"{ratio:.2f}"
        st.markdown(
            f"**工作量最多/最少 = {balance}**　:gray[按要检查的测评标准数计；1.00 为完全均衡，超过 1.25 偏不均]"
        )

    # Point by point: hand a point to someone else (and, unannounced, pick its day).
    unannounced = info.kind is RoundKind.unannounced
    base = pd.DataFrame(
        [
            {
                POINT_LABELS["code"]: rp.point.code,
                POINT_LABELS["name"]: rp.point.name,
                POINT_LABELS["point_type"]: rp.point.point_type,
                POINT_LABELS["street"]: sampling.street_label(rp.point.street),
                "标准数": rp.applicable,
                "测评员": rp.inspector,
                **({"暗访日期": rp.visit_date} if unannounced else {}),
                "进度": "已提交" if rp.submitted_at is not None else f"已答 {rp.progress}",
            }
            for rp in drawn
        ]
    )
    editable = ["测评员", *(["暗访日期"] if unannounced else [])]
    column_config = {
        "测评员": cc.SelectboxColumn(options=sorted(set(inspector_names) | set(current)), required=False),
        "暗访日期": cc.DateColumn(min_value=info.start_date, max_value=info.end_date, format="YYYY-MM-DD"),
    }
    if closed:
        st.dataframe(base, hide_index=True, key="ra_points_view")
    else:
        st.markdown("**逐个改派**：在表中改“测评员”" + ("或“暗访日期”" if unannounced else "") + "，再点“保存改派”。")
        signature = zlib.crc32(base.to_json(date_format="iso").encode())
        edited = st.data_editor(
            base,
            key=f"ra_points_{rid}_{signature}",
            hide_index=True,
            disabled=[c for c in base.columns if c not in editable],
            column_config=column_config,
            placeholder="",
        )
        before = base.set_index(POINT_LABELS["code"])
        changes = []
        for row in edited.to_dict("records"):
            code = row[POINT_LABELS["code"]]
            old = before.loc[code]
            new_insp = None if _missing(row["测评员"]) else row["测评员"]
            old_insp = None if _missing(old["测评员"]) else old["测评员"]
            new_day = old_day = None
            if unannounced:
                new_day = None if _missing(row["暗访日期"]) else pd.Timestamp(row["暗访日期"]).date()
                old_day = None if _missing(old["暗访日期"]) else pd.Timestamp(old["暗访日期"]).date()
            if (new_insp, new_day) != (old_insp, old_day):
                changes.append((code, new_insp, new_day))
        if st.button(
            f"保存改派（{len(changes)} 个点位）" if changes else "保存改派",
            key="ra_reassign",
            disabled=not changes,
            icon=":material/save:",
        ):
            done = 0
            try:
                for code, insp, day in changes:
                    rounds.reassign(engine, actor, rid, code, insp, visit_date=day)
                    done += 1
            except REFUSED as e:
                st.error(f"已保存 {done} 个，其余未保存：{e}", icon=":material/error:")
            else:
                common.leave_message(MESSAGES, "success", f"已改派 {done} 个点位。")
                st.rerun()

    box = st.expander("在地图上查看本轮点位", key=f"ra_map_box_{rid}", on_change="rerun", icon=":material/map:")
    if box.open:
        with box:
            rw.points_map([rp.point for rp in drawn], types, key="ra_round_map")
