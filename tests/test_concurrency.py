"""Many people writing at once, on SQLite and PostgreSQL: nothing anyone was told was saved is lost or doubled, and
two people changing the same answer or finding never silently overwrite each other (issue 8).

The load itself lives in tests/stress.py (the benchmark runs the same functions at full size); its sizes come from
CIVEVAL_STRESS_WRITERS (default 50), CIVEVAL_STRESS_SAVES and CIVEVAL_STRESS_FINDINGS.
"""

from __future__ import annotations

import datetime as dt
import os
import threading

import pytest
import sqlalchemy as sa

from civeval import findings, rounds
from civeval.findings import FindingAction, FindingError, NewFinding
from civeval.models import Answer, FindingSource, FindingStatus, Result
from civeval.store import schema as t
from tests import stress


def test_fifty_writers_save_answers_at_once_and_every_acknowledged_answer_is_stored_once(engine):
    assert stress.WRITERS >= 50 or "CIVEVAL_STRESS_WRITERS" in os.environ
    result = stress.run_writers(engine)
    print(f"\n[{engine.dialect.name}] {result.report()}")
    assert result.ok, result.report()
    assert result.acknowledged + result.conflicts == result.attempted == stress.WRITERS * stress.SAVES_EACH
    own = result.attempted - stress.WRITERS * (stress.SAVES_EACH // stress.SHARED_EVERY)
    assert result.acknowledged >= own  # every writer's own answers went through; only shared ones may conflict
    assert result.audit_entries == result.acknowledged
    for message in result.conflict_messages:
        assert "已被他人修改" in message and "请刷新" in message, message


def test_findings_move_at_once_races_have_one_winner_and_history_matches(engine):
    result = stress.run_transitions(engine)
    print(f"\n[{engine.dialect.name}] {result.report()}")
    assert result.ok, result.report()
    pairs = stress.WRITERS // 2
    assert result.races == pairs and result.refused == 2 * pairs  # two races per pair, one loser each
    assert result.events == result.findings + result.acknowledged  # a creation event, then one per transition


def _same_moment(n: int, work) -> list:
    """Run ``work(i)`` in n threads released together; what each returned or raised."""
    out: list = [None] * n
    barrier = threading.Barrier(n)

    def body(i: int) -> None:
        barrier.wait(30)
        try:
            out[i] = work(i)
        except Exception as e:
            out[i] = e

    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return out


def test_the_same_new_answer_saved_at_the_same_moment_is_stored_once_and_the_others_are_told(engine):
    world = stress.build_world(engine, writers=12, saves_each=1)
    rid, (point, standard) = world.round_id, world.shared_pairs[0]

    def first_answer(i: int) -> int:  # everyone saw it unanswered (version 0)
        answer = Answer(result=Result.failed if i % 2 else Result.passed, note=f"第{i}人")
        return rounds.save_answer(engine, world.clerks[i], rid, point, standard, answer, expected_version=0)

    got = _same_moment(12, first_answer)
    assert [repr(g) for g in got if not isinstance(g, int | rounds.ConflictError)] == []
    assert sorted(g for g in got if isinstance(g, int)) == [1]
    winner = world.clerks[got.index(1)]
    for refused in (g for g in got if isinstance(g, rounds.ConflictError)):  # each told who answered first
        assert winner.display_name in str(refused) and "第1版" in str(refused) and "请刷新" in str(refused), refused

    # without a version (a save that does not check): each is stored in turn or refused, never lost or doubled
    other = world.own_points[0][0], world.standards[-1]

    def blind(i: int) -> int:
        answer = Answer(result=Result.failed, note=f"第{i}人的说明")
        return rounds.save_answer(engine, world.clerks[i], rid, *other, answer)

    got = _same_moment(12, blind)
    assert [repr(g) for g in got if not isinstance(g, int | rounds.ConflictError)] == []
    versions = sorted(g for g in got if isinstance(g, int))
    assert versions == list(range(1, len(versions) + 1))
    last = got.index(versions[-1])
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(t.observations.c.version, t.observations.c.note, t.observations.c.answered_by)
            .join(t.points, t.points.c.id == t.observations.c.point_id)
            .join(t.standards, t.standards.c.id == t.observations.c.standard_id)
            .where(t.observations.c.round_id == rid, t.points.c.code == other[0], t.standards.c.code == other[1])
        ).one()
    assert tuple(stored) == (versions[-1], f"第{last}人的说明", world.clerks[last].username)
    assert len(_history(engine, rid, *other)) == len(versions)  # every stored change in the log, the earlier ones too


def _history(engine, rid: int, point: str, standard: str) -> list[dict]:
    with engine.connect() as conn:
        oid = conn.execute(
            sa.select(t.observations.c.id)
            .join(t.points, t.points.c.id == t.observations.c.point_id)
            .join(t.standards, t.standards.c.id == t.observations.c.standard_id)
            .where(t.observations.c.round_id == rid, t.points.c.code == point, t.standards.c.code == standard)
        ).scalar_one()
        entries = conn.execute(
            sa.select(t.audit_log.c.actor, t.audit_log.c.operation, t.audit_log.c.before, t.audit_log.c.after)
            .where(t.audit_log.c.table_name == "observations")
            .order_by(t.audit_log.c.id)
        ).all()
    return [dict(e._mapping) for e in entries if (e.after or {}).get("id") == oid]


