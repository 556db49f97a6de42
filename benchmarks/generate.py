"""The benchmark data set: the demo city grown to a prefecture city's year of work, deterministic for a seed.

``python -m benchmarks.generate --scale city|quick [--seed N] [--force]``

City scale: the demo's city register (about 6,000 points, 42 streets and towns, 450 units, the sample index), 50
inspectors, 24 weekly rounds (a patrol every week, a mock evaluation every fourth week) drawn with the product's own
stratified sampling and assignment, every applicable standard of every drawn point observed (about 1,000,000
observations), and a finding for every failure of a submitted point plus findings reported by hand (about 100,000),
each told through its life with finding_events in time order: assigned, started, extension asked for and granted or
refused, reassigned, submitted, re-inspection failed and passed, closed, made long-term, voided. The last round is
in progress on the data's "now" (``AS_OF``): most points submitted, some half scored, the rest untouched (the
scoring and concurrency benchmarks answer those).

The sample index checks about 10 standards per point (a city's full index checks 30-40); to store the observation
count the issue asks for, each round draws the share of every point type that brings the total to the target
(about 4,000 points a round at city scale) rather than 1,000 points of 40 standards each.

Reference data (units, index, points, users) go through the product's services and the audit log as usual. The
bulk (rounds, observations, findings, events) is inserted with executemany on a connection opened with
``audit_exempt=True``: logging a million generated rows one by one would take an hour and measure nothing, so the
log instead gets one entry, the ``benchmark`` setting that describes the generated data.

The result is cached in ``benchmarks/cache/`` (git-ignored) by generator version, scale and seed, with a
reference copy holding only the register (for the import benchmarks). ``load_postgres`` copies a cached file into
a PostgreSQL database (COPY, table by table).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from civeval import archive, audit, auth, demo, rounds, sampling, scoring
from civeval.deadlines import calendar_from_env
from civeval.models import (
    Actor,
    Answer,
    Grant,
    Point,
    Quota,
    Result,
    Role,
    RoundKind,
    RoundStatus,
    SamplePlan,
    Severity,
    Standard,
)
from civeval.responsibility import responsible_unit
from civeval.store import open_engine, repo
from civeval.store import schema as t

GENERATOR_VERSION = 2  # bump whenever what is generated changes: the cache key holds it
CACHE_DIR = Path(__file__).resolve().parent / "cache"
PROJECT = Path(__file__).resolve().parents[1]
SYSTEM = Actor.system("性能测试数据")
LOCAL = dt.timedelta(hours=8)  # Beijing; the store keeps naive UTC
# The last round starts on this Monday; the data's "now" is that Wednesday 18:00 Beijing time. Fixed, so that the
# same seed gives the same data whatever the day it is built.
LAST_ROUND_START = dt.date(2026, 11, 16)
AS_OF_LOCAL = dt.datetime.combine(LAST_ROUND_START + dt.timedelta(days=2), dt.time(18))
AS_OF = AS_OF_LOCAL - LOCAL  # naive UTC, like every store timestamp


@dataclass(frozen=True)
class BenchScale:
    name: str
    demo_scale: str  # civeval.demo scale of the register
    rounds: int
    observations: int  # target: each round draws the share of points that brings the total near it
    inspectors: int
    hand_findings: float  # findings reported by hand, as a share of those from rounds
    open_share: float  # of each inspector's points in the last round: left untouched (scored: the rest)


SCALES = {
    "city": BenchScale("city", "city", 24, 1_000_000, 50, 0.05, 0.3),
    "quick": BenchScale("quick", "county", 3, 3_000, 6, 0.05, 0.3),
}

FAIL_NOTES = demo.FAIL_NOTES  # what the demo's inspectors write on a failure
HAND_SOURCES = ["hotline", "hotline", "snapshot", "snapshot", "leader", "other"]
HAND_TEXTS = ["市民反映路灯损坏", "随手拍：垃圾桶满溢", "领导督查发现占道经营", "市民反映噪声扰民", "井盖缺失"]


@dataclass
class Dataset:
    """A generated data set on disk: the full SQLite file, the register-only reference copy, what they hold."""

    scale: str
    seed: int
    path: Path
    reference: Path
    meta: dict

    @property
    def counts(self) -> dict[str, int]:
        return self.meta["counts"]


def cache_key(scale: str, seed: int) -> str:
    """The cached data set's name: the generator's version and the schema's (the newest migration's file name), so
    that a data set built before a migration is built again rather than read with the wrong columns."""
    versions = PROJECT / "civeval" / "store" / "migrations" / "versions"
    schema = max(p.name[:4] for p in versions.glob("[0-9][0-9][0-9][0-9]_*.py"))
    return f"civeval-bench-v{GENERATOR_VERSION}-s{schema}-{scale}-seed{seed}"


def _local(moment: dt.datetime) -> dt.datetime:
    return moment + LOCAL


def _utc(local: dt.datetime) -> dt.datetime:
    return local - LOCAL


def copy_sqlite(src: Path, dst: Path) -> None:
    """A consistent copy of a SQLite database (the backup API: WAL content included)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{dst}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(src) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    a.close()
    b.close()


