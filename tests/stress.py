"""Many people writing at once: the load behind tests/test_concurrency.py (small sizes, ``make test``) and the
benchmark harness (full sizes, ``make bench``). The sizes are arguments; the defaults come from the environment::

    result = run_writers(engine, writers=50, saves_each=8)    # inspectors saving answers
    assert result.ok, result.report()
    moved = run_transitions(engine, workers=50, findings_each=2)    # units and inspectors moving findings
    assert moved.ok, moved.report()

Both take an engine on a fresh, migrated database (SQLite or PostgreSQL), build their small world in it (units,
an index of pass/fail standards, one point type, a round drawn and assigned, one inspector, one office clerk and
one unit liaison per writer), start every writer thread at the same moment, and check afterwards that what the
store holds is exactly what the writers were told was saved:

- answers: each writer saves into its own (point, standard) pairs (a first answer, then a changed one) with the
  version it last got back, and every ``SHARED_EVERY``-th save, as office clerk, changes one of a few answers that
  every writer changes (read the version, save with it). A save either returns a version (acknowledged) or, on a
  shared answer only, is refused with ``ConflictError``; every acknowledged version of an answer is acknowledged
  once, the stored version is the number of acknowledged saves, the stored answer is the one acknowledged last,
  and the audit log holds one entry per acknowledged save, by the writer who was told it was saved.
- findings: each worker reports its own findings and moves each through start → submit → (fail re-inspection →
  submit →) pass re-inspection; pairs of workers race on the same finding at the same moment (pass against fail
  with the version both read; two starts without a version): exactly one wins, the other is refused in Chinese.
  Every finding's events form one chain from its creation to its status, its version counts them, and the events
  are exactly the acknowledged transitions.

Anything else raised in a writer (``database is locked``, a unique-constraint error, a pool time-out) is an error.
"""

from __future__ import annotations

import io
import math
import os
import threading
import time
import traceback
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from civeval import audit, auth, findings, rounds
from civeval.findings import FindingAction, FindingError, NewFinding
from civeval.models import (
    Actor,
    Answer,
    Category,
    EvaluationIndex,
    FindingSource,
    FindingStatus,
    Indicator,
    Item,
    Method,
    Point,
    PointType,
    Quota,
    Result,
    RoundKind,
    RoundStatus,
    SamplePlan,
    Standard,
    Unit,
    UnitKind,
)
from civeval.store import repo
from civeval.store import schema as t

# The one place the sizes live: `make test` runs these defaults, the benchmark passes bigger ones.
WRITERS = int(os.environ.get("CIVEVAL_STRESS_WRITERS", "50"))
SAVES_EACH = int(os.environ.get("CIVEVAL_STRESS_SAVES", "8"))
FINDINGS_EACH = int(os.environ.get("CIVEVAL_STRESS_FINDINGS", "1"))
SHARED_EVERY = 4  # every 4th save of a writer changes a shared answer (the rest: the writer's own answers)
STANDARDS = 6  # standards per point
START_TIMEOUT_S = 120  # how long a thread waits for the others at the start line

ROUND_NAME = "并发压力测试"
_SYSTEM = Actor.system("并发测试")
_RESULTS = (Result.passed, Result.failed, Result.na)


# --- the world --------------------------------------------------------------------------------------------------


@dataclass
class World:
    """What ``build_world`` made; its names carry ``tag``, so that several worlds (and any other data) can share a
    database: a benchmark may run the load again on the same one."""

    tag: str
    unit: str  # the department answering for every point (and every finding)
    round_id: int
    standards: list[str]
    own_points: list[list[str]]  # per writer, the points assigned to its inspector
    shared_pairs: list[tuple[str, str]]  # (point, standard) every writer changes
    inspectors: list[Actor]
    clerks: list[Actor]  # office staff (admin): they change the shared answers and report findings
    liaisons: list[Actor]  # of the unit: they start and submit findings

    @property
    def writers(self) -> int:
        return len(self.inspectors)


def _names(tag: str) -> tuple[str, str, str]:
    """The world's point type, street and unit."""
    return f"并发测试小巷{tag}", f"并发测试街道{tag}", f"并发测试管理局{tag}"


