"""Browser: the leaders' dashboard (领导看板) opening in Chromium, on the whole data set, as a leader meets it.

The app runs as ``make run`` runs it (``streamlit run app.py``, its own process) on the data set; the system
Chromium (Playwright, 1024×768, a tablet) signs in as the demo's leader and opens the dashboard from the menu. A time
runs from the click to the page showing its headline figures with its script finished (``stApp`` in state
``notRunning``): what the leader waits for.

- ``OPEN``: the dashboard's figures already computed for the current data (the page's tables, charts and text
  are made from them once; the ranking tabs, the losses by unit and the map are drawn when opened).
- ``STALE``: an answer was saved since (a patrol under way): the figures of a moment ago are shown at once with
  their time, and new ones are computed in the background (``civeval.ui.latest``). When computing takes under a
  second (small data), the page waits for them instead.
- ``FIRST``: the first opening after the server started, straight from signing in: the home page the leader lands
  on starts computing a large round's figures (``dashboard_widgets.prepare``), and the dashboard waits for the rest.
- ``RELOAD``: the address opened again (a browser reload): the app's scripts load again and the session starts
  anew; the figures are computed.
"""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.harness import Context, Database, Figure, Goal, median_figure
from civeval import auth, demo, rounds
from civeval.models import Answer, Result, ScoringMode
from civeval.store import open_engine
from tests import e2e  # Playwright and the app's server, as the browser tests use them (Playwright loaded on use)

NAME = "browser"
OPEN = "browser: dashboard opened from the menu, its figures computed (Chromium, 1024×768)"
STALE = "browser: dashboard opened from the menu after an answer was saved (figures of a moment ago shown)"
FIRST = "browser: dashboard opened at once after signing in, server just started (nothing computed)"
RELOAD = "browser: dashboard address opened again (page reload), its figures computed"
FIGURES = [OPEN, STALE, FIRST, RELOAD]
USES_DATABASE = True
GOAL = Goal("<=", 1, "s")
CHROMIUM = Path("/usr/bin/chromium")
HEADLINE = ".st-key-db_headline"


def run(ctx: Context, db: Database) -> list[Figure]:
    if not CHROMIUM.exists():
        return [Figure(n, db.label, None, "", skipped=f"no Chromium at {CHROMIUM}") for n in FIGURES]
    url = db.dataset_url()
    inspector = sorted(db.untouched())[0]
    (code,) = db.claim_points(inspector, 1)
    rid = ctx.meta["in_progress_round_id"]
    engine = open_engine(url)
    with engine.connect() as conn:
        actor = auth.load_actor(conn, auth.get_user(conn, inspector).id)
        standards = [a.standard for a in rounds.point_sheet(conn, actor, rid, code).answers]
    repeat = max(1, ctx.repeat)
    opened, stale, reload = [], [], []
    notes = {"stale": 0}
    home = ctx.work / f"browser-{db.kind}"
    home.mkdir(exist_ok=True)
    env = {"CIVEVAL_HOME": str(home)}
    try:
        with (
            e2e.streamlit_server(url, env=env, log=home / "streamlit.log") as base,
            e2e.chromium(str(CHROMIUM)) as browser,
        ):
            page = e2e.new_page(browser)
            page.set_default_timeout(300_000)
            e2e.login(page, base, "leader", demo.DEMO_PASSWORD)
            first = _open(page)
            for _ in range(repeat):
                _away(page)
                opened.append(_open(page))
            for n in range(repeat):
                standard = standards[n % len(standards)]
                rounds.save_answer(engine, actor, rid, code, standard.code, _answer(standard, n))
                _away(page)
                stale.append(_open(page))
                notes["stale"] += page.get_by_text("数据截至").count() > 0
            for _ in range(repeat):
                t0 = time.perf_counter()
                page.goto(f"{base}/dashboard")
                _wait(page)
                reload.append(time.perf_counter() - t0)
    finally:
        engine.dispose()
    shown = (
        f"the figures of a moment ago were shown in {notes['stale']} of {repeat} openings"
        if notes["stale"]
        else "the figures were computed again each time (computing took under a second)"
    )
    return [
        median_figure(OPEN, db.label, opened, "s", GOAL, note="signed in as the leader; the map drawn when opened"),
        median_figure(STALE, db.label, stale, "s", GOAL, note=f"one answer saved before each opening; {shown}"),
        median_figure(FIRST, db.label, [first], "s", note="one run; the figures are computed while the page waits"),
        median_figure(RELOAD, db.label, reload, "s", note="the app's scripts loaded again, a new session"),
    ]


def _answer(standard, n: int) -> Answer:
    if standard.scoring_mode is ScoringMode.deduction:
        return rounds.count_answer(n % 2, "垃圾堆放" if n % 2 else "")
    if standard.scoring_mode is ScoringMode.graded:
        return Answer(result=Result.A if n % 2 == 0 else Result.B)
    return Answer(result=Result.passed if n % 2 == 0 else Result.failed, note="" if n % 2 == 0 else "设施破损")


def _away(page) -> None:
    """Leave the dashboard for a small page (the account page), as a leader moves around the app."""
    page.locator('[data-testid="stSidebarNav"] a[href$="/account"]').click()
    e2e.wait_idle(page)


def _open(page) -> float:
    t0 = time.perf_counter()
    page.locator('[data-testid="stSidebarNav"] a[href$="/dashboard"]').click()
    _wait(page)
    return time.perf_counter() - t0


def _wait(page) -> None:
    """The headline figures shown and the script finished (checked again after a frame: a rerun may follow)."""
    page.wait_for_selector(HEADLINE)
    for _ in range(2):
        page.wait_for_timeout(16)
        page.wait_for_selector(e2e.IDLE)
