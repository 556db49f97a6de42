"""Rounds end to end through civeval.rounds, on SQLite and PostgreSQL: draw, assign, score, submit, scores.

The scores are checked against a hand-computed example (see test_scores_by_every_group).
"""

from __future__ import annotations

import datetime as dt
import io
import threading

import pytest
from PIL import Image

from civeval import audit, auth, rounds
from civeval.metrics import finding_facts
from civeval.models import Actor, Answer, Grant, Quota, Result, Role, RoundKind, RoundStatus, SamplePlan
from civeval.permissions import PermissionDenied
from tests import seed
from tests.conftest import ADMIN

PLAN = SamplePlan(
    seed=7,
    quotas=[
        Quota(point_type="农贸市场", count=2),
        Quota(point_type="背街小巷", count=1),
        Quota(point_type="主次干道", count=1),
        Quota(point_type="学校周边", count=1),
        Quota(point_type="医院", count=1),
    ],
)
START = dt.date(2026, 11, 2)


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
def world(engine):
    seed.seed(engine)
    seed.add_users(engine, {"insp2": (Role.inspector, None)})
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in ("tester", "insp", "insp2", "coord")}
    index_id = seed.index_id(engine)
    rid = rounds.create_round(
        engine,
        actors["tester"],
        name="十一月模拟测评",
        kind=RoundKind.mock,
        index_id=index_id,
        start=START,
        end=START + dt.timedelta(days=4),
    )
    return engine, actors, rid


def draw_and_assign(engine, actors, rid) -> dict[str, list[str]]:
    rounds.confirm_draw(engine, actors["tester"], rid, PLAN)
    plan = rounds.assign(engine, actors["tester"], rid, ["insp", "insp2"])
    rounds.set_status(engine, actors["tester"], rid, RoundStatus.in_progress)
    return plan


def owner(plan: dict[str, list[str]], code: str) -> str:
    return next(u for u, codes in plan.items() if code in codes)


def test_the_same_plan_and_seed_draw_the_same_points_and_the_draw_is_stored(world):
    engine, actors, rid = world
    admin = actors["tester"]
    with engine.connect() as conn:
        preview = rounds.preview_draw(conn, admin, rid, PLAN)
    confirmed = rounds.confirm_draw(engine, admin, rid, PLAN)
    assert [p.code for p in preview.points] == [p.code for p in confirmed.points]
    assert sorted(p.code for p in confirmed.points) == ["P001", "P002", "P003", "P004", "P005", "P007"]
    with engine.connect() as conn:
        info = rounds.get_round(conn, admin, rid)
    assert info.sample_plan["seed"] == 7 and info.drawn_by == "tester" and info.n_points == 6


def test_assignment_splits_the_points_and_each_inspector_sees_only_theirs(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    assert sorted(c for codes in plan.values() for c in codes) == ["P001", "P002", "P003", "P004", "P005", "P007"]
    with engine.connect() as conn:
        for user in ("insp", "insp2"):
            mine = rounds.tasks(conn, actors[user], today=START)
            assert sorted(t.point.point.code for t in mine) == sorted(plan[user])
            assert all(t.point.answered == 0 and t.point.applicable > 0 for t in mine)


def test_answers_are_saved_at_once_and_only_by_the_assigned_inspector(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    me, other = (
        actors[owner(plan, "P001")],
        actors[
            owner(plan, "P004")
            if owner(plan, "P004") != owner(plan, "P001")
            else ({"insp", "insp2"} - {owner(plan, "P001")}).pop()
        ],
    )
    v = rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.passed))
    assert v == 1
    assert rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.passed)) == 1  # same again
    assert rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.failed, note="破损")) == 2
    with engine.connect() as conn:
        sheet = rounds.point_sheet(conn, me, rid, "P001")
    got = {a.standard.code: a.answer.result for a in sheet.answers if a.answer}
    assert got == {"III-1-2": Result.failed}
    if other.username != me.username:
        with pytest.raises(PermissionDenied, match="未分配给您"):
            rounds.save_answer(engine, other, rid, "P001", "III-1-2", Answer(result=Result.passed))
    with pytest.raises(rounds.RoundError, match="不适用"):
        rounds.save_answer(engine, me, rid, "P001", "III-2-1", Answer(result=Result.A))
    with pytest.raises(Exception, match="III-1-2"):  # a grade on a pass/fail standard
        rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.B))
    with pytest.raises(rounds.ConflictError):
        rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.passed), expected_version=1)


