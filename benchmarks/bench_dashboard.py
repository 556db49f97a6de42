"""Dashboard: every figure of the leaders' dashboard (领导看板) for one round, cold cache, and DuckDB as a yardstick.

"Every figure" is what the page shows for a round and an as-of date, built the way its cache builds it
(civeval/ui/dashboard_widgets.py): ``dashboard.build`` (scores, deltas, rankings with each group's rectification,
losses, trend, map, the round's findings), the forecast, the composite score and its cycle, and the headlines.
Each run opens a new engine (no cached result, no SQLite page cache; the operating system's file cache stays warm),
signed in as the city's leader (sees everything), after one untimed run on another round (module imports, the parsed
index, which the app keeps for the life of its process). Two rounds: the latest closed one, and the one in progress
(scored live: what a leader sees during a patrol week).

The yardstick: DuckDB (in memory, the same rows loaded from the data set: observations, standards, points, units,
findings and every finding event) computing the same aggregates from the raw rows in the same run: each observation
scored and grouped by standard, street, unit, point type, point and category for the round and the previous one;
the field and overall rates of the trend's twelve rounds; and every finding replayed from its events at the as-of
date and at each trend round's end (rectification counts, the round's findings by street, unit and point type, open
findings per point). civeval reads the figures of closed rounds that ``civeval.archive`` recorded when they closed,
and computes the rest; DuckDB computes everything each time, and is still the faster.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

import sqlalchemy as sa

from benchmarks.harness import Context, Database, Figure, Goal, median_figure, timed
from civeval import auth, composite, dashboard, forecast
from civeval.store import open_engine
from civeval.store import schema as t

NAME = "dashboard"
CLOSED = "dashboard: every figure of the latest closed round, cold cache"
LIVE = "dashboard: every figure of the round in progress, cold cache"
DUCK = "dashboard: the same aggregates from the raw rows in DuckDB (yardstick, in memory)"
RATIO_CLOSED = "dashboard: latest closed round, civeval time ÷ DuckDB time"
RATIO_LIVE = "dashboard: round in progress, civeval time ÷ DuckDB time"
FIGURES = [CLOSED, LIVE, DUCK, RATIO_CLOSED, RATIO_LIVE]
USES_DATABASE = True
GOAL = Goal("<=", 0.5, "s")
RATIO_GOAL = Goal("<=", 3, "×")
TABLES = {
    "observations": "round_id, point_id, unit_id, standard_id, result, instances",
    "standards": "id, item_id, code, full_marks, scoring_mode, per_instance, cap, responsibility, veto",
    "standard_units": "standard_id, unit_id, role",
    "items": "id, category_id, code",
    "categories": "id, name",
    "points": "id, code, point_type_id, street_id, custodian_unit_id",
    "point_types": "id, name",
    "units": "id, name",
    "rounds": "id, kind, start_date, end_date",
    "findings": "id, round_id, point_id, unit_id, created_at, recurrence_of",
    "finding_events": "id, finding_id, at, action, to_status, detail",
}


def every_figure(engine: sa.Engine, actor, round_id: int, as_of: dt.date) -> dashboard.Dashboard:
    """What the dashboard page computes for a round (its cache empty)."""
    with engine.connect() as conn:
        d = dashboard.build(conn, actor, round_id, as_of)
        forecast.of_scores(d.scores)
        mine = composite.of_scores(conn, d.scores)
        composite.cycle(conn, actor, upto=d.round.start_date, known={d.round.id: mine})
        dashboard.headlines(d)
    return d


def leader(engine: sa.Engine):
    with engine.connect() as conn:
        uid = conn.execute(
            sa.select(t.role_grants.c.user_id)
            .where(t.role_grants.c.role == "leader", t.role_grants.c.scope_unit_id.is_(None))
            .limit(1)
        ).scalar_one()
        return auth.load_actor(conn, uid)


def run(ctx: Context, db: Database) -> list[Figure]:
    url = db.dataset_url()
    as_of = dt.date.fromisoformat(ctx.meta["as_of_local_date"])
    live_id = ctx.meta["in_progress_round_id"]
    closed_id = ctx.meta["round_ids"][-2]
    warm = open_engine(url)
    actor = leader(warm)
    every_figure(warm, actor, ctx.meta["round_ids"][0], as_of)  # not timed: module imports, the parsed index
    warm.dispose()
    duck = _duckdb(ctx)
    out, duck_runs = [], []
    for name, ratio_name, rid in ((CLOSED, RATIO_CLOSED, closed_id), (LIVE, RATIO_LIVE, live_id)):
        samples, cpu, yard = [], [], []
        for _ in range(ctx.repeat):
            engine = open_engine(url)  # a new engine: nothing cached
            seconds, d = timed(lambda e=engine, r=rid: every_figure(e, actor, r, as_of), cpu)
            engine.dispose()
            samples.append(seconds)
            yard.append(duck.measure(rid, as_of))
        note = (
            f"round {d.round.name} ({len(d.scores.records):,} observations, {len(d.round_findings):,} findings of the "
            f"round, {d.city_rectification.created:,} in all, {len(d.trend)} rounds in the trend, {len(d.points):,} "
            f"points on the map); as of {as_of}"
        )
        out.append(median_figure(name, db.label, samples, "s", GOAL, cpu=cpu, note=note))
        ratios = [a / b for a, b in zip(samples, yard, strict=True)]
        out.append(
            median_figure(
                ratio_name, db.label, ratios, "×", RATIO_GOAL,
                note=f"DuckDB {min(yard):.3f}–{max(yard):.3f} s in the same runs",
            )
        )  # fmt: skip
        if rid == live_id:  # both rounds' DuckDB runs in one row (beside this database's figures)
            both = duck_runs + yard
            out.append(median_figure(DUCK, db.label, both, "s", note=duck.note()))
        duck_runs = yard
    return out


class _Duck:
    """The data set's rows in an in-memory DuckDB, and the dashboard's aggregates as DuckDB SQL."""

    def __init__(self, path: str, meta: dict) -> None:
        import duckdb  # the yardstick only (requirements-dev.txt)

        self.con = duckdb.connect()
        src = sqlite3.connect(path)
        try:
            for table, cols in TABLES.items():
                rows = src.execute(f"SELECT {cols} FROM {table}").fetchall()
                names = [c.strip() for c in cols.split(",")]
                import pandas as pd

                frame = pd.DataFrame.from_records(rows, columns=names)
                self.con.register("frame", frame)
                self.con.execute(f"CREATE TABLE {table} AS SELECT * FROM frame")
                self.con.unregister("frame")
        finally:
            src.close()
        self.con.execute(
            "CREATE TABLE findings_t AS SELECT id, round_id, point_id, unit_id, CAST(created_at AS TIMESTAMP) "
            "created_at, recurrence_of FROM findings"
        )
        self.con.execute(
            'CREATE TABLE events_t AS SELECT id, finding_id, CAST("at" AS TIMESTAMP) AS happened, action, to_status, '
            "CASE action WHEN 'create' THEN json_extract_string(detail, '$.deadline') "
            "WHEN 'grant_extension' THEN json_extract_string(detail, '$.to') "
            "WHEN 'reassign' THEN json_extract_string(detail, '$.deadline') END AS deadline FROM finding_events"
        )
        self.rows = {k: self.con.execute(f"SELECT count(*) FROM {k}").fetchone()[0] for k in TABLES}

    def note(self) -> str:
        return (
            f"both rounds' runs; {self.rows['observations']:,} observations, {self.rows['findings']:,} findings, "
            f"{self.rows['finding_events']:,} events in memory; DuckDB's own threads on this machine's cores"
        )

    def measure(self, rid: int, as_of: dt.date) -> float:
        seconds, _ = timed(lambda: self.aggregates(rid, as_of))
        return seconds

    def aggregates(self, rid: int, as_of: dt.date) -> None:
        con = self.con
        kind, start = con.execute("SELECT kind, start_date FROM rounds WHERE id = ?", [rid]).fetchone()
        history = con.execute(
            "SELECT id, end_date FROM rounds WHERE kind = ? AND (start_date < ? OR (start_date = ? AND id <= ?)) "
            "ORDER BY start_date DESC, id DESC LIMIT 12",
            [kind, start, start, rid],
        ).fetchall()
        previous = history[1][0] if len(history) > 1 else -1
        trend_ids = [h[0] for h in history]
        con.execute(_SCORED.format(rounds=",".join(map(str, {rid, previous}))) + _GROUPS).fetchall()
        con.execute(_SCORED.format(rounds=",".join(map(str, trend_ids))) + _TREND).fetchall()
        days = sorted({as_of} | {min(dt.date.fromisoformat(str(e)), as_of) for _, e in history})
        values = ", ".join(f"(DATE '{d}', TIMESTAMP '{_end(d)}')" for d in days)
        facts = _FACTS.format(days=values)
        con.execute(facts + _RECTIFICATION).fetchall()
        con.execute(facts + _BY_GROUP, [as_of, rid]).fetchall()
        con.execute(facts + _OPEN, [as_of]).fetchall()


def _end(day: dt.date) -> dt.datetime:
    from civeval import audit

    return audit.local_day_start(day + dt.timedelta(days=1))


_SCORED = """
WITH s AS (
    SELECT st.id, st.full_marks, st.scoring_mode, st.per_instance, st.cap, st.responsibility, st.veto,
           i.code AS item_code, c.name AS category, lead.name AS lead_unit
    FROM standards st JOIN items i ON i.id = st.item_id JOIN categories c ON c.id = i.category_id
    LEFT JOIN standard_units su ON su.standard_id = st.id AND su.role = 'lead'
    LEFT JOIN units lead ON lead.id = su.unit_id
), o AS (
    SELECT o.round_id, o.point_id, o.standard_id, s.full_marks, s.item_code, s.category, s.veto,
        CASE WHEN o.result = 'na' THEN NULL
             WHEN s.scoring_mode = 'pass_fail' THEN CASE WHEN o.result = 'pass' THEN s.full_marks ELSE 0 END
             WHEN s.scoring_mode = 'graded' THEN s.full_marks * CASE o.result WHEN 'A' THEN 1.0 WHEN 'B' THEN 0.66
                                                                  WHEN 'C' THEN 0.33 ELSE 0 END
             ELSE greatest(0, s.full_marks - least(s.cap, s.per_instance * coalesce(o.instances, 0))) END AS score,
        p.code AS point_code, street.name AS street, pt.name AS point_type,
        coalesce(ou.name, CASE WHEN s.responsibility = 'custodian' AND coalesce(cu.name, street.name) IS NOT NULL
                               THEN coalesce(cu.name, street.name)
                               ELSE coalesce(s.lead_unit, cu.name, street.name) END) AS unit
    FROM observations o JOIN s ON s.id = o.standard_id
    LEFT JOIN points p ON p.id = o.point_id LEFT JOIN units street ON street.id = p.street_id
    LEFT JOIN units cu ON cu.id = p.custodian_unit_id LEFT JOIN point_types pt ON pt.id = p.point_type_id
    LEFT JOIN units ou ON ou.id = o.unit_id
    WHERE o.round_id IN ({rounds})
), a AS (SELECT *, score < full_marks AS failed FROM o WHERE score IS NOT NULL)
"""
_GROUPS = """
SELECT round_id, standard_id, street, unit, point_type, point_code, category,
       sum(score), sum(full_marks), count(*), count(*) FILTER (WHERE failed)
