"""Every role × every action, allowed and refused, through the functions the app and CLI call.

The expected grid is written out here on its own (not read from civeval.permissions.RULES), and each cell
is checked by calling the real function as a user holding that role.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from civeval import audit, auth, criteria, findings, registers, rounds, suggestions, survey
from civeval.findings import FindingAction
from civeval.models import (
    Actor,
    Answer,
    FindingSource,
    Grant,
    Point,
    PointType,
    Quota,
    Result,
    Role,
    RoundKind,
    RoundStatus,
    SamplePlan,
    Unit,
    UnitKind,
)
from civeval.permissions import Action, PermissionDenied
from civeval.store import open_engine, repo
from tests.conftest import ADMIN
from tests.test_store import small_index

ROLES = ["admin", "inspector", "liaison", "coordinator", "leader"]
EXPECTED = """
action               admin  inspector  liaison  coordinator  leader
view_index           yes    yes        yes      yes          yes
manage_index         yes    no         no       no           no
view_units           yes    yes        yes      yes          yes
manage_units         yes    no         no       no           no
view_points          yes    no         yes      yes          yes
manage_points        yes    no         no       no           no
manage_users         yes    no         no       no           no
view_audit           yes    no         no       no           no
change_own_password  yes    yes        yes      yes          yes
manage_rounds        yes    no         no       no           no
view_rounds          yes    yes        no       yes          yes
score_points         yes    yes        no       no           no
review_materials     yes    no         no       no           no
submit_materials     yes    no         yes      no           no
view_scores          yes    no         no       yes          yes
view_findings        yes    yes        yes      yes          yes
report_findings      yes    yes        no       yes          no
rectify              yes    no         yes      no           no
reinspect            yes    yes        no       no           no
assign_findings      yes    no         no       yes          no
manage_findings      yes    no         no       no           no
manage_surveys       yes    no         no       no           no
enter_surveys        yes    yes        no       yes          no
record_suggestions   yes    yes        no       yes          no
"""
GRID = {
    (line.split()[0], role): flag == "yes"
    for line in EXPECTED.strip().splitlines()[1:]
    for role, flag in zip(ROLES, line.split()[1:], strict=True)
}
SCOPES = {"liaison": "城管局", "coordinator": "城关街道"}
PASSWORD = "Matrix-pass-1"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("perm")
    engine = open_engine(f"sqlite:///{tmp / 'p.db'}")
    with audit.writing(engine, ADMIN) as conn:
        repo.save_units(
            conn,
            [
                Unit(code="D01", name="市场监管局"),
                Unit(code="D02", name="城管局"),
                Unit(code="S01", name="城关街道", kind=UnitKind.street),
                Unit(code="S02", name="东城街道", kind=UnitKind.street),
                Unit(code="C01", name="东关社区", kind=UnitKind.community, parent="城关街道"),
            ],
        )
        repo.save_point_types(conn, [PointType(code="PT01", name="农贸市场"), PointType(code="PT02", name="背街小巷")])
        repo.save_points(
            conn,
            [
                Point(code="P1", name="城关市场", point_type="农贸市场", street="城关街道", custodian_unit="东关社区"),
                Point(code="P2", name="东城小巷", point_type="背街小巷", street="东城街道", custodian_unit="城管局"),
                Point(
                    code="P3", name="东城市场", point_type="农贸市场", street="东城街道", custodian_unit="市场监管局"
                ),
            ],
        )
        repo.save_index(conn, small_index())
    index_file = tmp / "index.yaml"
    criteria.write_text(small_index("2099"), index_file)
    actors = {}
    for role in ROLES:
        grant = Grant(role=Role(role), scope=SCOPES.get(role))
        auth.create_user(engine, ADMIN, auth.NewUser(f"u_{role}", role, (grant,), PASSWORD))
        actors[role] = auth.authenticate(engine, f"u_{role}", PASSWORD)
    # A round with both field points assigned to the inspector.
    with engine.connect() as conn:
        index_id = repo.list_indexes(conn)[0].id
    rid = rounds.create_round(
        engine,
        ADMIN,
        name="权限测试",
        kind=RoundKind.mock,
        index_id=index_id,
        start=dt.date.today(),
        end=dt.date.today(),
    )
    plan = SamplePlan(seed=1, quotas=[Quota(point_type="农贸市场", count=1)], fixed_points=["P1"])
    rounds.confirm_draw(engine, ADMIN, rid, plan)
    rounds.assign(engine, ADMIN, rid, ["u_inspector"])
    rounds.set_status(engine, ADMIN, rid, RoundStatus.in_progress)
    return engine, actors, index_file, tmp, rid


def exercise(action: str, engine, actor: Actor, index_file, tmp, rid: int) -> None:
    """Do the action as ``actor`` through the real function."""
    match action:
        case "view_index":
            with engine.connect() as conn:
                criteria.stored_index(conn, actor, criteria.stored_indexes(conn, actor)[0].id)
        case "manage_index":
            criteria.import_index(engine, actor, index_file, replace=True)
        case "view_units":
            with engine.connect() as conn:
                registers.visible_units(conn, actor)
        case "manage_units":
            registers.save_unit(engine, actor, Unit(code="D09", name="新单位"))
        case "view_points":
            with engine.connect() as conn:
                registers.visible_points(conn, actor)
        case "manage_points":
            registers.save_point(engine, actor, Point(code="P9", name="新点位", point_type="农贸市场"))
        case "manage_users":
            with engine.connect() as conn:
                auth.list_users(conn, actor)
        case "view_audit":
            with engine.connect() as conn:
                audit.read_log(conn, actor)
        case "change_own_password":
            auth.change_own_password(engine, actor, PASSWORD, PASSWORD + "x")
            auth.change_own_password(engine, actor, PASSWORD + "x", PASSWORD)
        case "manage_rounds":
            rounds.create_round(
                engine,
                actor,
                name="新轮次",
                kind=RoundKind.patrol,
                index_id=rounds_index(engine),
                start=dt.date.today(),
                end=dt.date.today(),
            )
        case "view_rounds":
            with engine.connect() as conn:
                rounds.list_rounds(conn, actor)
        case "score_points":
            # P1 is drawn (fixed) and assigned to the inspector
            rounds.save_answer(engine, actor, rid, "P1", "III-1-1", Answer(result=Result.passed, instances=0))
        case "review_materials":
            rounds.save_unit_answer(engine, actor, rid, "城管局", "III-1-2", Answer(result=Result.A))
        case "submit_materials":
            submit_a_document(engine, actor)
        case "view_scores":
            with engine.connect() as conn:
                rounds.round_scores(conn, actor, rid)
        case "view_findings":
            with engine.connect() as conn:
                findings.list_findings(conn, actor)
        case "report_findings":
            a_finding(engine, actor)
        case "rectify":
            findings.transition(engine, actor, a_finding(engine), FindingAction.start)
        case "reinspect":
            code = a_finding(engine)
            findings.transition(engine, ADMIN, code, FindingAction.submit, reason="已整改", photos_data=[jpeg()])
            findings.transition(engine, actor, code, FindingAction.pass_reinspection)
        case "assign_findings":
            code = a_finding(engine)
            findings.transition(
                engine,
                ADMIN,
                code,
                FindingAction.request_extension,
                reason="材料未到",
                deadline=dt.date.today() + dt.timedelta(days=30),
            )
            findings.transition(engine, actor, code, FindingAction.grant_extension)
        case "manage_findings":
            findings.transition(engine, actor, a_finding(engine), FindingAction.void, reason="重复")
        case "manage_surveys":
            survey.save_questionnaire(engine, actor, a_questionnaire())
        case "enter_surveys":
            qid = survey.save_questionnaire(engine, ADMIN, a_questionnaire())
            survey.save_paper_response(engine, actor, qid, survey.PaperResponse(street="城关街道"))
        case "record_suggestions":
            new = suggestions.NewSuggestion(
                channel=suggestions.Channel.hotline, content="路灯不亮", category="公共设施", street="城关街道"
            )
            suggestions.record(engine, actor, new)
        case _:
            raise AssertionError(f"no exercise for {action}")


def a_questionnaire() -> survey.QuestionnaireSpec:
    """A one-question questionnaire with a fresh name."""
    free = survey.QuestionSpec(code="Q1", text="您有什么建议？", kind=survey.QuestionKind.free)
    return survey.QuestionnaireSpec(name=f"权限测试问卷{next(_SERIAL)}", questions=[free])


_SERIAL = itertools.count(1)


def a_finding(engine, actor: Actor = ADMIN) -> str:
    """A fresh finding at P1 (城关街道) for 城管局 (the liaison's unit)."""
    new = findings.NewFinding(source=FindingSource.patrol, description="垃圾未清运", point_code="P1", unit="城管局")
    return findings.create_finding(engine, actor, new)


def jpeg() -> tuple[bytes, str]:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (20, 20), (9, 9, 9)).save(buf, "JPEG")
    return buf.getvalue(), "after.jpg"