def test_submission_needs_every_answer_and_photo_and_note_for_failures(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    me = actors[owner(plan, "P001")]
    rounds.save_answer(engine, me, rid, "P001", "III-1-1", Answer(result=Result.failed, instances=3))
    with pytest.raises(rounds.RoundError) as err:
        rounds.submit_point(engine, me, rid, "P001")
    assert "III-1-2 未作答" in str(err.value) and "III-1-1 不符合，须上传照片" in str(err.value)
    assert "III-1-1 不符合，须填写说明" in str(err.value)
    rounds.save_answer(engine, me, rid, "P001", "III-1-1", Answer(result=Result.failed, instances=3, note="3处积水"))
    photo = rounds.add_photo(engine, me, rid, "P001", "III-1-1", jpeg(), "IMG_0001.jpg")
    rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.passed))
    rounds.submit_point(engine, me, rid, "P001")
    with engine.connect() as conn:
        sheet = rounds.point_sheet(conn, me, rid, "P001")
    assert sheet.point.submitted_at is not None and sheet.answers[0].photo_ids == [photo]
    # After submission a change needs a reason, which the audit log keeps with the before/after values.
    with pytest.raises(rounds.RoundError, match="须填写原因"):
        rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.failed, note="补看"))
    rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.failed, note="补看"), reason="复核发现")
    with engine.connect() as conn:
        [entry] = audit.read_log(conn, ADMIN, search="复核发现", table="observations")
    assert entry["before"]["result"] == "pass" and entry["after"]["result"] == "fail"


