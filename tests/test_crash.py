"""The app killed with SIGKILL while inspectors save (issue 8): nothing anyone was told was saved is lost.

A real ``streamlit run app.py`` on a SQLite file serves four scoring pages in Chromium (four Streamlit sessions of
the inspector, one point each), clicked at the same moment so that their saves run in the app process together;
meanwhile a second process writes answers to the same file through the library (the office at its desk). An
answer counts as acknowledged only when the person was told it was saved: in the browser, the script run that the
click started has finished with the chosen answer shown and no warning in its block; in the writer process, the
save returned its version. Then, with more clicks in flight, both processes are killed with SIGKILL. After a
restart: ``PRAGMA integrity_check`` is ok, every acknowledged answer is stored (or, when a click was in flight, the
one after it), every stored version has its audit entry, and the app serves the scoring page again showing them.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from civeval.store import open_engine
from tests import e2e, seed

# (the writer process imports this module: what needs Streamlit is imported where it is used)

pytestmark = pytest.mark.browser

UI_POINTS = ["P001", "P002", "P003", "P004"]  # one page each; their pass/fail standard III-1-2 is clicked
UI_STANDARD = "III-1-2"
LABELS = {"pass": "符合", "fail": "不符合", "na": "不适用"}
CYCLE = ["pass", "fail", "na"]
ROUNDS_ACKED = 2  # rounds of clicks on every page acknowledged before the kill
# the writer process: (point, standard, how answers cycle), one thread each
WRITER_PAIRS = [("P001", "III-1-1", "count"), ("P003", "III-2-1", "graded"), ("P005", "III-3-1", "pf")]

WRITER_MAIN = "import sys; from tests.test_crash import writer_main; writer_main(*sys.argv[1:])"
RUNS_JS = """() => {
  if (window.__civevalRuns === undefined) {
    window.__civevalRuns = 0;
    const app = document.querySelector('[data-testid="stApp"]');
    new MutationObserver(records => {
      const values = records.map(r => r.oldValue).concat([app.getAttribute('data-test-script-state')]);
      for (let i = 1; i < values.length; i++)
        if (values[i] === 'notRunning' && values[i - 1] !== 'notRunning') window.__civevalRuns++;
    }).observe(app, {attributes: true, attributeOldValue: true, attributeFilter: ['data-test-script-state']});
  }
  return window.__civevalRuns;
}"""


# --- the writer process ----------------------------------------------------------------------------------------


def writer_main(url: str, round_id: int, log_path: str) -> None:
    """Save answers through the library until killed; one line per acknowledged save (after it returned)."""
    import threading

    from civeval import auth, rounds
    from civeval.models import Answer, Result
    from civeval.store import open_engine

    engine = open_engine(url)
    with engine.connect() as conn:
        office = auth.load_actor(conn, auth.get_user(conn, "tester").id)
    log = open(log_path, "a", buffering=1, encoding="utf-8")
    lock = threading.Lock()

    def answer(kind: str, n: int) -> Answer:
        if kind == "count":
            return rounds.count_answer(n % 4)
        if kind == "graded":
            return Answer(result=[Result.A, Result.B, Result.C, Result.D][n % 4])
        return Answer(result=[Result.passed, Result.failed, Result.na][n % 3])

    def loop(point: str, standard: str, kind: str) -> None:
        version, n = 0, 0
        while True:
            a = answer(kind, n)
            version = rounds.save_answer(engine, office, round_id, point, standard, a, expected_version=version)
            with lock:
                log.write(json.dumps([point, standard, version, a.result.value, a.instances]) + "\n")
            n += 1
            time.sleep(0.1)

    threads = [threading.Thread(target=loop, args=pair, daemon=True) for pair in WRITER_PAIRS]
    for th in threads:
        th.start()
    for th in threads:
        th.join()


# --- the app ---------------------------------------------------------------------------------------------------


def serve(db_url: str, log: Path) -> tuple[subprocess.Popen, str]:
    port = e2e.free_port()
    env = {k: v for k, v in os.environ.items() if k != "CIVEVAL_TILE_URL"}
    env["CIVEVAL_DATABASE_URL"] = db_url
    with log.open("ab") as out:
        proc = _popen_streamlit(port, env, out)
    base = f"http://127.0.0.1:{port}"
    try:
        e2e.wait_healthy(base, proc)
    except BaseException:
        kill(proc)
        raise
    return proc, base


def _popen_streamlit(port: int, env: dict[str, str], out) -> subprocess.Popen:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=e2e.ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )


def kill(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=10)


def block(page, rid: int, point: str, what: str):
    return page.locator(f".st-key-sc_{rid}_{point}_{UI_STANDARD}_{what}")


def checked(page, rid: int, point: str) -> list[str]:
    return block(page, rid, point, "result").locator('[role="radio"][aria-checked="true"]').all_inner_texts()


def tablet(browser, base: str, token: str):
    """A browser context holding the inspector's session cookie (as after signing in on the tablet)."""
    from civeval.ui import session

    context = browser.new_context(viewport=e2e.TABLET_LANDSCAPE, locale="zh-CN")
    context.add_cookies([{"name": session.COOKIE, "value": token, "url": base}])
    return context