FROM a
GROUP BY GROUPING SETS ((round_id, standard_id), (round_id, street), (round_id, unit), (round_id, point_type),
                        (round_id, point_code), (round_id, category), (round_id))
"""
_TREND = """
, per_standard AS (
    SELECT round_id, standard_id, any_value(item_code) AS item_code, any_value(full_marks) AS full_marks,
           sum(score) / nullif(sum(full_marks), 0) AS rate,
           bool_or(failed AND veto = 'zero_item') AS vetoed, point_id IS NOT NULL AS field
    FROM a GROUP BY round_id, standard_id, point_id IS NOT NULL
), zeroed AS (SELECT round_id, item_code FROM per_standard WHERE field GROUP BY ALL HAVING bool_or(vetoed))
SELECT p.round_id,
       sum(CASE WHEN z.item_code IS NULL THEN p.full_marks * p.rate ELSE 0 END) FILTER (WHERE field)
           / sum(p.full_marks) FILTER (WHERE field) AS field_rate
FROM per_standard p LEFT JOIN zeroed z ON z.round_id = p.round_id AND z.item_code = p.item_code
GROUP BY p.round_id
"""
_FACTS = """
WITH d(day, e) AS (VALUES {days}),
st AS (
    SELECT d.day, ev.finding_id,
           arg_max(ev.to_status, ev.id) AS status,
           CAST(arg_max(ev.deadline, ev.id) FILTER (WHERE ev.deadline IS NOT NULL) AS DATE) AS deadline,
           min(ev.happened) FILTER (WHERE ev.action = 'create') AS assigned_at,
           min(ev.happened) FILTER (WHERE ev.action = 'pass_reinspection') AS closed_at,
           count(*) FILTER (WHERE ev.action IN ('pass_reinspection', 'fail_reinspection')) AS n,
           arg_min(ev.action, ev.id) FILTER (WHERE ev.action IN ('pass_reinspection', 'fail_reinspection')) AS first
    FROM d JOIN events_t ev ON ev.happened < d.e
    GROUP BY d.day, ev.finding_id
),
rec AS (SELECT recurrence_of, min(created_at) AS first_at FROM findings_t WHERE recurrence_of IS NOT NULL GROUP BY 1),
facts AS (
    SELECT st.*, d.e, rec.first_at FROM st JOIN d ON d.day = st.day
    LEFT JOIN rec ON rec.recurrence_of = st.finding_id WHERE st.status <> 'voided'
)
"""
_COUNTS = """
       count(*) AS created,
       count(*) FILTER (WHERE status <> 'long_term' AND (deadline <= day OR status = 'closed')) AS due,
       count(*) FILTER (WHERE status = 'closed') AS closed,
       count(*) FILTER (WHERE status = 'closed' AND CAST(closed_at + INTERVAL 8 HOUR AS DATE) <= deadline) AS on_time,
       count(*) FILTER (WHERE status IN ('assigned', 'in_progress', 'submitted') AND deadline < day) AS overdue,
       count(*) FILTER (WHERE status IN ('assigned', 'in_progress', 'submitted')) AS open,
       count(*) FILTER (WHERE status = 'long_term') AS long_term,
       count(*) FILTER (WHERE n > 0) AS reinspected,
       count(*) FILTER (WHERE first = 'pass_reinspection') AS first_pass,
       count(*) FILTER (WHERE status = 'closed' AND first_at < e) AS recurred,
       sum(epoch(closed_at - assigned_at) / 86400) FILTER (WHERE status = 'closed') AS days
