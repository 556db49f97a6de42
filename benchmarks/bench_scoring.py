"""Scoring: the server time of one answer given on the scoring page (点位打分), with the whole data set stored.

The page runs headless in Streamlit's AppTest, signed in as the inspector the point is assigned to, on the points of
the in-progress round with the most standards (the heaviest sheets the index has). Each sample gives one answer the
way a tap does (the block's control set, then a rerun): the callback stores it (``rounds.save_answer``) and reloads
the sheet, and the page draws again. One answer in five is a failure (its block then also shows the photo uploader).

- ``FRAGMENT``: what a tap costs in the app. Each standard's block is an ``st.fragment``
  (civeval/ui/scoring_widgets.py), so the browser asks for a rerun of that block only, and the callback adds the
  progress bar when the count of answers moves. AppTest always reruns the whole script, so this run is asked for
  the way the browser asks (a rerun request naming the block's fragment), through AppTest's script runner: see
  ``fragment_run``.
- ``PAGE``: the same tap with AppTest's default whole-page rerun: what opening or reloading the point costs, and
  an upper bound for a tap. No goal: the goal is the tap's, and a tap in the app reruns its block only.
- ``STORE``: the store's part alone: resuming the session, ``rounds.save_answer``, ``rounds.point_sheet``.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from unittest import mock
from urllib import parse

import sqlalchemy as sa
import streamlit as st
from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest
from streamlit.testing.v1.element_tree import parse_tree_from_messages
from streamlit.testing.v1.local_script_runner import LocalScriptRunner, require_widgets_deltas

from benchmarks.harness import PROJECT_ROOT, Context, Database, Figure, Goal, median_figure, timed
from civeval import auth, rounds
from civeval.models import Answer, Result, ScoringMode, Standard
from civeval.store import open_engine
from civeval.store import schema as t
from civeval.ui import session

NAME = "scoring"
FRAGMENT = "scoring: one answer saved + rerun of its block (st.fragment, as in the app; AppTest)"
PAGE = "scoring: one answer saved + whole-page rerun (AppTest's default; as on opening the point)"
STORE = "scoring: one answer saved + sheet reloaded (store calls only)"
FIGURES = [FRAGMENT, PAGE, STORE]
USES_DATABASE = True
GOAL = Goal("<=", 50, "ms")
APP = str(PROJECT_ROOT / "app.py")
SCORE_PAGE = "civeval/ui/pages/score_point.py"


def widget_value(standard: Standard, n: int) -> tuple[str, str]:
    """(widget suffix, value) of the ``n``-th answer: one in five a failure."""
    fail = n % 5 == 4
    if standard.scoring_mode is ScoringMode.deduction:
        return "count", "2" if fail else "0"
    if standard.scoring_mode is ScoringMode.graded:
        return "result", "C" if fail else "A"
    return "result", "fail" if fail else "pass"


def answer(standard: Standard, n: int) -> Answer:
    _, value = widget_value(standard, n)
    if standard.scoring_mode is ScoringMode.deduction:
        return rounds.count_answer(int(value), "垃圾堆放" if value != "0" else "")
    return Answer(result=Result(value), note="设施破损" if value in ("fail", "C") else "")


def heaviest_points(engine: sa.Engine, db: Database, index) -> list[tuple[int, str, str]]:
    """(standards, inspector, point code) of the untouched points, most standards first."""
    untouched = db.untouched()
    owner = {code: insp for insp, codes in untouched.items() for code in codes}
    with engine.connect() as conn:
        types = dict(
            conn.execute(
                sa.select(t.points.c.code, t.point_types.c.name)
                .join(t.point_types, t.point_types.c.id == t.points.c.point_type_id)
                .where(t.points.c.code.in_(list(owner)))
            ).all()
        )
    sizes = {name: len(rounds.applicable_standards(index, name)) for name in set(types.values())}
    return sorted(((sizes[types[c]], owner[c], c) for c in owner), key=lambda x: (-x[0], x[2]))


def run(ctx: Context, db: Database) -> list[Figure]:
    url = db.dataset_url()
    rid = ctx.meta["in_progress_round_id"]
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            index, _ = rounds.round_index(conn, rounds._round_row(conn, rid).index_id)
        chosen = heaviest_points(engine, db, index)[:3]
        for _, inspector, code in chosen:
            db.claim(inspector, [code])
        sheets, tokens = [], []
        for _, inspector, code in chosen:
            with engine.connect() as conn:
                actor = auth.load_actor(conn, auth.get_user(conn, inspector).id)
                sheets.append(rounds.point_sheet(conn, actor, rid, code))
            tokens.append(auth.start_session(engine, actor))
        limit = 4 if ctx.quick else None  # quick mode: a few taps prove the path
        cpu: list[list[float]] = [[], [], []]
        with app_on(url):
            fragment = page_samples(tokens[0], rid, sheets[0], fragment=True, limit=limit, cpu=cpu[0])
            page = page_samples(tokens[1], rid, sheets[1], fragment=False, limit=limit, cpu=cpu[1])
        store = store_samples(engine, tokens[2], rid, sheets[2], limit=limit, cpu=cpu[2])
        codes = [s.point.point.code for s in sheets]
        with engine.connect() as conn:
            stored = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.observations.join(t.points, t.points.c.id == t.observations.c.point_id))
                .where(t.observations.c.round_id == rid, t.points.c.code.in_(codes))
            ).scalar_one()
    finally:
        engine.dispose()
    given = len(fragment) + len(page) + len(store)
    ok = stored == given
    check = f"{stored} of {given} answers stored" + ("" if ok else " (MISMATCH)")

    def about(sheet: rounds.PointSheet) -> str:
        return f"point {sheet.point.point.code}, {len(sheet.answers)} standards"

    ms = lambda xs: [x * 1000 for x in xs]
    figures = [
        median_figure(FRAGMENT, db.label, ms(fragment), "ms", GOAL, note=f"{about(sheets[0])}; {check}", checks=ok),
        median_figure(
            PAGE,
            db.label,
            ms(page),
            "ms",
            note=f"{about(sheets[1])}; what opening a point costs: a tap in the app reruns its block only (the "
            "figure above, the goal's)",
            checks=ok,
        ),
        median_figure(STORE, db.label, ms(store), "ms", note=about(sheets[2])),
    ]
    for f, used in zip(figures, cpu, strict=True):
        f.cpu = ms(used)
    return figures


@contextmanager
def app_on(url: str):
    """The app's engine (cached per process) on ``url`` for the AppTest runs inside."""
    saved = os.environ.get("CIVEVAL_DATABASE_URL")
    os.environ["CIVEVAL_DATABASE_URL"] = url
    st.cache_resource.clear()
    try:
        yield
    finally:
        st.cache_resource.clear()
        if saved is None:
            os.environ.pop("CIVEVAL_DATABASE_URL", None)
        else:
            os.environ["CIVEVAL_DATABASE_URL"] = saved


