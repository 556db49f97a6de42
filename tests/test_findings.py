"""Findings: the state machine (every transition × every role), deadlines, escalation, and the metrics of
DOMAIN.md on a hand-built timeline covering every state, an extension, a reassignment and an overdue finding."""

from __future__ import annotations

import datetime as dt
import io

import pytest
import sqlalchemy as sa
from PIL import Image

from civeval import audit, auth, findings, metrics
from civeval.deadlines import Calendar, DeadlineConfigError, read_holidays
from civeval.findings import Escalation, FindingAction, FindingError, NewFinding
from civeval.models import FindingSource, FindingStatus, Role, Severity
from civeval.permissions import PermissionDenied
from civeval.store import repo
from civeval.store import schema as t
from tests import seed

A = FindingAction
S = FindingStatus
CAL = Calendar()  # calendar days: immediate 0, urgent 2, normal 3, serious 7, complex 15


def jpeg(n: int = 0) -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (n * 20 % 255, 90, 90)).save(buf, "JPEG")
    return buf.getvalue(), f"after{n}.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 9, 0)

    def day(self, d: int, hour: int = 9) -> None:
        self.now = dt.datetime(2026, 11, d, hour, 0)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(audit, "now", lambda: c.now)
    return c


@pytest.fixture
def world(engine):
    seed.seed(engine)
    seed.add_users(engine, {"insp_liai": (Role.inspector, None)})
    with audit.writing(engine, seed.Actor.system("测试")) as conn:
        from civeval.store import schema as t

        uid = conn.execute(t.users.select().where(t.users.c.username == "insp_liai")).first().id
        unit = conn.execute(t.units.select().where(t.units.c.name == "县城市管理局")).first().id
        conn.execute(t.role_grants.insert().values(user_id=uid, role="liaison", scope_unit_id=unit))
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in [*seed.USERS, "insp_liai"]}
    return engine, actors


def new(engine, actor, *, severity=Severity.normal, point="P004", unit="县城市管理局") -> str:
    return findings.create_finding(
        engine,
        actor,
        NewFinding(
            source=FindingSource.patrol, description="人行道乱堆杂物", point_code=point, unit=unit, severity=severity
        ),
        calendar=CAL,
    )


def step(engine, actor, code, action, **kw):
    defaults = {
        A.submit: dict(reason="已清理", photos_data=[jpeg()]),
        A.fail_reinspection: dict(reason="仍有杂物"),
        A.request_extension: dict(reason="需采购设施", deadline=dt.date.today() + dt.timedelta(days=30)),
        A.refuse_extension: dict(reason="理由不足"),
        A.reassign: dict(reason="属教育局管理", unit="县教育局"),
        A.mark_long_term: dict(reason="需列入改造计划"),
        A.void: dict(reason="重复登记"),
    }
    return findings.transition(engine, actor, code, action, **{**defaults.get(action, {}), **kw})


# The state each action starts from, and how to get there as the administrator.
PREPARE = {
    A.start: [],
    A.submit: [A.start],
    A.pass_reinspection: [A.submit],
    A.fail_reinspection: [A.submit],
    A.request_extension: [],
    A.grant_extension: [A.request_extension],
    A.refuse_extension: [A.request_extension],
    A.reassign: [],
    A.mark_long_term: [],
    A.void: [],
}
EXPECTED = """
action              tester  insp  liai  coord  boss
start               yes     no    yes   no     no
submit              yes     no    yes   no     no
pass_reinspection   yes     yes   no    no     no
fail_reinspection   yes     yes   no    no     no
request_extension   yes     no    yes   no     no
grant_extension     yes     no    no    yes    no
refuse_extension    yes     no    no    yes    no
reassign            yes     no    no    yes    no
mark_long_term      yes     no    no    no     no
void                yes     no    no    no     no
"""
USERS = EXPECTED.split()[1:6]
GRID = {
    (line.split()[0], u): f == "yes"
    for line in EXPECTED.strip().splitlines()[1:]
    for u, f in zip(USERS, line.split()[1:], strict=True)
}


def test_the_grid_covers_every_transition():
    assert {a for a, _ in GRID} == {a.value for a in FindingAction}