def submit_a_document(engine, actor: Actor) -> None:
    """Upload a (fresh) PDF for 城管局's requirement of the materials standard III-1-2."""
    import uuid

    from civeval import materials

    with engine.connect() as conn:
        index_id = repo.find_index(conn, "测试体系", "2024")
    materials.refresh_breakdown(engine, ADMIN, index_id)
    with engine.connect() as conn:
        [req] = materials.task_breakdown(conn, ADMIN, index_id, unit="城管局")
    materials.submit_document(engine, actor, req.id, materials.demo_pdf(uuid.uuid4().hex), "方案.pdf")


def rounds_index(engine) -> int:
    with engine.connect() as conn:
        return repo.list_indexes(conn)[0].id


def test_the_grid_covers_every_action_and_role():
    assert {a for a, _ in GRID} == {a.value for a in Action}
    assert {r for _, r in GRID} == {r.value for r in Role}


@pytest.mark.parametrize(("action", "role"), sorted(GRID))
def test_role_may_or_may_not(world, action, role):
    engine, actors, index_file, tmp, rid = world
    if GRID[(action, role)]:
        exercise(action, engine, actors[role], index_file, tmp, rid)
    else:
        with pytest.raises(PermissionDenied, match="无权"):
            exercise(action, engine, actors[role], index_file, tmp, rid)


def test_scoped_roles_see_only_their_points(world):
    engine, actors, *_ = world
    with engine.connect() as conn:
        seen = {
            r: {p.code for p in registers.visible_points(conn, actors[r])}
            for r in ("admin", "liaison", "coordinator", "leader")
        }
    assert seen["coordinator"] == {"P1"}  # its street (and the street's communities)
    assert seen["liaison"] == {"P2"}  # custodian 城管局
    assert {"P1", "P2", "P3"} <= seen["admin"] and seen["leader"] == seen["admin"]


def test_a_refusal_writes_nothing(world):
    engine, actors, *_ = world
    with engine.connect() as conn:
        before = len(audit.read_log(conn, ADMIN, limit=None))
    with pytest.raises(PermissionDenied):
        registers.save_unit(engine, actors["coordinator"], Unit(code="D77", name="不该有"))
    with engine.connect() as conn:
        assert len(audit.read_log(conn, ADMIN, limit=None)) == before
        assert "不该有" not in repo.unit_names(conn)