def _index(tag: str, standards: int) -> EvaluationIndex:
    point_type, _, unit = _names(tag)
    return EvaluationIndex(
        name=f"并发测试体系{tag}",
        version="1",
        year=2025,
        edition="县级",
        point_types=[PointType(code=f"PT-{tag}", name=point_type)],
        categories=[
            Category(
                code="I-1",
                name="公共环境",
                indicators=[Indicator(code="II-1", name="市容环境")],
                items=[
                    Item(
                        code="III-1",
                        name="背街小巷",
                        indicator="II-1",
                        standards=[
                            Standard(
                                code=f"III-1-{n + 1}",
                                text=f"背街小巷第{n + 1}项：路面干净，无乱堆乱放",
                                methods=[Method.field],
                                point_types=[point_type],
                                full_marks=1,
                                lead_unit=unit,
                            )
                            for n in range(standards)
                        ],
                    )
                ],
            )
        ],
    )


def _add_people(conn: sa.Connection, tag: str, writers: int, unit_id: int) -> dict[str, list[int]]:
    """Writers' accounts, inserted directly (they never sign in: no password hashing for hundreds of them)."""
    ids: dict[str, list[int]] = {"inspector": [], "admin": [], "liaison": []}
    names = {"inspector": ("i", "测评员"), "admin": ("o", "办公室"), "liaison": ("l", "联络员")}
    for n in range(writers):
        for role, (kind, label) in names.items():
            uid = conn.execute(
                sa.insert(t.users).values(
                    username=f"stress-{tag}-{kind}{n:03d}", display_name=f"{label}{n:03d}", password_hash="!"
                )
            ).inserted_primary_key[0]
            conn.execute(
                sa.insert(t.role_grants).values(
                    user_id=uid, role=role, scope_unit_id=unit_id if role == "liaison" else None
                )
            )
            ids[role].append(uid)
    return ids