"""
_RECTIFICATION = "SELECT day," + _COUNTS + "FROM facts GROUP BY day"
_BY_GROUP = (
    "SELECT street.name, u.name, pt.name,"
    + _COUNTS
    + """FROM facts JOIN findings_t f ON f.id = facts.finding_id JOIN units u ON u.id = f.unit_id
LEFT JOIN points p ON p.id = f.point_id LEFT JOIN units street ON street.id = p.street_id
LEFT JOIN point_types pt ON pt.id = p.point_type_id
WHERE facts.day = ? AND f.round_id = ?
GROUP BY GROUPING SETS ((street.name), (u.name), (pt.name), ())"""
)
_OPEN = """SELECT p.code, count(*) FROM facts
JOIN findings_t f ON f.id = facts.finding_id JOIN points p ON p.id = f.point_id
WHERE facts.day = ? AND status IN ('assigned', 'in_progress', 'submitted') GROUP BY p.code"""


def _duckdb(ctx: Context) -> _Duck:
    key = "_dashboard_duckdb"
    if key not in ctx.setup_objects:
        seconds, duck = timed(lambda: _Duck(str(ctx.dataset.path), ctx.meta))
        ctx.setup["rows loaded into DuckDB for the dashboard's yardstick"] = seconds
        ctx.setup_objects[key] = duck
    return ctx.setup_objects[key]