def test_a_closed_round_is_read_only(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    rounds.set_status(engine, actors["tester"], rid, RoundStatus.closed)
    with pytest.raises(rounds.RoundError, match="已结束"):
        rounds.save_answer(engine, actors[owner(plan, "P004")], rid, "P004", "III-1-2", Answer(result=Result.passed))


def test_unannounced_points_show_only_on_their_day(world):
    engine, actors, _ = world
    admin = actors["tester"]
    rid = rounds.create_round(
        engine,
        admin,
        name="暗访",
        kind=RoundKind.unannounced,
        index_id=seed.index_id(engine),
        start=START,
        end=START + dt.timedelta(days=2),
    )
    rounds.confirm_draw(engine, admin, rid, PLAN)
    rounds.assign(engine, admin, rid, ["insp"])
    rounds.set_status(engine, admin, rid, RoundStatus.in_progress)
    with engine.connect() as conn:
        points = rounds.round_points(conn, admin, rid)
        days = {p.point.code: p.visit_date for p in points}
        assert set(days.values()) <= {START + dt.timedelta(days=i) for i in range(3)}
        for i in range(3):
            day = START + dt.timedelta(days=i)
            shown = {t.point.point.code for t in rounds.tasks(conn, actors["insp"], today=day)}
            assert shown == {c for c, d in days.items() if d == day}


def answer_everything(engine, actors, rid, plan):
    """The hand-computed example's answers."""
    answers = [
        ("P001", "III-1-1", Answer(result=Result.failed, instances=3, note="积水")),  # 2 - 1.5 = 0.5
        ("P001", "III-1-2", Answer(result=Result.passed)),  # 1
        ("P002", "III-1-1", Answer(result=Result.passed, instances=0)),  # 2
        ("P002", "III-1-2", Answer(result=Result.failed, note="遮挡")),  # 0 of 1
        ("P003", "III-1-2", Answer(result=Result.na)),  # left out
        ("P003", "III-2-1", Answer(result=Result.B, note="杂物")),  # 0.66 × 3 = 1.98
        ("P004", "III-1-2", Answer(result=Result.passed)),  # 1
        ("P005", "III-3-1", Answer(result=Result.failed, note="流动摊贩")),  # 0 of 2, an alert
        ("P007", "III-5-1", Answer(result=Result.passed)),  # 1
    ]
    for point, std, ans in answers:
        rounds.save_answer(engine, actors[owner(plan, point)], rid, point, std, ans)


def test_scores_by_every_group(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    answer_everything(engine, actors, rid, plan)
    with engine.connect() as conn:
        s = rounds.round_scores(conn, actors["tester"], rid)
    by = lambda groups: {g.key: (round(g.group.score, 4), g.group.full) for g in groups}
    # 城关: P001 0.5+1, P003 1.98 (of 3), P004 1 → 4.48 / 7;  东城: P002 2+0, P005 0, P007 1 → 3 / 6
    assert by(s.by_street) == {"城关街道": (4.48, 7), "东城街道": (3.0, 6)}
    assert [g.key for g in s.by_street] == ["城关街道", "东城街道"]  # 0.64 before 0.5
    assert by(s.by_unit) == {
        "县市场监督管理局": (3.5, 6),
        "县城市管理局": (1.0, 1),
        "和平社区": (1.98, 3),
        "县教育局": (0.0, 2),
        "县卫生健康委员会": (1.0, 1),
    }
    assert by(s.by_point_type)["农贸市场"] == (3.5, 6)
    assert by(s.by_category) == {"公共环境": (6.48, 10), "公共秩序": (1.0, 3)}
    assert (round(s.overall.score, 4), s.overall.full) == (7.48, 13)
    # Field score, each standard once: III-1-1 2×2.5/4=1.25, III-1-2 1×2/3, III-2-1 1.98, III-3-1 0, III-5-1 1
    assert s.field.score == pytest.approx(1.25 + 2 / 3 + 1.98 + 0 + 1)
    assert s.field.full == 9
    assert [a.standard_code for a in s.field.alerts] == ["III-3-1"]


def test_materials_are_scored_per_unit(world):
    engine, actors, rid = world
    admin = actors["tester"]
    draw_and_assign(engine, actors, rid)
    with engine.connect() as conn:
        sheets = rounds.materials_sheets(conn, admin, rid)
    assert [(sh.unit, [a.standard.code for a in sh.answers]) for sh in sheets] == [("县文明办", ["III-4-1"])]
    rounds.save_unit_answer(engine, admin, rid, "县文明办", "III-4-1", Answer(result=Result.passed))
    with engine.connect() as conn:
        assert rounds.materials_sheets(conn, admin, rid)[0].answers[0].score == 1.5
        s = rounds.round_scores(conn, admin, rid)
    assert {g.key: g.group.full for g in s.by_unit} == {"县文明办": 1.5}
    assert s.field.full == 0  # materials are not field scores
    with pytest.raises(PermissionDenied):
        rounds.save_unit_answer(engine, actors["insp"], rid, "县文明办", "III-4-1", Answer(result=Result.failed))


def test_scopes_limit_what_a_coordinator_sees(world):
    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    answer_everything(engine, actors, rid, plan)
    with engine.connect() as conn:
        s = rounds.round_scores(conn, actors["coord"], rid)
        seen = {p.point.code for p in rounds.round_points(conn, actors["coord"], rid)}
    assert {g.key for g in s.by_street} == {"城关街道"}
    assert seen == {"P001", "P003", "P004"}
    leader = Actor(user_id=None, username="x", grants=(Grant(role=Role.liaison, scope="县教育局"),))
    with engine.connect() as conn, pytest.raises(PermissionDenied):
        rounds.round_scores(conn, leader, rid)


def test_submitted_failures_reach_the_right_units_gap_list(world):
    from civeval import findings
    from civeval.findings import FindingAction
    from civeval.models import FindingStatus

    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    me = actors[owner(plan, "P001")]
    rounds.save_answer(engine, me, rid, "P001", "III-1-1", Answer(result=Result.failed, instances=2, note="积水两处"))
    rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.failed, note="广告破损"))
    for std in ("III-1-1", "III-1-2"):
        rounds.add_photo(engine, me, rid, "P001", std, jpeg(), "a.jpg")
    with engine.connect() as conn:
        assert findings.list_findings(conn, actors["tester"]) == []  # nothing before submission
    rounds.submit_point(engine, me, rid, "P001")
    with engine.connect() as conn:
        found = {f.standard_code: f for f in findings.list_findings(conn, actors["tester"])}
    # P001's custodian unit answers for both (custodian rule); instances and the before-photo come along
    assert {c: (f.unit, f.status) for c, f in found.items()} == {
        "III-1-1": ("县市场监督管理局", FindingStatus.assigned),
        "III-1-2": ("县市场监督管理局", FindingStatus.assigned),
    }
    assert found["III-1-1"].instances == 2 and len(found["III-1-1"].before_photos) == 1
    assert "积水两处" in found["III-1-1"].description
    # corrected after submission: the finding is voided, not deleted
    rounds.save_answer(engine, me, rid, "P001", "III-1-2", Answer(result=Result.passed), reason="看错了")
    with engine.connect() as conn:
        assert findings.get_finding(conn, actors["tester"], found["III-1-2"].code).status is FindingStatus.voided
    # fixed and closed; the same point and standard failing in a later round is a recurrence
    code = found["III-1-1"].code
    findings.transition(
        engine, actors["tester"], code, FindingAction.submit, reason="已清理", photos_data=[(jpeg(), "after.jpg")]
    )
    findings.transition(engine, actors["insp"], code, FindingAction.pass_reinspection)
    rid2 = rounds.create_round(
        engine,
        actors["tester"],
        name="十二月督查",
        kind=RoundKind.patrol,
        index_id=seed.index_id(engine),
        start=START,
        end=START,
    )
    rounds.confirm_draw(
        engine,
        actors["tester"],
        rid2,
        SamplePlan(seed=1, quotas=[Quota(point_type="农贸市场", count=1)], fixed_points=["P001"]),
    )
    rounds.assign(engine, actors["tester"], rid2, ["insp"])
    rounds.set_status(engine, actors["tester"], rid2, RoundStatus.in_progress)
    rounds.save_answer(engine, actors["insp"], rid2, "P001", "III-1-1", Answer(result=Result.failed, instances=1))
    rounds.set_status(engine, actors["tester"], rid2, RoundStatus.closed)  # closing puts it on the list too
    with engine.connect() as conn:
        [again] = findings.list_findings(conn, actors["tester"], round_id=rid2)
    assert again.recurrence_of == code and again.source.value == "patrol"