def open_points(context, base: str, rid: int, points: list[str]) -> dict:
    """One tab per point on the scoring page, loaded together (one Streamlit session each)."""
    pages = {}
    for point in points:
        pages[point] = page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(f"{base}/score_point?round={rid}&point={point}")
    for point, page in pages.items():
        page.wait_for_selector(f".st-key-sc_{rid}_{point}_{UI_STANDARD}_result [role=radio]")
        e2e.wait_idle(page)
    return pages


def stored_answers(path: Path) -> dict[tuple[str, str], tuple[int, str, int | None]]:
    with sqlite3.connect(path) as db:
        rows = db.execute(
            "SELECT p.code, s.code, o.version, o.result, o.instances FROM observations o "
            "JOIN points p ON p.id = o.point_id JOIN standards s ON s.id = o.standard_id"
        ).fetchall()
    return {(p, s): (v, r, i) for p, s, v, r, i in rows}


def _t(what: str, began: float) -> None:
    print(f"[{time.monotonic() - began:6.1f}s] {what}", flush=True)


def test_the_app_killed_while_inspectors_save_loses_no_acknowledged_answer(tmp_path, chromium_path):
    from tests.test_pages_scoring import make_round

    began = time.monotonic()
    path = tmp_path / "civeval.db"
    url = seed.seeded_url(path)
    engine = open_engine(url)
    rid = make_round(engine)  # six points, all the inspector's; the office may change any answer
    engine.dispose()
    token = seed.session_token(url, "insp")
    app_log = e2e.ARTIFACTS / "crash-streamlit.log"
    e2e.ARTIFACTS.mkdir(exist_ok=True)
    app_log.write_bytes(b"")
    writer_log = tmp_path / "writer-acks.jsonl"
    app, base = serve(url, app_log)
    writer = None
    _t("app up", began)
    acked: dict[str, list[str]] = {p: [] for p in UI_POINTS}  # point -> the results the page showed as saved
    in_flight: dict[str, str] = {}
    try:
        with e2e.chromium(chromium_path) as browser:
            context = tablet(browser, base, token)
            pages = open_points(context, base, rid, UI_POINTS)  # four tabs: four sessions of the app
            for point, page in pages.items():
                assert checked(page, rid, point) == [], point  # unanswered
            _t("pages open", began)
            with (tmp_path / "writer.err").open("wb") as err:
                writer = subprocess.Popen(
                    [sys.executable, "-c", WRITER_MAIN, url, str(rid), str(writer_log)],
                    cwd=e2e.ROOT,
                    env={**os.environ, "PYTHONPATH": str(e2e.ROOT)},
                    stderr=err,
                )

            def click_all(turn: int) -> dict[str, int]:
                runs = {}
                for point, page in pages.items():
                    runs[point] = page.evaluate(RUNS_JS)
                    result = CYCLE[(turn + UI_POINTS.index(point)) % 3]
                    block(page, rid, point, "result").get_by_role("radio", name=LABELS[result], exact=True).click()
                    in_flight[point] = result
                return runs

            for turn in range(ROUNDS_ACKED):
                runs = click_all(turn)
                for point, page in pages.items():  # told: the run the click started is over and shows it saved
                    page.wait_for_function(f"() => window.__civevalRuns > {runs[point]}")
                    result = in_flight.pop(point)
                    assert checked(page, rid, point) == [LABELS[result]], point
                    alerts = block(page, rid, point, "block").locator('[data-testid="stAlert"]').all_inner_texts()
                    assert alerts == [], alerts
                    block(page, rid, point, "block").get_by_text("已保存").wait_for()
                    acked[point].append(result)
                _t(f"turn {turn} acknowledged", began)
            click_all(ROUNDS_ACKED)  # these saves are in flight when the app dies
            time.sleep(random.uniform(0.05, 0.4))
            kill(app)
            kill(writer)
            _t("killed", began)
            context.close()

            with sqlite3.connect(path) as db:  # the files as the crash left them (opening recovers the WAL)
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            stored = stored_answers(path)
            landed = sum(stored[(p, UI_STANDARD)][0] > len(acked[p]) for p in UI_POINTS)
            for point in UI_POINTS:
                version, result, _ = stored[(point, UI_STANDARD)]
                n = len(acked[point])
                assert n == ROUNDS_ACKED
                if version == n:  # the click in flight did not reach the store
                    assert result == acked[point][-1], (point, stored[(point, UI_STANDARD)], acked[point])
                else:  # or it did, after every acknowledged one
                    assert (version, result) == (n + 1, in_flight[point]), (point, version, result, acked[point])
            writer_acks = [json.loads(line) for line in writer_log.read_text().splitlines() if line.strip()]
            assert writer_acks, (tmp_path / "writer.err").read_text()
            for point, standard, _ in WRITER_PAIRS:
                mine = [a for a in writer_acks if a[:2] == [point, standard]]
                assert [a[2] for a in mine] == list(range(1, len(mine) + 1))
                version, result, instances = stored[(point, standard)]
                if version == len(mine):
                    assert [result, instances] == mine[-1][3:], (point, standard, stored[(point, standard)], mine[-1])
                else:  # one save may have been stored but killed before it was logged
                    assert version == len(mine) + 1, (point, standard, version, len(mine))
            # every stored version of every answer has its audit entry (they commit together)
            with sqlite3.connect(path) as db:
                logged = {
                    (after["id"], after["version"])
                    for (raw,) in db.execute("SELECT after FROM audit_log WHERE table_name = 'observations'")
                    for after in [json.loads(raw)]
                }
                rows = db.execute("SELECT id, version FROM observations").fetchall()
            assert {(oid, v) for oid, version in rows for v in range(1, version + 1)} <= logged
            _t("checked the files", began)

            # the app comes back, the inspector's session with it, and shows every answer as stored
            app, base = serve(url, app_log)
            context = tablet(browser, base, token)
            pages = open_points(context, base, rid, UI_POINTS)
            for point, page in pages.items():
                _, result, _ = stored[(point, UI_STANDARD)]
                assert checked(page, rid, point) == [LABELS[result]], point
                block(page, rid, point, "block").get_by_text("已保存").wait_for()
            e2e.screenshot(pages[UI_POINTS[0]], "crash-restarted")
            context.close()
            _t("the app shows them again", began)
            with sqlite3.connect(path) as db:
                assert db.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        kill(app)
        if writer is not None:
            kill(writer)
    print(
        f"crash test: {sum(map(len, acked.values()))} answers acknowledged in the browser ({landed} of the "
        f"{len(UI_POINTS)} clicks in flight stored), {len(writer_acks)} by the writer process, "
        f"{time.monotonic() - began:.1f} s"
    )