@pytest.mark.parametrize(("action", "user"), sorted(GRID))
def test_who_may_make_each_transition(world, action, user):
    engine, actors = world
    code = new(engine, actors["tester"])
    for before in PREPARE[A(action)]:
        step(engine, actors["tester"], code, before)
    if GRID[(action, user)]:
        after = step(engine, actors[user], code, A(action))
        assert after.status is (findings.TRANSITIONS[A(action)].to_state or after.status)
    else:
        with pytest.raises(PermissionDenied):
            step(engine, actors[user], code, A(action))


def test_the_unit_that_fixes_never_closes_even_as_an_inspector(world):
    engine, actors = world
    code = new(engine, actors["tester"])
    step(engine, actors["insp_liai"], code, A.submit)  # as the unit's liaison
    with pytest.raises(PermissionDenied, match="不能复查"):
        step(engine, actors["insp_liai"], code, A.pass_reinspection)
    with engine.connect() as conn:
        assert all(
            code not in [f.code for f in fs] for fs in findings.reinspection_queue(conn, actors["insp_liai"]).values()
        )
        assert code in [f.code for fs in findings.reinspection_queue(conn, actors["insp"]).values() for f in fs]


def test_refused_transitions_say_why(world):
    engine, actors = world
    code = new(engine, actors["tester"])
    with pytest.raises(FindingError, match="当前为“已交办”，不能“复查通过"):
        step(engine, actors["tester"], code, A.pass_reinspection)
    with pytest.raises(FindingError, match="须填写原因"):
        step(engine, actors["tester"], code, A.void, reason="")
    with pytest.raises(FindingError, match="整改后的照片"):
        step(engine, actors["liai"], code, A.submit, photos_data=[])
    with pytest.raises(FindingError, match="没有待审批的延期申请"):
        step(engine, actors["tester"], code, A.grant_extension)


def test_every_transition_is_recorded_and_findings_are_never_deleted(world):
    engine, actors = world
    code = new(engine, actors["tester"])
    step(engine, actors["liai"], code, A.submit)
    step(engine, actors["insp"], code, A.fail_reinspection)
    step(engine, actors["tester"], code, A.void)
    with engine.connect() as conn:
        events = findings.history(conn, actors["tester"], code)
        f = findings.get_finding(conn, actors["tester"], code)
    assert [(e["action"], e["actor"], e["to_status"]) for e in events] == [
        ("create", "tester", "assigned"),
        ("submit", "liai", "submitted"),
        ("fail_reinspection", "insp", "in_progress"),
        ("void", "tester", "voided"),
    ]
    assert events[2]["reason"] == "仍有杂物" and f.status is S.voided and len(f.after_photos) == 1


def test_a_liaison_sees_only_its_units_findings(world):
    engine, actors = world
    mine = new(engine, actors["tester"])
    other = new(engine, actors["tester"], point="P005", unit="县教育局")
    with engine.connect() as conn:
        seen = {f.code for f in findings.list_findings(conn, actors["liai"])}
        assert mine in seen and other not in seen
        with pytest.raises(PermissionDenied):
            findings.get_finding(conn, actors["liai"], other)


def test_deadlines_calendar_and_working_days(tmp_path):
    holidays = tmp_path / "holidays.txt"
    holidays.write_text("# 国庆\n2026-10-01\n2026-10-02\n+2026-10-10  # 调休上班\n", encoding="utf-8")
    hol, makeup = read_holidays(holidays)
    work = Calendar(working_days=True, holidays=hol, makeup_days=makeup)
    assert work.add_days(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 6)  # skips 1-2 Oct and the weekend
    assert work.add_days(dt.date(2026, 10, 9), 1) == dt.date(2026, 10, 10)  # a make-up Saturday counts
    assert CAL.add_days(dt.date(2026, 9, 30), 2) == dt.date(2026, 10, 2)
    assert CAL.add_days(dt.date(2026, 9, 30), 0) == dt.date(2026, 9, 30)  # 立行立改
    holidays.write_text("2026-13-01\n", encoding="utf-8")
    with pytest.raises(DeadlineConfigError, match=r"holidays\.txt:R1"):
        read_holidays(holidays)