def test_two_users_change_the_same_answer_the_later_is_refused_and_told_who(engine):
    world = stress.build_world(engine, writers=2, saves_each=1)
    rid = world.round_id
    point, standard = world.own_points[0][0], world.standards[0]
    inspector, clerk = world.inspectors[0], world.clerks[1]  # the inspector at the point, the office at its desk
    v1 = rounds.save_answer(engine, inspector, rid, point, standard, Answer(result=Result.passed))
    assert v1 == 1

    # both have version 1 on screen; the inspector changes it first
    v2 = rounds.save_answer(
        engine, inspector, rid, point, standard, Answer(result=Result.failed, note="地面有积水"), expected_version=v1
    )
    assert v2 == 2
    with pytest.raises(rounds.ConflictError) as refused:
        rounds.save_answer(engine, clerk, rid, point, standard, Answer(result=Result.na), expected_version=v1)
    message = str(refused.value)
    assert "已被他人修改" in message and inspector.display_name in message and "请刷新" in message, message
    assert "不符合" in message and "第2版" in message, message  # what the answer now is

    history = _history(engine, rid, point, standard)
    assert [(h["actor"], h["operation"], h["after"]["result"]) for h in history] == [
        (inspector.username, "insert", "pass"),
        (inspector.username, "update", "fail"),
    ]
    # having seen the inspector's answer, the office may still change it: the later wins, the earlier stays in history
    v3 = rounds.save_answer(engine, clerk, rid, point, standard, Answer(result=Result.na), expected_version=v2)
    assert v3 == 3
    history = _history(engine, rid, point, standard)
    assert [(h["actor"], h["before"] and h["before"]["result"], h["after"]["result"]) for h in history] == [
        (inspector.username, None, "pass"),
        (inspector.username, "pass", "fail"),
        (clerk.username, "fail", "na"),
    ]


def test_two_users_act_on_the_same_finding_the_later_is_refused_and_told_why(engine):
    world = stress.build_world(engine, writers=2, saves_each=1)
    clerk, liaison = world.clerks[0], world.liaisons[0]
    first, second = world.inspectors  # two inspectors re-inspecting the same finding
    code = findings.create_finding(
        engine,
        clerk,
        NewFinding(
            source=FindingSource.patrol, description="路面有杂物", point_code=world.own_points[0][0], unit=world.unit
        ),
    )
    f = findings.transition(engine, liaison, code, FindingAction.start)
    f = findings.transition(
        engine,
        liaison,
        code,
        FindingAction.submit,
        reason="已清理",
        photos_data=[stress.jpeg(1)],
        expected_version=f.version,
    )
    seen = f.version  # both inspectors open the submitted finding
    closed = findings.transition(engine, first, code, FindingAction.pass_reinspection, expected_version=seen)
    assert closed.status is FindingStatus.closed

    with pytest.raises(FindingError) as refused:
        findings.transition(
            engine, second, code, FindingAction.fail_reinspection, reason="仍有杂物", expected_version=seen
        )
    message = str(refused.value)
    assert code in message and "已销号" in message, message  # it is closed now: failing it makes no sense
    with pytest.raises(FindingError) as refused:  # the same action again, by a page that did not send a version
        findings.transition(engine, second, code, FindingAction.pass_reinspection)
    assert "当前为“已销号”" in str(refused.value)

    with engine.connect() as conn:
        events = findings.history(conn, clerk, code)
    assert [(e["action"], e["actor"]) for e in events] == [
        ("create", clerk.username),
        ("start", liaison.username),
        ("submit", liaison.username),
        ("pass_reinspection", first.username),
    ]
    with engine.connect() as conn:
        assert findings.get_finding(conn, clerk, code).version == len(events)


def test_a_stale_version_of_a_finding_is_refused_naming_who_changed_it(engine):
    world = stress.build_world(engine, writers=2, saves_each=1)
    clerk = world.clerks[0]
    liaison = world.liaisons[0]
    code = findings.create_finding(
        engine,
        clerk,
        NewFinding(
            source=FindingSource.patrol, description="路面有杂物", point_code=world.own_points[0][0], unit=world.unit
        ),
    )
    with engine.connect() as conn:
        seen = findings.get_finding(conn, clerk, code).version
    # the unit asks for more time; the office, with the old page, then voids it: the state allows both, the version
    # tells the office someone acted in between
    findings.transition(
        engine, liaison, code, FindingAction.request_extension, reason="需采购设施", deadline=dt.date(2099, 1, 1)
    )
    with pytest.raises(FindingError) as refused:
        findings.transition(engine, clerk, code, FindingAction.void, reason="重复登记", expected_version=seen)
    message = str(refused.value)
    assert "已被他人处理" in message and liaison.display_name in message and "申请延期" in message, message
