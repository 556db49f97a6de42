"""Concurrent saving: every inspector of the round saving answers at the same moment, one thread each.

Each thread acts as one of the round's inspectors (50 at city scale) and answers every standard of two of its own
untouched points, one ``rounds.save_answer`` per answer (one transaction each, through the audit log, as a tap in
the app does). All threads share one engine, as the app's Streamlit process does (civeval.ui.common.engine), and
start together. The figure is answers acknowledged per second of wall time; the run also counts errors and checks
that the database holds exactly the acknowledged answers.
"""

from __future__ import annotations

import statistics
import threading
import time

import sqlalchemy as sa

from benchmarks.bench_scoring import answer
from benchmarks.harness import Context, Database, Figure, Goal, median_figure
from civeval import auth, rounds
from civeval.store import open_engine, repo
from civeval.store import schema as t

NAME = "concurrent"
FIGURE = "concurrent saving: answers/s, one thread per inspector, no error"
FIGURES = [FIGURE]
USES_DATABASE = True
GOAL = Goal(">=", 500, "answers/s")
POINTS_PER_THREAD = 2


def run(ctx: Context, db: Database) -> list[Figure]:
    url = db.dataset_url()
    rid = ctx.meta["in_progress_round_id"]
    inspectors: list[str] = ctx.meta["inspectors"]
    engine = open_engine(url)
    try:
        with engine.connect() as conn:
            index, _ = rounds.round_index(conn, rounds._round_row(conn, rid).index_id)
            actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in inspectors}
            types = {p.code: p.point_type for p in repo.list_points(conn)}
        rates, total_errors, mismatches, sizes, messages, cpu_per_answer = [], 0, 0, [], [], []
        for _ in range(ctx.repeat):
            work = {}
            for u in inspectors:
                codes = db.claim_points(u, POINTS_PER_THREAD)
                work[u] = [
                    (code, s.code, answer(s, n))
                    for code in codes
                    for n, (_, _, s) in enumerate(rounds.applicable_standards(index, types[code]))
                ]
            c0 = time.process_time()
            acknowledged, errors, seconds = _one_run(engine, rid, actors, work)
            cpu_per_answer.append((time.process_time() - c0) / max(1, acknowledged) * 1000)
            with engine.connect() as conn:
                stored = conn.execute(
                    sa.select(sa.func.count())
                    .select_from(t.observations.join(t.points, t.points.c.id == t.observations.c.point_id))
                    .where(
                        t.observations.c.round_id == rid,
                        t.points.c.code.in_([code for items in work.values() for code, _, _ in items]),
                    )
                ).scalar_one()
            rates.append(acknowledged / seconds)
            total_errors += len(errors)
            messages += errors[:3]
            mismatches += stored != acknowledged
            sizes.append(sum(len(v) for v in work.values()))
    finally:
        engine.dispose()
    ok = total_errors == 0 and mismatches == 0
    note = f"{len(inspectors)} threads, {min(sizes)}–{max(sizes)} answers a run; {total_errors} errors; " + (
        "stored = acknowledged in every run" if not mismatches else f"stored ≠ acknowledged in {mismatches} runs"
    )
    per = statistics.median(cpu_per_answer)
    note += f"; CPU time of this process per answer: median {per:.2f} ms (the GIL runs one thread at a time"
    note += f": at most ~{1000 / per:,.0f} answers/s on a quiet machine)" if per else ")"
    if messages:
        note += f"; first errors: {' / '.join(sorted(set(messages))[:3])}"
    return [median_figure(FIGURE, db.label, rates, "answers/s", GOAL, note=note, checks=ok)]


def _one_run(engine: sa.Engine, rid: int, actors: dict, work: dict) -> tuple[int, list[str], float]:
    """Start one thread per inspector together; returns (answers acknowledged, error messages, wall seconds)."""
    barrier = threading.Barrier(len(work) + 1)
    done: dict[str, int] = {}
    errors: list[str] = []
    lock = threading.Lock()

    def worker(username: str) -> None:
        ok = 0
        barrier.wait()
        for code, standard, a in work[username]:
            try:
                rounds.save_answer(engine, actors[username], rid, code, standard, a, expected_version=0)
                ok += 1
            except Exception as e:  # counted and shown: the goal is no error at all
                with lock:
                    errors.append(f"{type(e).__name__}: {str(e)[:120]}")
        done[username] = ok

    threads = [threading.Thread(target=worker, args=(u,), name=f"bench-{u}") for u in work]
    for th in threads:
        th.start()
    barrier.wait()
    t0 = time.perf_counter()
    for th in threads:
        th.join()
    return sum(done.values()), errors, time.perf_counter() - t0