def ensure(scale: str = "city", seed: int = 1, *, force: bool = False, log=print) -> Dataset:
    """The cached data set for this scale and seed, built first when absent (or when ``force``)."""
    key = cache_key(scale, seed)
    path, ref, meta_path = CACHE_DIR / f"{key}.db", CACHE_DIR / f"{key}-register.db", CACHE_DIR / f"{key}.json"
    if not force and path.exists() and ref.exists() and meta_path.exists():
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        return Dataset(scale, seed, path, ref, meta)
    log(f"generating the {scale} data set (seed {seed}) into {path} …")
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    tmp, tmp_ref = (p.with_suffix(f".building-{os.getpid()}.db") for p in (path, ref))
    meta = build(tmp, tmp_ref, SCALES[scale], seed, log=log)
    for src, dst in ((tmp, path), (tmp_ref, ref)):
        for suffix in ("-wal", "-shm"):
            Path(f"{src}{suffix}").unlink(missing_ok=True)
        os.replace(src, dst)
    meta["file_mb"] = round(path.stat().st_size / 2**20, 1)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1), encoding="utf-8")
    log(f"built in {meta['build_seconds']:.0f} s: {_summary(meta)}, {meta['file_mb']} MB")
    return Dataset(scale, seed, path, ref, meta)


def _summary(meta: dict) -> str:
    c = meta["counts"]
    return (
        f"{c['points']:,} points, {c['rounds']} rounds, {c['observations']:,} observations, "
        f"{c['findings']:,} findings ({c['finding_events']:,} events)"
    )


# --- building -----------------------------------------------------------------------------------------


def build(path: Path, reference: Path, sc: BenchScale, seed: int, *, log=print) -> dict:
    """Write the data set into a new SQLite file ``path`` and the register-only copy into ``reference``."""
    started, cpu_started = time.perf_counter(), time.process_time()
    for p in (path, reference):
        for suffix in ("", "-wal", "-shm"):
            Path(f"{p}{suffix}").unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    engine = open_engine(url)
    try:
        with audit.clock_at(_utc(dt.datetime.combine(LAST_ROUND_START, dt.time(8))) - dt.timedelta(weeks=sc.rounds)):
            demo.build_demo(engine, seed, sc.demo_scale, with_rounds=False)
            inspectors = [f"insp{i + 1:02d}" for i in range(sc.inspectors)]
            auth.create_users(
                engine,
                SYSTEM,
                [
                    auth.NewUser(u, f"测评员{u[4:]}", (Grant(role=Role.inspector),), demo.DEMO_PASSWORD)
                    for u in inspectors
                ],
            )
        engine.dispose()
        copy_sqlite(path, reference)
        log(f"  register and users: {time.perf_counter() - started:.1f} s")
        meta = _Builder(engine, sc, seed, inspectors, log).run()
        with audit.writing(engine, SYSTEM, context=f"生成性能测试数据 {sc.name} 种子{seed}") as conn:
            repo.set_setting(conn, "benchmark", {k: v for k, v in meta.items() if k != "open_points"})
        with engine.connect() as conn:
            meta["counts"] = table_counts(conn)
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        engine.dispose()
    meta["build_seconds"] = round(time.perf_counter() - started, 1)
    meta["build_cpu_seconds"] = round(time.process_time() - cpu_started, 1)
    return meta