def build_world(engine: sa.Engine, *, writers: int, saves_each: int, standards: int = STANDARDS) -> World:
    """Units, an index, enough points for every writer's own answers plus a few shared ones, the people, and a
    round in progress whose points are each assigned to one writer's inspector (the shared ones to nobody)."""
    own_saves = saves_each - saves_each // SHARED_EVERY
    own_pairs = max(1, math.ceil(own_saves / 2))  # each own answer is saved twice: given, then changed
    per_writer = max(1, math.ceil(own_pairs / standards))
    n_shared = max(1, writers // 10)
    shared_points = max(1, math.ceil(n_shared / standards))
    tag = uuid.uuid4().hex[:6]
    point_type, street, unit = _names(tag)
    codes = [f"Z{tag}-{n:05d}" for n in range(writers * per_writer + shared_points)]
    with audit.writing(engine, _SYSTEM, context="并发测试：准备数据") as conn:
        repo.save_units(
            conn,
            [
                Unit(code=f"ZS{tag}", name=street, kind=UnitKind.street),
                Unit(code=f"ZD{tag}", name=unit, kind=UnitKind.department),
            ],
        )
        index_id = repo.save_index(conn, _index(tag, standards))
        repo.save_points(
            conn,
            [Point(code=c, name=f"小巷{c}", point_type=point_type, street=street, custodian_unit=unit) for c in codes],
        )
        unit_id = conn.execute(sa.select(t.units.c.id).where(t.units.c.name == unit)).scalar_one()
        ids = _add_people(conn, tag, writers, unit_id)
    today = audit.today()
    rid = rounds.create_round(
        engine, _SYSTEM, name=ROUND_NAME, kind=RoundKind.mock, index_id=index_id, start=today, end=today
    )
    rounds.confirm_draw(
        engine, _SYSTEM, rid, SamplePlan(seed=1, quotas=[Quota(point_type=point_type, count=len(codes))])
    )
    own = [codes[w * per_writer : (w + 1) * per_writer] for w in range(writers)]
    with audit.writing(engine, _SYSTEM, context="并发测试：分配点位") as conn:
        point_ids = dict(conn.execute(sa.select(t.points.c.code, t.points.c.id)).all())
        for w, mine in enumerate(own):
            conn.execute(
                sa.update(t.round_points)
                .where(t.round_points.c.round_id == rid, t.round_points.c.point_id.in_([point_ids[c] for c in mine]))
                .values(inspector_id=ids["inspector"][w])
            )
    rounds.set_status(engine, _SYSTEM, rid, RoundStatus.in_progress)
    std_codes = [f"III-1-{n + 1}" for n in range(standards)]
    shared = [(c, s) for c in codes[writers * per_writer :] for s in std_codes][:n_shared]
    with engine.connect() as conn:
        people = {role: [auth.load_actor(conn, uid) for uid in uids] for role, uids in ids.items()}
    return World(tag, unit, rid, std_codes, own, shared, people["inspector"], people["admin"], people["liaison"])


# --- answers ----------------------------------------------------------------------------------------------------


@dataclass
class StressResult:
    """What a run of concurrent writers was told, and what the store holds afterwards."""

    writers: int
    saves_each: int
    attempted: int = 0
    acknowledged: int = 0  # saves that returned a version: the writer was told "saved"
    conflicts: int = 0  # shared answers refused with ConflictError (someone changed it since it was read)
    rows: int = 0  # observations stored in the round
    audit_entries: int = 0  # audit log entries on observations in the round
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)  # anything raised other than an expected ConflictError
    problems: list[str] = field(default_factory=list)  # the store disagreeing with what was acknowledged
    conflict_messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    @property
    def answers_per_second(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    def report(self) -> str:
        lines = [
            f"{self.writers} writers × {self.saves_each} saves: {self.acknowledged} acknowledged, "
            f"{self.conflicts} refused as conflicts, {self.rows} rows, {self.audit_entries} audit entries, "
            f"{self.seconds:.2f} s ({self.answers_per_second:.0f} answers/s)"
        ]
        lines += [f"error: {e}" for e in self.errors[:20]]
        lines += [f"problem: {p}" for p in self.problems[:50]]
        return "\n".join(lines)


@dataclass(frozen=True)
class _Ack:
    version: int
    result: str
    actor: str


def _stored(engine: sa.Engine, round_id: int, point: str, standard: str) -> tuple[int, str | None]:
    """The stored version (0: none) and result of one answer, as the scoring page reads it before a change."""
    with engine.connect() as conn:
        row = conn.execute(
            sa.select(t.observations.c.version, t.observations.c.result)
            .join(t.points, t.points.c.id == t.observations.c.point_id)
            .join(t.standards, t.standards.c.id == t.observations.c.standard_id)
            .where(t.observations.c.round_id == round_id, t.points.c.code == point, t.standards.c.code == standard)
        ).first()
    return (row.version, row.result) if row else (0, None)


def _other(result: str | None, turn: int) -> Result:
    """A result different from ``result`` (so that every acknowledged save changes the answer)."""
    choices = [r for r in _RESULTS if r.value != result]
    return choices[turn % len(choices)]


def _start_together(n: int, work: Callable[[int], None], errors: list[str]) -> float:
    """Run ``work(i)`` for i < n in n threads released at the same moment; the seconds from release to the end."""
    barrier = threading.Barrier(n + 1)
    lock = threading.Lock()

    def body(i: int) -> None:
        try:
            barrier.wait(START_TIMEOUT_S)
            work(i)
        except Exception as e:
            with lock:
                errors.append(f"thread {i}: {type(e).__name__}: {e}\n{traceback.format_exc(limit=6)}")

    threads = [threading.Thread(target=body, args=(i,), name=f"stress-{i}") for i in range(n)]
    for th in threads:
        th.start()
    barrier.wait(START_TIMEOUT_S)
    began = time.perf_counter()
    for th in threads:
        th.join()
    return time.perf_counter() - began


def run_writers(
    engine: sa.Engine, writers: int = WRITERS, saves_each: int = SAVES_EACH, *, world: World | None = None
) -> StressResult:
    """``writers`` threads, each saving ``saves_each`` answers at the same time (see the module docstring)."""
    world = world or build_world(engine, writers=writers, saves_each=saves_each)
    rid = world.round_id
    out = StressResult(writers, saves_each)
    acks: dict[tuple[str, str], list[_Ack]] = defaultdict(list)
    lock = threading.Lock()
    own_pairs = [[(p, s) for p in pts for s in world.standards] for pts in world.own_points]

    def writer(w: int) -> None:
        inspector, clerk = world.inspectors[w], world.clerks[w]
        mine: dict[tuple[str, str], tuple[int, str | None]] = {}  # own answers: version and result last saved
        own_turn = 0
        for j in range(saves_each):
            shared = j % SHARED_EVERY == SHARED_EVERY - 1
            if shared:
                point, standard = world.shared_pairs[(w + j) % len(world.shared_pairs)]
                version, current = _stored(engine, rid, point, standard)
                actor = clerk
            else:
                point, standard = own_pairs[w][(own_turn // 2) % len(own_pairs[w])]
                own_turn += 1
                version, current = mine.get((point, standard), (0, None))
                actor = inspector
            answer = Answer(result=_other(current, w + j), note=f"{actor.username} 第{j + 1}次")
            with lock:
                out.attempted += 1
            try:
                new = rounds.save_answer(engine, actor, rid, point, standard, answer, expected_version=version)
            except rounds.ConflictError as e:
                with lock:
                    if shared:
                        out.conflicts += 1
                        out.conflict_messages.append(str(e))
                    else:
                        out.errors.append(f"{actor.username} {point} {standard}: own answer refused: {e}")
                continue
            except Exception as e:
                with lock:
                    out.errors.append(f"{actor.username} {point} {standard}: {type(e).__name__}: {e}")
                continue
            with lock:
                out.acknowledged += 1
                acks[(point, standard)].append(_Ack(new, answer.result.value, actor.username))
            if not shared:
                mine[(point, standard)] = (new, answer.result.value)

    out.seconds = _start_together(writers, writer, out.errors)
    _check_answers(engine, world, acks, out)
    return out


def _check_answers(engine: sa.Engine, world: World, acks: dict[tuple[str, str], list[_Ack]], out: StressResult) -> None:
    rid = world.round_id
    with engine.connect() as conn:
        rows = {
            (r.point, r.standard): r
            for r in conn.execute(
                sa.select(
                    t.observations.c.id,
                    t.points.c.code.label("point"),
                    t.standards.c.code.label("standard"),
                    t.observations.c.version,
                    t.observations.c.result,
                    t.observations.c.answered_by,
                )
                .join(t.points, t.points.c.id == t.observations.c.point_id)
                .join(t.standards, t.standards.c.id == t.observations.c.standard_id)
                .where(t.observations.c.round_id == rid)
            )
        }
        by_id = {r.id: key for key, r in rows.items()}
        entries = conn.execute(
            sa.select(t.audit_log.c.actor, t.audit_log.c.operation, t.audit_log.c.before, t.audit_log.c.after).where(
                t.audit_log.c.table_name == t.observations.name
            )
        ).all()
    out.rows = len(rows)
    problems = out.problems
    for key in sorted(set(acks) - set(rows)):
        problems.append(f"lost: {key} was acknowledged {len(acks[key])}× but is not stored")
    for key in sorted(set(rows) - set(acks)):
        problems.append(f"unacknowledged row: {key} version {rows[key].version}")
    for key in sorted(set(acks) & set(rows)):
        got, row = acks[key], rows[key]
        versions = sorted(a.version for a in got)
        if versions != list(range(1, row.version + 1)):
            problems.append(f"{key}: stored version {row.version}, acknowledged versions {versions}")
        last = max(got, key=lambda a: a.version)
        if (row.result, row.answered_by) != (last.result, last.actor):
            problems.append(f"{key}: stored {row.result} by {row.answered_by}, last acknowledged {last}")
    # the audit log: one entry per acknowledged save, by whoever was told it was saved, each version once
    logged: Counter = Counter()
    for actor, operation, before, after in entries:
        if after is None or after.get("round_id") != rid:
            continue
        key = by_id.get(after.get("id"))
        logged[(key, after.get("version"), actor)] += 1
        if operation == "update" and (before or {}).get("version") != after.get("version") - 1:
            problems.append(f"audit: {key} updated from version {(before or {}).get('version')} to {after['version']}")
    out.audit_entries = sum(logged.values())
    expected = Counter((key, a.version, a.actor) for key, got in acks.items() for a in got)
    if logged != expected:
        missing, extra = expected - logged, logged - expected
        problems.append(f"audit log differs: missing {sorted(missing)[:10]}, unexpected {sorted(extra)[:10]}")
    if out.acknowledged + out.conflicts + len(out.errors) < out.attempted:
        problems.append(f"{out.attempted} saves attempted, only {out.acknowledged + out.conflicts} answered")


# --- findings ---------------------------------------------------------------------------------------------------


@dataclass
class TransitionResult:
    """What concurrent workers moving findings were told, and what the store holds afterwards."""

    workers: int
    findings: int = 0
    acknowledged: int = 0  # transitions (and reports) that returned: the worker was told it was done
    refused: int = 0  # races lost: refused with FindingError, as expected
    races: int = 0
    events: int = 0
    seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    refusal_messages: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.problems

    @property
    def transitions_per_second(self) -> float:
        return self.acknowledged / self.seconds if self.seconds else 0.0

    def report(self) -> str:
        lines = [
            f"{self.workers} workers: {self.findings} findings, {self.acknowledged} acknowledged, {self.races} races "
            f"({self.refused} refused), {self.events} events, {self.seconds:.2f} s "
            f"({self.transitions_per_second:.0f} transitions/s)"
        ]
        lines += [f"error: {e}" for e in self.errors[:20]]
        lines += [f"problem: {p}" for p in self.problems[:50]]
        return "\n".join(lines)


def jpeg(n: int) -> tuple[bytes, str]:
    """A small JPEG, different for every ``n`` (photos are stored once by content)."""
    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (32 + n % 97, 24 + n // 97 % 89), (n * 37 % 256, n * 11 % 256, 90)).save(buf, "JPEG")
    return buf.getvalue(), f"整改后{n}.jpg"


def run_transitions(
    engine: sa.Engine, workers: int = WRITERS, findings_each: int = FINDINGS_EACH, *, world: World | None = None
) -> TransitionResult:
    """``workers`` threads moving findings at the same time (see the module docstring). Even and odd workers are
    paired for the races, so ``workers`` should be even."""
    world = world or build_world(engine, writers=workers, saves_each=1)
    out = TransitionResult(workers)
    lock = threading.Lock()
    acked: Counter = Counter()  # finding code -> acknowledged transitions (the report itself not counted)
    winners: dict[str, list[str]] = defaultdict(list)  # raced code -> the actions that were acknowledged
    pair_barriers = [threading.Barrier(2) for _ in range(workers // 2)]
    race_codes: list[list[str]] = [[] for _ in range(workers // 2)]
    photo_no = iter(range(10**9))

    def report(w: int, what: str) -> str:
        point = world.own_points[w][0]
        code = findings.create_finding(
            engine,
            world.clerks[w],
            NewFinding(FindingSource.patrol, f"{what}：{point}有杂物", point_code=point, unit=world.unit),
        )
        with lock:
            out.findings += 1
        return code

    def step(code: str, actor: Actor, action: FindingAction, version: int | None, **kw) -> findings.Finding:
        if action is FindingAction.submit:
            with lock:
                n = next(photo_no)
            kw = dict(reason="已清理杂物", photos_data=[jpeg(n)], **kw)
        elif action is FindingAction.fail_reinspection:
            kw = dict(reason="仍有杂物", **kw)
        f = findings.transition(engine, actor, code, action, expected_version=version, **kw)
        with lock:
            out.acknowledged += 1
            acked[code] += 1
        return f

    def race(code: str, actor: Actor, action: FindingAction, version: int | None, barrier: threading.Barrier) -> None:
        barrier.wait(START_TIMEOUT_S)
        try:
            step(code, actor, action, version)
        except FindingError as e:
            with lock:
                out.refused += 1
                out.refusal_messages.append(str(e))
            return
        with lock:
            winners[code].append(action.value)

    def worker(w: int) -> None:
        liaison, inspector = world.liaisons[w], world.inspectors[w]
        pair, first = divmod(w, 2)
        has_pair = pair < len(pair_barriers)
        if has_pair and first == 0:  # the pair's first worker prepares the findings both will race on
            submitted = report(w, "竞争复查")
            f = step(submitted, liaison, FindingAction.start, None)
            f = step(submitted, liaison, FindingAction.submit, f.version)
            race_codes[pair][:] = [submitted, report(w, "竞争开始"), str(f.version)]
        if has_pair:
            pair_barriers[pair].wait(START_TIMEOUT_S)
        for n in range(findings_each):
            code = report(w, "并发整改")
            f = step(code, liaison, FindingAction.start, None)
            f = step(code, liaison, FindingAction.submit, f.version)
            if (w + n) % 2:  # every other one fails re-inspection once
                f = step(code, inspector, FindingAction.fail_reinspection, f.version)
                f = step(code, liaison, FindingAction.submit, f.version)
            step(code, inspector, FindingAction.pass_reinspection, f.version)
        if has_pair:
            submitted, assigned, version = race_codes[pair]
            barrier = pair_barriers[pair]
            # both read the same version of a submitted finding: one passes it, the other fails it
            action = FindingAction.pass_reinspection if first == 0 else FindingAction.fail_reinspection
            race(submitted, inspector, action, int(version), barrier)
            # both start the same assigned finding, without a version: the state machine lets one through
            race(assigned, liaison, FindingAction.start, None, barrier)
            with lock:
                out.races += 1

    out.seconds = _start_together(workers, worker, out.errors)
    out.races //= 2
    for pair in race_codes:
        for code in pair[:2]:
            if len(winners[code]) != 1:
                out.problems.append(f"race on {code}: acknowledged {winners[code]} (exactly one must win)")
    for m in out.refusal_messages:
        if "问题" not in m or not ("不能" in m or "已被" in m):
            out.problems.append(f"unclear refusal: {m}")
    _check_findings(engine, world, acked, out)
    return out


_CHAIN = {  # the status each acknowledged action leads to (None: unchanged)
    a.value: (tr.to_state.value if tr.to_state else None) for a, tr in findings.TRANSITIONS.items()
}


def _check_findings(engine: sa.Engine, world: World, acked: Counter, out: TransitionResult) -> None:
    with engine.connect() as conn:
        unit_id = conn.execute(sa.select(t.units.c.id).where(t.units.c.name == world.unit)).scalar_one()
        rows = {r.id: r for r in conn.execute(sa.select(t.findings).where(t.findings.c.unit_id == unit_id))}
        events: dict[int, list] = defaultdict(list)
        for e in conn.execute(
            sa.select(t.finding_events)
            .where(t.finding_events.c.finding_id.in_(list(rows) or [-1]))
            .order_by(t.finding_events.c.id)
        ):
            events[e.finding_id].append(e)
        logged = sum(
            (after or {}).get("finding_id") in rows
            for (after,) in conn.execute(
                sa.select(t.audit_log.c.after).where(
                    t.audit_log.c.table_name == t.finding_events.name, t.audit_log.c.operation == "insert"
                )
            )
        )
    out.events = sum(len(v) for v in events.values())
    if len(rows) != out.findings:
        out.problems.append(f"{out.findings} findings reported, {len(rows)} stored")
    for fid, f in rows.items():
        chain = events.get(fid, [])
        if not chain or chain[0].action != "create" or chain[0].to_status != FindingStatus.assigned.value:
            out.problems.append(f"{f.code}: history does not start with its creation")
            continue
        status = chain[0].to_status
        for e in chain[1:]:
            if e.from_status != status:
                out.problems.append(f"{f.code}: event {e.action} from {e.from_status}, but it was {status}")
            expected = _CHAIN.get(e.action)
            status = expected or e.from_status
            if e.to_status != status:
                out.problems.append(f"{f.code}: event {e.action} to {e.to_status}, expected {status}")
        if f.status != status:
            out.problems.append(f"{f.code}: status {f.status}, its history ends at {status}")
        if f.version != len(chain):
            out.problems.append(f"{f.code}: version {f.version}, {len(chain)} events")
        if len(chain) - 1 != acked.get(f.code, 0):
            out.problems.append(f"{f.code}: {len(chain) - 1} transitions stored, {acked.get(f.code, 0)} acknowledged")
        if (f.status == FindingStatus.closed.value) != (f.closed_at is not None):
            out.problems.append(f"{f.code}: status {f.status} with closed_at {f.closed_at}")
        reinspected = sum(e.action in ("pass_reinspection", "fail_reinspection") for e in chain)
        if f.reinspections != reinspected:
            out.problems.append(f"{f.code}: {f.reinspections} re-inspections counted, {reinspected} in its history")
    if logged != out.events:
        out.problems.append(f"{out.events} finding events, {logged} in the audit log")


__all__ = [
    "FINDINGS_EACH",
    "SAVES_EACH",
    "SHARED_EVERY",
    "WRITERS",
    "StressResult",
    "TransitionResult",
    "World",
    "build_world",
    "run_transitions",
    "run_writers",
]