def page_samples(
    token: str, rid: int, sheet: rounds.PointSheet, *, fragment: bool, limit: int | None = None, cpu: list[float]
) -> list[float]:
    """Seconds of each tap on the point's standards, in order: the whole page rerun, or the block's fragment."""
    code = sheet.point.point.code
    at = AppTest.from_file(APP, default_timeout=120)
    at.session_state[session.TOKEN_KEY] = token
    at.run()
    at.query_params["round"] = str(rid)
    at.query_params["point"] = code
    at.switch_page(SCORE_PAGE).run()
    _no_exception(at)
    samples = []
    for n, a in enumerate(sheet.answers[:limit]):
        suffix, value = widget_value(a.standard, n)
        at.segmented_control(key=f"sc_{rid}_{code}_{a.standard.code}_{suffix}").set_value(value)
        if fragment:
            seconds = fragment_run(at, f"sc_fragment_{a.standard.code}", cpu)
        else:
            seconds, _ = timed(at.run, cpu)
            _no_exception(at)
        samples.append(seconds)
    at.run()  # the whole page once more: everything answered shows so
    _no_exception(at)
    if limit is None and at.progress and at.progress[0].value != 100:
        raise RuntimeError(f"the progress bar shows {at.progress[0].value}% after every standard was answered")
    return samples


def fragment_run(at: AppTest, fragment_key: str, cpu: list[float] | None = None) -> float:
    """Rerun only the fragment ``fragment_key`` with the widget values AppTest holds, as the browser asks when a
    widget inside a fragment changes, and return its seconds.

    AppTest (Streamlit 1.67) has no public way to do this: its runner is started with a pending whole-script
    rerun, which would swallow a fragment request, so the pending request is replaced by one naming the fragment.
    The element tree AppTest keeps is restored afterwards (a fragment run draws only its own elements)."""
    ids = at._fragment_storage.resolve_target(fragment_key)

    def run(self, widget_state=None, query_params=None, timeout=3, page_hash="", context_info=None):
        request = RerunData(
            widget_states=widget_state,
            query_string=parse.urlencode(query_params, doseq=True) if query_params else "",
            page_script_hash=page_hash,
            context_info=context_info,
            fragment_id_queue=list(ids),
        )
        with self._requests._lock:
            self._requests._rerun_data = request
        try:
            if not self._script_thread:
                self.start()
            require_widgets_deltas(self, timeout)
        finally:
            self.join()
        return parse_tree_from_messages(self.forward_msgs())

    whole = at._tree
    with mock.patch.object(LocalScriptRunner, "run", run):
        seconds, _ = timed(at.run, cpu)
    part = at._tree
    at._tree = whole
    errors = [e.value for e in part.get("exception")] + [e.value for e in part.get("error")]
    if errors:
        raise RuntimeError(f"the fragment {fragment_key} failed: {errors}")
    if not part.get("button_group"):
        raise RuntimeError(f"the fragment {fragment_key} drew no answer control: the rerun was not a fragment's")
    return seconds


def store_samples(
    engine: sa.Engine, token: str, rid: int, sheet: rounds.PointSheet, *, limit: int | None = None, cpu: list[float]
) -> list[float]:
    code = sheet.point.point.code
    samples = []
    for n, a in enumerate(sheet.answers[:limit]):

        def tap(a=a, n=n) -> rounds.PointSheet:
            who = auth.resume_session(engine, token)
            rounds.save_answer(engine, who, rid, code, a.standard.code, answer(a.standard, n), expected_version=0)
            with engine.connect() as conn:
                return rounds.point_sheet(conn, who, rid, code)

        seconds, _ = timed(tap, cpu)
        samples.append(seconds)
    return samples


def _no_exception(at: AppTest) -> None:
    if at.exception:
        raise RuntimeError("the page raised: " + "; ".join(str(e.value) for e in at.exception))
    if at.error:
        raise RuntimeError("the page showed an error: " + "; ".join(str(e.value) for e in at.error))