def test_escalation_levels():
    d = dt.date
    assert findings.escalation(S.assigned, d(2026, 11, 2), d(2026, 11, 5), d(2026, 11, 3)) is Escalation.none
    assert findings.escalation(S.assigned, d(2026, 11, 2), d(2026, 11, 5), d(2026, 11, 4)) is Escalation.due_soon
    assert findings.escalation(S.in_progress, d(2026, 11, 2), d(2026, 11, 5), d(2026, 11, 6)) is Escalation.overdue
    assert findings.escalation(S.assigned, d(2026, 11, 2), d(2026, 11, 5), d(2026, 11, 9)) is Escalation.escalated
    assert findings.escalation(S.closed, d(2026, 11, 2), d(2026, 11, 5), d(2026, 11, 9)) is Escalation.none


def hand_built_timeline(engine, actors, clock) -> None:
    """Seven findings from 2 to 9 Nov, one of each fate (see test_metrics_on_a_hand_built_timeline)."""
    admin, liai, insp, coord = actors["tester"], actors["liai"], actors["insp"], actors["coord"]
    clock.day(2)
    f1 = new(engine, admin)  # normal: deadline 5 Nov
    f2 = new(engine, admin, severity=Severity.urgent)  # 4 Nov
    new(engine, admin, severity=Severity.immediate)  # f3, 2 Nov: never touched, overdue
    f4 = new(engine, admin, severity=Severity.serious)  # 9 Nov, extended to 20 Nov
    f5 = new(engine, admin)  # 5 Nov, reassigned, stays open: overdue
    f6 = new(engine, admin, severity=Severity.complex)  # long-term
    f7 = new(engine, admin)  # voided
    step(engine, liai, f1, A.start)
    clock.day(3)
    step(engine, liai, f1, A.submit)
    step(engine, liai, f2, A.submit)
    step(engine, liai, f4, A.request_extension, deadline=dt.date(2026, 11, 20))
    step(engine, coord, f4, A.grant_extension)
    step(engine, coord, f5, A.reassign)
    step(engine, admin, f7, A.void)
    clock.day(4)
    step(engine, insp, f1, A.pass_reinspection)  # closed on time, at the first re-inspection
    step(engine, insp, f2, A.fail_reinspection)
    step(engine, admin, f6, A.mark_long_term)
    clock.day(5)
    step(engine, liai, f2, A.submit)
    clock.day(6)
    step(engine, insp, f2, A.pass_reinspection)  # closed late (deadline 4 Nov), second re-inspection
    clock.day(8)
    step(engine, liai, f4, A.submit)
    clock.day(9)
    step(engine, insp, f4, A.pass_reinspection)  # closed before its extended deadline


def test_metrics_on_a_hand_built_timeline(world, clock):
    engine, actors = world
    admin = actors["tester"]
    hand_built_timeline(engine, actors, clock)

    def m(day: int) -> metrics.RectificationMetrics:
        with engine.connect() as conn:
            return metrics.rectification(
                metrics.finding_facts(conn, admin, dt.date(2026, 11, day)), dt.date(2026, 11, day)
            )

    late = m(10)
    assert (late.created, late.due, late.closed_due, late.closed_on_time) == (6, 5, 3, 2)
    assert late.rectification_rate == pytest.approx(3 / 5) and late.on_time_rate == pytest.approx(2 / 5)
    assert late.overdue == 2 and late.long_term == 1 and late.open == 2  # f3 and f5
    assert late.closure_rate == pytest.approx(3 / 6) and late.first_pass_rate == pytest.approx(2 / 3)
    assert late.mean_days_to_fix == pytest.approx((2 + 4 + 7) / 3)
    early = m(4)  # as it stood at the end of 4 Nov: f1 closed; f2 due, failed; f4 extended; f6 long-term
    assert (early.created, early.due, early.closed_due, early.overdue) == (6, 3, 1, 1)
    assert early.rectification_rate == pytest.approx(1 / 3)
    with engine.connect() as conn:
        facts = metrics.finding_facts(conn, admin, dt.date(2026, 11, 10))
    by_unit = metrics.by_group(facts, dt.date(2026, 11, 10), "unit")
    assert by_unit["县教育局"].overdue == 1 and by_unit["县城市管理局"].closed == 3
    assert set(metrics.by_group(facts, dt.date(2026, 11, 10), "source")) == {"日常督查"}