def table_counts(conn: sa.Connection) -> dict[str, int]:
    names = [
        "units",
        "points",
        "standards",
        "users",
        "rounds",
        "round_points",
        "observations",
        "findings",
        "finding_events",
        "audit_log",
    ]
    return {n: conn.execute(sa.select(sa.func.count()).select_from(t.metadata.tables[n])).scalar_one() for n in names}


class _Builder:
    """Rounds, observations and findings, inserted in bulk round by round (see the module docstring)."""

    def __init__(self, engine: sa.Engine, sc: BenchScale, seed: int, inspectors: list[str], log) -> None:
        self.engine, self.sc, self.seed, self.inspectors, self.log = engine, sc, seed, inspectors, log
        self.rng = random.Random(f"bench:{seed}:{sc.name}")
        self.calendar = calendar_from_env()
        with engine.connect() as conn:
            self.index_id = repo.list_indexes(conn)[0].id
            self.index, self.std_ids = rounds.round_index(conn, self.index_id)
            self.points = repo.list_points(conn)
            self.point_ids = dict(conn.execute(sa.select(t.points.c.code, t.points.c.id)).all())
            self.unit_ids = dict(conn.execute(sa.select(t.units.c.name, t.units.c.id)).all())
            self.departments = list(
                conn.execute(sa.select(t.units.c.name).where(t.units.c.kind == "department")).scalars()
            )
        self.by_code = {p.code: p for p in self.points}
        self.applicable = {
            pt.name: [s for _, _, s in rounds.applicable_standards(self.index, pt.name)]
            for pt in self.index.point_types
        }
        self.materials = [
            s for _, _, s in rounds.materials_standards(self.index) if responsible_unit(s) in self.unit_ids
        ]
        self.workload = sampling.workload_by_type(self.index)
        active = [p for p in self.points if p.active]
        per_round = sum(len(self.applicable.get(p.point_type, [])) for p in active)
        self.share = min(1.0, sc.observations / max(1, sc.rounds * per_round))
        streets = sorted({p.street or "" for p in self.points})
        self.street_quality = {s: self.rng.uniform(-0.06, 0.04) for s in streets}
        self.standard_quality = {s.code: self.rng.uniform(-0.07, 0.04) for _, _, s in self.index.standards()}
        self.unit_diligence = {u: self.rng.uniform(0.8, 0.995) for u in self.unit_ids}
        self._failed: dict[tuple[str, str, int | None], bool] = {}
        self._unit_of: dict[tuple[str, str], str | None] = {}
        self.ids = {"observations": 0, "findings": 0, "finding_events": 0}
        self.last_closed: dict[tuple[int, int], tuple[int, dt.datetime]] = {}  # (point, standard) -> finding, closed
        self.open_points: dict[str, list[str]] = {}

    # -- small pieces --

    def _next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def failed(self, standard: Standard, result: str, instances: int | None) -> bool:
        key = (standard.code, result, instances)
        if key not in self._failed:
            scored = scoring.score_observation(standard, Answer(result=Result(result), instances=instances))
            self._failed[key] = scored.failed
        return self._failed[key]

    def unit_for(self, standard: Standard, point: Point) -> str | None:
        key = (standard.code, point.code)
        if key not in self._unit_of:
            unit = responsible_unit(standard, point)
            self._unit_of[key] = unit if unit in self.unit_ids else None
        return self._unit_of[key]

    def answer(self, standard: Standard, quality: float) -> tuple[str, int | None, str]:
        rng = self.rng
        if rng.random() < 0.04:
            return "na", None, ""
        ok = rng.random() < quality
        note = "" if ok else rng.choice(FAIL_NOTES)
        mode = standard.scoring_mode.value
        if mode == "graded":
            return ("A" if ok else rng.choice("BBCD")), None, note
        if mode == "deduction":
            n = 0 if ok else rng.choice([1, 1, 2, 3, 5])
            return ("pass" if n == 0 else "fail"), n, note
        return ("pass" if ok else "fail"), None, note

    # -- the whole --

    def run(self) -> dict:
        sc = self.sc
        round_ids = []
        for r in range(sc.rounds):
            t0 = time.perf_counter()
            rid, n_obs, n_findings = self.one_round(r)
            round_ids.append(rid)
            if sc.rounds <= 4 or r % 4 == 3 or r == sc.rounds - 1:
                self.log(
                    f"  round {r + 1}/{sc.rounds}: {n_obs:,} observations, {n_findings:,} findings "
                    f"({time.perf_counter() - t0:.1f} s)"
                )
        t0 = time.perf_counter()
        with audit.clock_at(AS_OF):  # as civeval init does: each closed round's figures recorded (civeval.archive)
            n = archive.backfill(self.engine)
        self.log(f"  figures of {n} closed rounds recorded ({time.perf_counter() - t0:.1f} s)")
        return {
            "generator_version": GENERATOR_VERSION,
            "scale": sc.name,
            "seed": self.seed,
            "as_of": AS_OF.isoformat(),
            "as_of_local_date": AS_OF_LOCAL.date().isoformat(),
            "index_id": self.index_id,
            "round_ids": round_ids,
            "in_progress_round_id": round_ids[-1],
            "draw_share": round(self.share, 4),
            "inspectors": self.inspectors,
            "open_points": self.open_points,
        }

    def one_round(self, r: int) -> tuple[int, int, int]:
        sc, rng = self.sc, self.rng
        last = r == sc.rounds - 1
        start = LAST_ROUND_START - dt.timedelta(weeks=sc.rounds - 1 - r)
        kind = RoundKind.mock if r % 4 == 3 else RoundKind.patrol
        year, week, _ = start.isocalendar()
        name = f"{year}年第{week}周{kind.label}"
        quotas = [Quota(point_type=pt.name, share=self.share) for pt in self.index.point_types]
        plan = SamplePlan(seed=rng.randint(1, 10**6), quotas=quotas)
        drawn = sampling.draw(self.points, plan)
        assignment = sampling.assign(drawn.points, self.inspectors, workload=lambda p: self.workload[p.point_type])
        created = _utc(dt.datetime.combine(start - dt.timedelta(days=3), dt.time(9)))
        quality = 0.90 + 0.05 * r / max(1, sc.rounds - 1)
        with self.engine.begin() as conn:
            conn.execution_options(audit_exempt=True)  # generated in bulk: see the module docstring
            rid = conn.execute(
                sa.insert(t.rounds).values(
                    name=name,
                    kind=kind.value,
                    index_id=self.index_id,
                    start_date=start,
                    end_date=start + dt.timedelta(days=4),
                    status=(RoundStatus.in_progress if last else RoundStatus.closed).value,
                    sample_plan=plan.model_dump(mode="json"),
                    drawn_by="office",
                    drawn_at=created,
                    created_at=created,
                )
            ).inserted_primary_key[0]
            rps, obs, submitted = [], [], []  # submitted: (point, submitted_at, [(obs id, standard, row)])
            user_ids = dict(conn.execute(sa.select(t.users.c.username, t.users.c.id)).all())
            for inspector, codes in assignment.items():
                n = len(codes)
                scored_upto = n if not last else int(n * (1 - sc.open_share))
                partial_upto = n if not last else scored_upto + max(0, int(n * 0.1))
                if last:
                    self.open_points[inspector] = codes[partial_upto:]
                days = 3 if last else 5
                for k, code in enumerate(codes):
                    point = self.by_code[code]
                    day = min(days - 1, k * days // max(1, scored_upto))
                    visit = _utc(
                        dt.datetime.combine(start + dt.timedelta(days=day), dt.time(9))
                        + dt.timedelta(minutes=25 * (k % max(1, -(-scored_upto // days))))
                    )
                    sub_at = None
                    standards = self.applicable.get(point.point_type, [])
                    if k < partial_upto:
                        q = quality + self.street_quality[point.street or ""]
                        answered = standards if k < scored_upto else standards[: len(standards) // 2]
                        items = []
                        for j, s in enumerate(answered):
                            result, instances, note = self.answer(s, min(0.99, q + self.standard_quality[s.code]))
                            oid = self._next("observations")
                            obs.append(
                                dict(
                                    id=oid,
                                    round_id=rid,
                                    point_id=self.point_ids[code],
                                    unit_id=None,
                                    standard_id=self.std_ids[s.code],
                                    result=result,
                                    instances=instances,
                                    note=note,
                                    source="app",
                                    answered_by=inspector,
                                    answered_at=visit + dt.timedelta(minutes=j),
                                    version=1,
                                )
                            )
                            items.append((oid, s, result, instances, note))
                        if k < scored_upto:
                            sub_at = visit + dt.timedelta(minutes=len(answered) + 3)
                            submitted.append((point, inspector, sub_at, items))
                    rps.append(
                        dict(
                            round_id=rid,
                            point_id=self.point_ids[code],
                            fixed=False,
                            inspector_id=user_ids[inspector],
                            visit_date=None,
                            submitted_at=sub_at,
                            submitted_by=inspector if sub_at else None,
                        )
                    )
            if not last:  # materials review, per responsible unit, at the end of the week
                at = _utc(dt.datetime.combine(start + dt.timedelta(days=4), dt.time(17)))
                for j, s in enumerate(self.materials):
                    result, instances, note = self.answer(s, quality + 0.03)
                    obs.append(
                        dict(
                            id=self._next("observations"),
                            round_id=rid,
                            point_id=None,
                            unit_id=self.unit_ids[responsible_unit(s)],
                            standard_id=self.std_ids[s.code],
                            result=result,
                            instances=instances,
                            note=note,
                            source="app",
                            answered_by="office",
                            answered_at=at + dt.timedelta(minutes=j),
                            version=1,
                        )
                    )
            conn.execute(sa.insert(t.round_points), rps)
            for chunk in range(0, len(obs), 20_000):
                conn.execute(sa.insert(t.observations), obs[chunk : chunk + 20_000])
            self._events: list[dict] = []
            findings = self.round_findings(rid, kind, submitted)
            findings += self.hand_findings(start, len(findings))
            events = self._events
            findings.sort(key=lambda f: f["id"])
            if findings:
                conn.execute(sa.insert(t.findings), findings)
            for chunk in range(0, len(events), 20_000):
                conn.execute(sa.insert(t.finding_events), events[chunk : chunk + 20_000])
        return rid, len(obs), len(findings)

    # -- findings --

    def round_findings(self, rid: int, kind: RoundKind, submitted) -> list[dict]:
        source = "round" if kind in (RoundKind.mock, RoundKind.reinspection) else kind.value
        findings = []
        for point, inspector, sub_at, items in sorted(submitted, key=lambda x: x[2]):
            for oid, s, result, instances, note in items:
                if not self.failed(s, result, instances):
                    continue
                unit = self.unit_for(s, point)
                if unit is None:
                    continue
                text = s.text.rstrip("。.；; ")
                pid, sid = self.point_ids[point.code], self.std_ids[s.code]
                earlier = self.last_closed.get((pid, sid))
                f = self.new_finding(
                    source=source,
                    round_id=rid,
                    observation_id=oid,
                    point_id=pid,
                    standard_id=sid,
                    unit=unit,
                    description=f"{text}。{note}" if note else s.text,
                    severity=s.severity,
                    deadline=self.calendar.deadline(s, s.severity, _local(sub_at).date()),
                    instances=instances,
                    created_at=sub_at,
                    created_by=inspector,
                    recurrence_of=earlier[0] if earlier and earlier[1] < sub_at else None,
                )
                findings.append(f)
        return findings

    def hand_findings(self, week_start: dt.date, n_round: int) -> list[dict]:
        """Findings reported by hand during the week (hotline, 随手拍, leaders' visits)."""
        rng = self.rng
        out = []
        for _ in range(int(n_round * self.sc.hand_findings)):
            at = _utc(dt.datetime.combine(week_start, dt.time(8))) + dt.timedelta(minutes=rng.randint(0, 7 * 24 * 60))
            if at >= AS_OF:
                continue
            point = rng.choice(self.points)
            standards = self.applicable.get(point.point_type, [])
            s = rng.choice(standards) if standards and rng.random() < 0.5 else None
            unit = (self.unit_for(s, point) if s else None) or point.custodian_unit or point.street
            if unit not in self.unit_ids:
                continue
            severity = s.severity if s else Severity.normal
            out.append(
                self.new_finding(
                    source=rng.choice(HAND_SOURCES),
                    round_id=None,
                    observation_id=None,
                    point_id=self.point_ids[point.code],
                    standard_id=self.std_ids[s.code] if s else None,
                    unit=unit,
                    description=rng.choice(HAND_TEXTS),
                    severity=severity,
                    deadline=self.calendar.deadline(s, severity, _local(at).date()),
                    instances=None,
                    created_at=at,
                    created_by="office",
                    recurrence_of=None,
                )
            )
        return out

    def new_finding(self, *, unit: str, severity: Severity, created_at: dt.datetime, deadline: dt.date, **kw) -> dict:
        fid = self._next("findings")
        f = dict(
            id=fid,
            code=f"WT{fid:06d}",
            unit_id=self.unit_ids[unit],
            severity=severity.value,
            status="assigned",
            created_at=created_at,
            assigned_at=created_at,
            deadline=deadline,
            closed_at=None,
            closed_by=None,
            long_term_at=None,
            voided_at=None,
            reinspections=0,
            extension_until=None,
            version=1,
            changed_at=created_at,
            closed_on=None,
            **kw,
        )
        self._event(f, created_at, kw["created_by"], "create", "assigned", detail={"deadline": deadline.isoformat()})
        self.life(f, unit)
        if f["status"] == "closed" and f["point_id"] and f["standard_id"]:
            self.last_closed[(f["point_id"], f["standard_id"])] = (fid, f["closed_at"])
        return f

    def _event(self, f: dict, at: dt.datetime, actor: str, action: str, to: str, reason: str = "", detail=None):
        self._events.append(
            dict(
                id=self._next("finding_events"),
                finding_id=f["id"],
                at=at,
                actor=actor,
                action=action,
                from_status=None if action == "create" else f["status"],
                to_status=to,
                reason=reason,
                detail=detail,
            )
        )
        if action != "create":
            f["version"] += 1
        f["status"] = to
        f["changed_at"] = at

    def life(self, f: dict, unit: str) -> None:
        """What happened to the finding up to AS_OF (never after): the state machine of civeval.findings."""
        rng = self.rng
        t0: dt.datetime = f["created_at"]
        h = dt.timedelta(hours=1)

        def act(at: dt.datetime, actor: str, action: str, to: str | None = None, reason: str = "", detail=None):
            if at >= AS_OF:
                return False
            self._event(f, at, actor, action, to or f["status"], reason, detail)
            return True

        roll = rng.random()
        if roll < 0.015:
            if act(t0 + rng.randint(2, 30) * h, "office", "void", "voided", "重复登记，已合并处理"):
                f["voided_at"] = self._events[-1]["at"]
            return
        at = t0 + rng.randint(1, 6) * h
        if roll < 0.055 and self.departments:
            other = rng.choice([d for d in self.departments if d != unit] or self.departments)
            why = f"非本单位职责，转{other}办理"
            if not act(at, "office", "reassign", "assigned", why, {"from": unit, "to": other}):
                return
            f["unit_id"], f["assigned_at"], unit = self.unit_ids[other], at, other
        if roll > self.unit_diligence.get(unit, 0.9):  # not (yet) dealt with
            if rng.random() < 0.4:
                act(at + rng.randint(2, 20) * h, "liaison", "start", "in_progress")
            return
        if rng.random() < 0.025:
            if act(at + rng.randint(20, 60) * h, "office", "mark_long_term", "long_term", "需纳入年度改造计划"):
                f["long_term_at"] = self._events[-1]["at"]
            return
        at += rng.randint(2, 20) * h
        if not act(at, "liaison", "start", "in_progress"):
            return
        deadline: dt.date = f["deadline"]
        if rng.random() < 0.07:
            asked = deadline + dt.timedelta(days=rng.choice([3, 5, 7, 10]))
            at += rng.randint(4, 30) * h
            asked_for = {"requested": asked.isoformat()}
            if not act(at, "liaison", "request_extension", reason="需等待材料到货", detail=asked_for):
                return
            f["extension_until"] = asked
            at += rng.randint(2, 24) * h
            if rng.random() < 0.75:
                moved = {"from": deadline.isoformat(), "to": asked.isoformat()}
                if not act(at, "office", "grant_extension", detail=moved):
                    return
                f["deadline"], deadline = asked, asked
            elif not act(at, "office", "refuse_extension", reason="期限内可以完成"):
                return
            f["extension_until"] = None
        # submitted around the deadline: mostly in time, some late
        due_end = _utc(dt.datetime.combine(deadline, dt.time(18)))
        target = due_end + dt.timedelta(days=rng.choice([-3, -2, -2, -1, -1, -1, 0, 1, 3]), hours=-rng.randint(0, 8))
        at = max(at + 2 * h, target)
        for attempt in range(3):
            if not act(at, "liaison", "submit", "submitted", "已按要求整改完毕"):
                return
            at += rng.randint(2, 20) * h
            inspector = rng.choice(self.inspectors)
            if attempt < 2 and rng.random() < (0.12 if attempt == 0 else 0.2):
                if not act(at, inspector, "fail_reinspection", "in_progress", "复查时问题仍存在"):
                    return
                f["reinspections"] += 1
                at += rng.randint(20, 60) * h
                continue
            if act(at, inspector, "pass_reinspection", "closed"):
                f["reinspections"] += 1
                f["closed_at"], f["closed_by"], f["closed_on"] = at, inspector, audit.local_date(at)
            return


# --- PostgreSQL -----------------------------------------------------------------------------------------


def load_postgres(sqlite_path: Path, url: str, *, analyze: bool = True) -> dict[str, int]:
    """Copy every row of a generated SQLite file into the (empty) PostgreSQL database ``url``: the schema by the
    product's migrations, the rows by COPY, then the id sequences moved past the copied ids, and with ``analyze``
    the tables vacuumed and analyzed. Returns rows per table.

    COPY on the driver's connection does not pass through SQLAlchemy, so the audit listener does not see it: these
    are the generated rows being moved, not a user's writes (the audit log is copied along with them)."""
    src = sa.create_engine(f"sqlite:///{sqlite_path}")
    dst = open_engine(url)
    copied: dict[str, int] = {}
    try:
        with src.connect() as sconn, dst.connect() as dconn:
            raw = dconn.connection.dbapi_connection
            with raw.cursor() as cur:
                cur.execute("SET session_replication_role = replica")  # no FK triggers while loading
                for table in t.metadata.sorted_tables:
                    cols = [c.name for c in table.columns]
                    json_cols = {i for i, c in enumerate(table.columns) if isinstance(c.type, sa.JSON)}
                    n = 0
                    quoted = ", ".join(f'"{c}"' for c in cols)
                    with cur.copy(f'COPY "{table.name}" ({quoted}) FROM STDIN') as copy:
                        result = sconn.execution_options(yield_per=20_000).execute(sa.select(table))
                        for row in result:
                            values = list(row)
                            for i in json_cols:
                                if values[i] is not None:
                                    values[i] = json.dumps(values[i], ensure_ascii=False)
                            copy.write_row(values)
                            n += 1
                    copied[table.name] = n
                    if "id" in table.c and isinstance(table.c.id.type, sa.Integer) and n:
                        cur.execute(
                            f"SELECT setval(pg_get_serial_sequence('\"{table.name}\"', 'id'), "
                            f'(SELECT max(id) FROM "{table.name}"))'
                        )
                cur.execute("SET session_replication_role = DEFAULT")
            raw.commit()
        if analyze:  # VACUUM too: else PostgreSQL's autovacuum vacuums the million inserted rows later, in the
            # middle of a measurement (on 2 cores it took one from the SQLite measurements that followed)
            with dst.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.exec_driver_sql("VACUUM (ANALYZE)")
    finally:
        src.dispose()
        dst.dispose()
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.generate", description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", choices=sorted(SCALES), default="city")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--force", action="store_true", help="build again even when cached")
    args = parser.parse_args(argv)
    ds = ensure(args.scale, args.seed, force=args.force)
    print(f"{ds.path} ({ds.meta['file_mb']} MB, built in {ds.meta['build_seconds']} s)")
    for table, n in ds.counts.items():
        print(f"  {table:15} {n:>10,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


__all__ = ["AS_OF", "SCALES", "BenchScale", "Dataset", "copy_sqlite", "ensure", "load_postgres"]