def test_closing_a_round_waits_for_the_answers_being_saved(world, monkeypatch):
    """An answer whose save passed the round's status check before the round was closed commits before the close
    goes on, so that it counts in the figures recorded at the close and reaches the gap list; an answer after the
    close is refused. (On PostgreSQL the round's row is held by the save, FOR KEY SHARE, and taken FOR UPDATE by
    the close; on SQLite writes queue one at a time.)"""
    from civeval import archive

    engine, actors, rid = world
    plan = draw_and_assign(engine, actors, rid)
    answer_everything(engine, actors, rid, plan)
    checked, release = threading.Event(), threading.Event()
    upsert = rounds._upsert

    def paused(*args, **kwargs):  # the save has read and checked the round: it waits here, inside its transaction
        checked.set()
        assert release.wait(20)
        return upsert(*args, **kwargs)

    monkeypatch.setattr(rounds, "_upsert", paused)
    p004 = actors[owner(plan, "P004")]
    saving = threading.Thread(
        target=rounds.save_answer,
        args=(engine, p004, rid, "P004", "III-1-2", Answer(result=Result.failed, note="井盖缺失")),
    )
    saving.start()
    assert checked.wait(20)
    monkeypatch.setattr(rounds, "_upsert", upsert)
    closing = threading.Thread(target=rounds.set_status, args=(engine, actors["tester"], rid, RoundStatus.closed))
    closing.start()
    closing.join(0.5)
    assert closing.is_alive()  # the close waits for the save under way
    release.set()
    saving.join(20)
    closing.join(20)
    assert not saving.is_alive() and not closing.is_alive()
    with engine.connect() as conn:
        recorded = archive.load(conn, [rid])[rid]
        live = rounds.round_scores(conn, actors["tester"], rid)
        gaps = {(f.point_code, f.standard) for f in finding_facts(conn, actors["tester"], dt.date(2026, 12, 1))}
    (changed,) = [r for r in live.records if (r.point_code, r.standard.code) == ("P004", "III-1-2")]
    assert changed.failed  # the answer changed while closing (it had passed) is in the round's scores …
    assert recorded.observations == len(live.records) == 9
    assert recorded.field_rate == live.field.rate  # … and in the figures recorded at the close
    assert ("P004", "III-1-2") in gaps  # its failure reached the gap list at the close
    with pytest.raises(rounds.RoundError, match="已结束"):
        rounds.save_answer(engine, p004, rid, "P004", "III-1-2", Answer(result=Result.passed))