def test_facts_from_current_columns_agree_with_replaying_every_event(world, clock):
    """A finding unchanged since a date is read from its columns, the others replayed; with changed_at cleared every
    finding is replayed. Both, and the counts made in the database, give the same facts and metrics on every day."""
    engine, actors = world
    hand_built_timeline(engine, actors, clock)
    days = [dt.date(2026, 11, d) for d in range(1, 12)]
    who = [actors["tester"], actors["liai"], actors["coord"]]
    with engine.connect() as conn:
        mixed = {a.username: metrics.finding_facts_series(conn, a, days) for a in who}
        counted = {a.username: metrics.rectification_totals(conn, a, days) for a in who}
    assert sum(len(v) for v in mixed["tester"].values()) > 30
    with engine.begin() as conn:
        conn.execute(sa.update(t.findings).values(changed_at=None).execution_options(audit_exempt=True))
    with engine.connect() as conn:
        for a in who:
            replayed = metrics.finding_facts_series(conn, a, days)
            assert replayed == mixed[a.username], a.username
            for d in days:
                expected = metrics.rectification(replayed[d], d).as_dict()
                assert counted[a.username][d].as_dict() == pytest.approx(expected), (a.username, d)
                assert metrics.rectification_totals(conn, a, [d])[d] == counted[a.username][d]


def test_metrics_definitions_are_stated():
    for name in ("整改率", "按期整改率", "逾期", "销号率", "一次复查通过率", "平均整改时长", "反弹率"):
        assert metrics.DEFINITIONS[name]


def test_grant_extension_as_a_plain_coordinator_outside_its_street_is_refused(world):
    engine, actors = world
    code = new(engine, actors["tester"], point="P005", unit="县教育局")  # 东城街道
    step(engine, actors["tester"], code, A.request_extension)
    with pytest.raises(PermissionDenied):
        step(engine, actors["coord"], code, A.grant_extension)


def test_dates_are_the_offices_local_dates_not_utc(world, clock):
    engine, actors = world
    clock.now = dt.datetime(2026, 11, 2, 23, 30)  # 07:30 on 3 Nov in Beijing
    assert audit.today() == dt.date(2026, 11, 3)
    code = new(engine, actors["tester"], severity=Severity.immediate)  # 立行立改: due the same (local) day
    with engine.connect() as conn:
        assert findings.get_finding(conn, actors["tester"], code).deadline == dt.date(2026, 11, 3)
        facts = metrics.finding_facts(conn, actors["tester"], dt.date(2026, 11, 2))
    assert facts == []  # created on 3 Nov local time: not yet there at the end of 2 Nov


def test_lists_and_facts_read_their_keys_a_slice_at_a_time(world, clock, monkeypatch):
    """PostgreSQL takes at most 65,535 parameters a statement: the findings list and the facts look up photos,
    recurrences and events in slices (repo.IN_CHUNK); with slices of two the results are the same."""
    engine, actors = world
    hand_built_timeline(engine, actors, clock)
    admin = actors["tester"]
    days = [dt.date(2026, 11, d) for d in (3, 6, 10)]
    with engine.connect() as conn:
        listed = findings.list_findings(conn, admin)
        facts = metrics.finding_facts_series(conn, admin, days)
        counted = metrics.rectification_totals(conn, admin, days)
    monkeypatch.setattr(repo, "IN_CHUNK", 2)
    with engine.connect() as conn:
        assert findings.list_findings(conn, admin) == listed and len(listed) == 7
        assert metrics.finding_facts_series(conn, admin, days) == facts
        assert metrics.rectification_totals(conn, admin, days) == counted
    assert [list(c) for c in repo.chunked([1, 2, 3, 4, 5])] == [[1, 2], [3, 4], [5]]
