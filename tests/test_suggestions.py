"""Citizens' suggestions (意见建议): intake validation and the withheld name, the path from intake to 办结 through the
findings machinery, the declined path, scope, the reply's version check, an all-or-nothing hand-over, and 办结率 /
答复率 / 整改率 hand-computed on a small timeline as of three dates. SQLite and PostgreSQL (the ``engine`` fixture).
"""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
import sqlalchemy as sa
from PIL import Image

from civeval import audit, auth, findings, suggestions
from civeval.deadlines import Calendar
from civeval.findings import FindingAction
from civeval.models import FindingSource, FindingStatus, Role, Severity
from civeval.permissions import PermissionDenied
from civeval.store import schema as t
from civeval.suggestions import Channel, NewSuggestion, SuggestionError, SuggestionStatus
from tests import seed
from tests.conftest import ADMIN

A = FindingAction
S = SuggestionStatus
CAL = Calendar()  # calendar days: urgent 2, normal 3


def jpeg() -> tuple[bytes, str]:
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), (30, 160, 60)).save(buf, "JPEG")
    return buf.getvalue(), "after.jpg"


class Clock:
    def __init__(self) -> None:
        self.now = dt.datetime(2026, 11, 2, 2, 0)  # 10:00 in Beijing

    def day(self, d: int, hour: int = 2) -> None:
        self.now = dt.datetime(2026, 11, d, hour, 0)


@pytest.fixture
def clock(monkeypatch):
    c = Clock()
    monkeypatch.setattr(audit, "now", lambda: c.now)
    return c


@pytest.fixture
def world(engine, clock):
    seed.seed(engine)
    seed.add_users(engine, {"coord_dc": (Role.coordinator, "东城街道")})
    with engine.connect() as conn:
        actors = {u: auth.load_actor(conn, auth.get_user(conn, u).id) for u in [*seed.USERS, "coord_dc"]}
    return engine, actors


def form(**kw) -> NewSuggestion:
    """A door-to-door form from 和平社区, 城关街道."""
    values = dict(
        channel=Channel.door_to_door,
        content="和平路路灯不亮，晚上出行不便",
        category="公共设施",
        person="张大爷",
        street="城关街道",
        community="和平社区",
        place="和平路东段",
        recorder="李干事",
    )
    return NewSuggestion(**{**values, **kw})


def row(engine, code: str) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(t.suggestions).where(t.suggestions.c.code == code)).mappings().one())


def count(engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def close_finding(engine, actors, finding_code: str) -> None:
    findings.transition(engine, actors["liai"], finding_code, A.submit, reason="已修复路灯", photos_data=[jpeg()])
    findings.transition(engine, actors["insp"], finding_code, A.pass_reinspection)


# --- intake ---------------------------------------------------------------------------------------------------------


def test_intake_refuses_what_the_form_lacks_in_chinese_and_stores_nothing(world):
    engine, actors = world
    admin = actors["tester"]
    with pytest.raises(SuggestionError, match="请填写意见建议内容"):
        suggestions.record(engine, admin, form(content="  "))
    with pytest.raises(SuggestionError, match="入户征询须填写征询记录人"):
        suggestions.record(engine, admin, form(recorder=""))
    with pytest.raises(SuggestionError, match="街道（镇）“西城街道”不在单位名录中"):
        suggestions.record(engine, admin, form(street="西城街道", community=None))
    with pytest.raises(SuggestionError, match="“县教育局”是部门，不是街道（镇）"):
        suggestions.record(engine, admin, form(street="县教育局", community=None))
    with pytest.raises(SuggestionError, match="社区（村）“和平社区”不属于“东城街道”"):
        suggestions.record(engine, admin, form(street="东城街道"))
    with pytest.raises(SuggestionError, match="类别“噪音”不在类别列表中"):
        suggestions.record(engine, admin, form(category="噪音"))
    with pytest.raises(SuggestionError, match="收到时间不能晚于现在"):
        suggestions.record(engine, admin, form(received_at=dt.datetime(2026, 11, 3)))
    with pytest.raises(SuggestionError) as every:  # every problem at once
        suggestions.record(engine, admin, form(content="", street="西城街道", community=None, category=""))
    assert "内容" in str(every.value) and "西城街道" in str(every.value) and "请选择类别" in str(every.value)
    assert count(engine, t.suggestions) == 0


def test_a_withheld_name_is_never_stored_nor_shown_nor_logged(world):
    engine, actors = world
    code = suggestions.record(engine, actors["tester"], form(person="王秘密", name_withheld=True, contact="139xxxx"))
    assert code == "YJ000001"
    stored = row(engine, code)
    assert stored["person"] == "" and stored["name_withheld"] and stored["contact"] == "139xxxx"
    with engine.connect() as conn:
        logged = [json.dumps(e["after"], ensure_ascii=False) for e in audit.read_log(conn, ADMIN, limit=None)]
        s = suggestions.get_suggestion(conn, actors["tester"], code).suggestion
    assert not any("王秘密" in e for e in logged)
    assert s.person == "" and s.person_label == "（不愿留姓名）"


def test_the_community_gives_the_street_and_other_channels_default_the_recorder(world):
    engine, actors = world
    code = suggestions.record(
        engine,
        actors["coord"],
        NewSuggestion(channel=Channel.hotline, content="菜市场门口占道经营", category="市容环境", community="和平社区"),
    )
    with engine.connect() as conn:
        s = suggestions.get_suggestion(conn, actors["tester"], code).suggestion
    assert (s.street, s.community, s.recorder, s.status) == ("城关街道", "和平社区", "coord", S.received)
    assert s.stage() == "待交办"


def test_categories_are_configurable(world):
    engine, actors = world
    with engine.connect() as conn:
        assert suggestions.categories(conn) == list(suggestions.DEFAULT_CATEGORIES)
    with pytest.raises(PermissionDenied):
        suggestions.set_categories(engine, actors["coord"], ["噪音"])
    suggestions.set_categories(engine, actors["tester"], ["噪音", " 噪音 ", "其他"])
    with engine.connect() as conn:
        assert suggestions.categories(conn) == ["噪音", "其他"]
    suggestions.record(engine, actors["tester"], form(category="噪音"))
    with pytest.raises(SuggestionError, match="不在类别列表中"):
        suggestions.record(engine, actors["tester"], form(category="公共设施"))


# --- from intake to 办结 --------------------------------------------------------------------------------------------


def test_a_suggestion_goes_from_intake_to_answered_through_the_findings_machinery(world, clock):
    engine, actors = world
    admin, liai = actors["tester"], actors["liai"]
    code = suggestions.record(engine, actors["insp"], form())  # an inspector at the door
    finding = suggestions.hand_to_unit(engine, admin, code, "县城市管理局", point_code="P004", calendar=CAL)
    with engine.connect() as conn:
        f = findings.get_finding(conn, admin, finding)
        worklist = [x.code for x in findings.findings_to_rectify(conn, liai)]
        handed = suggestions.get_suggestion(conn, admin, code).suggestion
    assert f.source is FindingSource.suggestion and f.unit == "县城市管理局" and f.street == "城关街道"
    assert f.deadline == dt.date(2026, 11, 5)  # 一般: 3 days
    assert code in f.description and "和平路路灯不亮" in f.description and "张大爷" not in f.description
    assert finding in worklist
    assert (handed.status, handed.finding_code, handed.stage()) == (S.handed, finding, "整改中（已交办）")
    with pytest.raises(SuggestionError, match="复查销号（或列为长效整改）后才能答复"):
        suggestions.reply(engine, admin, code, "已修好", handed.version)

    clock.day(3)
    close_finding(engine, actors, finding)
    with engine.connect() as conn:
        detail = suggestions.get_suggestion(conn, admin, code)
    assert detail.finding.status is FindingStatus.closed and detail.suggestion.stage() == "已销号，待答复"
    assert [e["action"] for e in detail.finding_history] == ["create", "submit", "pass_reinspection"]
    clock.day(4)
    after = suggestions.reply(engine, admin, code, "路灯已于11月3日修复，感谢您的建议。", detail.suggestion.version)
    assert after.status is S.answered and after.concluded and after.stage() == "已办结"
    assert after.replied_at == dt.datetime(2026, 11, 4, 2) and after.replied_by == "tester"
    with engine.connect() as conn:
        detail = suggestions.get_suggestion(conn, admin, code)
        m = suggestions.suggestion_metrics(conn, admin, dt.date(2026, 11, 4)).overall
    assert [s["what"] for s in detail.steps] == [
        "登记意见建议（入户征询）",
        f"意见建议 {code}：交办县城市管理局",
        f"意见建议 {code}：答复群众",
    ]
    assert (m.received, m.concluded, m.conclusion_rate, m.reply_rate) == (1, 1, 1.0, 1.0)
    with pytest.raises(SuggestionError, match="不能重复答复"):
        suggestions.reply(engine, admin, code, "再答复一次", after.version)


def test_the_declined_path_still_needs_a_reply(world):
    engine, actors = world
    coord = actors["coord"]
    code = suggestions.record(engine, coord, form(content="建议高铁站增加班次", category="其他"))
    with pytest.raises(SuggestionError, match="不予交办须填写原因"):
        suggestions.decline(engine, coord, code, " ")
    with pytest.raises(SuggestionError, match="须先交办或不予交办"):
        suggestions.reply(engine, coord, code, "已转告", row(engine, code)["version"])
    s = suggestions.decline(engine, coord, code, "属铁路部门职责，不在本县范围")
    assert s.status is S.declined and s.stage() == "不予交办，待答复" and not s.concluded
    with pytest.raises(SuggestionError, match="不能交办"):
        suggestions.hand_to_unit(engine, coord, code, "和平社区")
    s = suggestions.reply(engine, coord, code, "已向铁路部门反映，请关注其公告。", s.version)
    assert s.status is S.declined and s.concluded and s.stage() == "不予交办，已答复（办结）"
    with engine.connect() as conn:
        steps = suggestions.get_suggestion(conn, coord, code).steps
        m = suggestions.suggestion_metrics(conn, coord, audit.today()).overall
    assert steps[1]["reason"] == "属铁路部门职责，不在本县范围"
    assert (m.received, m.declined, m.concluded, m.handed) == (1, 1, 1, 0)


def test_a_duplicate_is_voided_and_left_out(world):
    engine, actors = world
    code = suggestions.record(engine, actors["tester"], form())
    with pytest.raises(PermissionDenied):
        suggestions.void(engine, actors["coord"], code, "重复登记")
    suggestions.void(engine, actors["tester"], code, "重复登记")
    with engine.connect() as conn:
        assert suggestions.get_suggestion(conn, actors["tester"], code).suggestion.stage() == "已作废"
        assert suggestions.suggestion_metrics(conn, actors["tester"], audit.today()).overall.received == 0
    with pytest.raises(SuggestionError, match="不能交办"):
        suggestions.hand_to_unit(engine, actors["tester"], code, "县城市管理局")


# --- scope, versions, all or nothing ---------------------------------------------------------------------------


def test_a_coordinator_handles_only_its_streets_suggestions(world):
    engine, actors = world
    mine = suggestions.record(engine, actors["coord"], form())
    theirs = suggestions.record(engine, actors["coord_dc"], form(street="东城街道", community=None))
    with pytest.raises(PermissionDenied):  # recording for another street
        suggestions.record(engine, actors["coord"], form(street="东城街道", community=None))
    with pytest.raises(PermissionDenied, match="本辖区"):  # a coordinator must say where
        suggestions.record(engine, actors["coord"], form(street=None, community=None))
    with engine.connect() as conn:
        assert [s.code for s in suggestions.list_suggestions(conn, actors["coord"])] == [mine]
        assert [s.code for s in suggestions.list_suggestions(conn, actors["coord_dc"])] == [theirs]
        with pytest.raises(PermissionDenied):
            suggestions.get_suggestion(conn, actors["coord"], theirs)
    with pytest.raises(PermissionDenied):
        suggestions.hand_to_unit(engine, actors["coord"], theirs, "县城市管理局", point_code="P004")
    with pytest.raises(PermissionDenied, match="只能交办给本辖区的单位"):  # a city department, with no point
        suggestions.hand_to_unit(engine, actors["coord"], mine, "县教育局")
    finding = suggestions.hand_to_unit(engine, actors["coord"], mine, "县城市管理局", point_code="P004")
    with pytest.raises(PermissionDenied):  # an inspector records, the office and coordinators hand
        suggestions.hand_to_unit(engine, actors["insp"], theirs, "县城市管理局")
    with pytest.raises(PermissionDenied):
        suggestions.record(engine, actors["boss"], form())
    with engine.connect() as conn:
        seen = suggestions.list_suggestions(conn, actors["liai"])  # the unit's liaison: what was handed to it
        assert [s.code for s in seen] == [mine]
        assert seen[0].person == "" and seen[0].private and seen[0].person_label == "（仅创文办和所在街道可见）"
        assert suggestions.list_suggestions(conn, actors["tester"], statuses=[S.handed])[0].person == "张大爷"
        assert findings.get_finding(conn, actors["coord"], finding).source is FindingSource.suggestion


def test_the_reply_needs_the_version_the_user_saw(world):
    engine, actors = world
    admin = actors["tester"]
    code = suggestions.record(engine, admin, form())
    finding = suggestions.hand_to_unit(engine, admin, code, "县城市管理局", calendar=CAL)
    with engine.connect() as conn:
        seen = suggestions.get_suggestion(conn, admin, code).suggestion
    close_finding(engine, actors, finding)
    first = suggestions.reply(engine, actors["coord"], code, "已修好，谢谢。", seen.version)  # the coordinator
    with pytest.raises(SuggestionError, match=r"已被他人处理：coord 于 .*答复群众.*请刷新后再试"):
        suggestions.reply(engine, admin, code, "路灯修好了。", seen.version - 1)
    assert row(engine, code)["reply"] == "已修好，谢谢。" and row(engine, code)["version"] == first.version


def test_nothing_is_half_written_when_handing_fails(world):
    engine, actors = world
    admin = actors["tester"]
    code = suggestions.record(engine, admin, form())
    before = row(engine, code), count(engine, t.findings), count(engine, t.finding_events), count(engine, t.audit_log)
    with pytest.raises(SuggestionError, match="责任单位“县园林局”不在单位名录中"):
        suggestions.hand_to_unit(engine, admin, code, "县园林局")
    with pytest.raises(SuggestionError, match="整改期限不能早于今天"):
        suggestions.hand_to_unit(engine, admin, code, "县城市管理局", deadline=dt.date(2026, 11, 1))
    with pytest.raises(SuggestionError, match="点位“P999”不存在"):
        suggestions.hand_to_unit(engine, admin, code, "县城市管理局", point_code="P999")
    with pytest.raises(SuggestionError, match="已被他人处理"):
        suggestions.hand_to_unit(engine, admin, code, "县城市管理局", expected_version=99)
    after = row(engine, code), count(engine, t.findings), count(engine, t.finding_events), count(engine, t.audit_log)
    assert after == before


def test_a_voided_finding_lets_the_suggestion_be_handed_again(world):
    engine, actors = world
    admin = actors["tester"]
    code = suggestions.record(engine, admin, form())
    first = suggestions.hand_to_unit(engine, admin, code, "县教育局")
    findings.transition(engine, admin, first, A.void, reason="交错单位")
    with engine.connect() as conn:
        s = suggestions.get_suggestion(conn, admin, code).suggestion
    assert s.may_be_handed and s.stage() == "交办的问题已作废，待重新交办"
    second = suggestions.hand_to_unit(engine, admin, code, "县城市管理局")
    assert second != first
    with engine.connect() as conn:
        assert suggestions.get_suggestion(conn, admin, code).suggestion.finding_code == second


# --- 办结率, 答复率, 整改率 as of a date ------------------------------------------------------------------------------


def test_rates_hand_computed_as_of_three_dates(world, clock):
    """A–G, all handled by the office (calendar days; each day at 10:00 Beijing time):

    A 城关 市容环境  2 Nov received, handed (一般, due 5 Nov); 3 Nov submitted; 4 Nov closed; 5 Nov replied → 办结 5 Nov
    B 城关 交通秩序  2 Nov received; 3 Nov declined and replied                                       → 办结 3 Nov
    C 东城 市容环境  3 Nov received, handed (紧急, due 5 Nov); never fixed                     → overdue from 6 Nov
    D 东城 公共设施  4 Nov received; not handled
    E 城关 市容环境  2 Nov received, handed; 3 Nov long-term; 4 Nov replied                 → 答复, never 办结
    F 城关 其他      2 Nov received; 3 Nov voided (a duplicate)                   → counted on 2 Nov only
    G (no street) 其他  received 6 Nov (hotline)
    """
    engine, actors = world
    admin = actors["tester"]

    def new(street, category, channel=Channel.hotline):
        return suggestions.record(
            engine, admin, NewSuggestion(channel=channel, content="意见", category=category, street=street)
        )

    def hand(code, severity=Severity.normal):
        return suggestions.hand_to_unit(engine, admin, code, "县城市管理局", severity=severity, calendar=CAL)

    def version(code):
        return row(engine, code)["version"]

    clock.day(2)
    a, b, e, f = (
        new("城关街道", "市容环境"),
        new("城关街道", "交通秩序"),
        new("城关街道", "市容环境"),
        new("城关街道", "其他"),
    )
    fa, fe = hand(a), hand(e)
    clock.day(3)
    findings.transition(engine, actors["liai"], fa, A.submit, reason="已清理", photos_data=[jpeg()])
    suggestions.decline(engine, admin, b, "属交警大队职责，已转交")
    suggestions.reply(engine, admin, b, "已转交交警大队处理", version(b))
    c = new("东城街道", "市容环境")
    hand(c, Severity.urgent)
    findings.transition(engine, admin, fe, A.mark_long_term, reason="需列入改造计划")
    suggestions.void(engine, admin, f, "重复登记")
    clock.day(4)
    findings.transition(engine, actors["insp"], fa, A.pass_reinspection)
    d = new("东城街道", "公共设施")
    suggestions.reply(engine, admin, e, "已列入明年改造计划", version(e))
    clock.day(5)
    suggestions.reply(engine, admin, a, "已整改", version(a))
    clock.day(6)
    g = new(None, "其他")
    clock.day(8)
    assert {a, b, c, d, e, f, g} == {f"YJ{n:06d}" for n in range(1, 8)}

    def m(day, by=None):
        with engine.connect() as conn:
            return suggestions.suggestion_metrics(conn, admin, dt.date(2026, 11, day), by=by)

    day2 = m(2).overall  # A, B, E, F received; A and E handed
    assert (day2.received, day2.handed, day2.pending, day2.replied, day2.concluded) == (4, 2, 2, 0, 0)
    assert day2.conclusion_rate == 0 and day2.reply_rate == 0

    day4 = m(4).overall  # A B C D E received (F voided); B and E replied; B 办结; A closed but not yet answered
    assert (day4.received, day4.handed, day4.declined, day4.pending) == (5, 3, 1, 1)
    assert (day4.finding_closed, day4.long_term, day4.replied, day4.concluded) == (1, 1, 2, 1)
    assert day4.conclusion_rate == pytest.approx(1 / 5) and day4.reply_rate == pytest.approx(2 / 5)
    r = day4.rectification  # A due (closed); C due 5 Nov; E long-term
    assert (r.due, r.closed_due, r.closed_on_time, r.rectification_rate, r.on_time_rate) == (1, 1, 1, 1.0, 1.0)

    day7 = m(7, by="street")  # G received; A answered → 办结; C overdue
    o = day7.overall
    assert (o.received, o.replied, o.concluded, o.overdue) == (6, 3, 2, 1)
    assert o.conclusion_rate == pytest.approx(2 / 6) and o.reply_rate == pytest.approx(3 / 6)
    assert (o.rectification.due, o.rectification.closed_due, o.rectification.rectification_rate) == (2, 1, 0.5)
    rates = {k: (v.received, v.concluded, v.conclusion_rate, v.reply_rate) for k, v in day7.groups.items()}
    assert rates == {
        "城关街道": (3, 2, pytest.approx(2 / 3), 1.0),
        "东城街道": (2, 0, 0.0, 0.0),
        suggestions.NO_STREET: (1, 0, 0.0, 0.0),
    }
    by_category = {k: (v.received, v.concluded) for k, v in m(7, by="category").groups.items()}
    assert by_category == {"市容环境": (3, 1), "交通秩序": (1, 1), "公共设施": (1, 0), "其他": (1, 0)}
    with engine.connect() as conn:
        rep = suggestions.report(conn, admin, dt.date(2026, 11, 7))
        coord = suggestions.suggestion_metrics(conn, actors["coord"], dt.date(2026, 11, 7)).overall
    assert rep["overall"]["conclusion_rate"] == pytest.approx(2 / 6) and rep["as_of"] == "2026-11-07"
    assert [g["name"] for g in rep["by_category"]] == sorted(by_category)
    assert {d["term"] for d in rep["definitions"]} >= {"办结", "办结率", "答复率", "整改率", "按期整改率"}
    assert (coord.received, coord.concluded) == (3, 2)  # its street's only


def test_the_definitions_are_stated():
    for term in ("收到", "办结", "办结率", "答复率", "整改率", "按期整改率"):
        assert suggestions.SUGGESTION_DEFINITIONS[term]
    assert Channel.parse("12345") is Channel.hotline and Channel.door_to_door.label == "入户征询"


def test_the_demo_tells_every_stage(sqlite_url, monkeypatch):
    """demo_suggestions on the small seeded city (no unit of its category list there: 县城市管理局 takes them)."""
    from civeval.store import open_engine

    monkeypatch.delenv("CIVEVAL_DEADLINE_DAYS", raising=False)
    engine = open_engine(sqlite_url)
    seed.seed(engine)
    counts = suggestions.demo_suggestions(engine, seed=1, n=20)
    with engine.connect() as conn:
        every = suggestions.list_suggestions(conn, ADMIN)
        m = suggestions.suggestion_metrics(conn, ADMIN, audit.today()).overall
    assert counts["suggestions"] == len(every) == m.received == 20
    assert (m.handed, m.declined, m.replied) == (counts["handed"], counts["declined"], counts["answered"])
    assert m.concluded > 0 and m.handed > m.finding_closed > 0  # some answered, some still being fixed
    assert any(s.name_withheld and s.person == "" for s in every)
    assert {s.channel for s in every} >= {Channel.hotline, Channel.door_to_door}
    engine.dispose()


def test_the_command_line_lists_and_reports(sqlite_url, capsys):
    from civeval import cli
    from civeval.store import open_engine

    engine = open_engine(sqlite_url)
    seed.seed(engine)
    code = suggestions.record(engine, ADMIN, form(person="", name_withheld=True))
    declined = suggestions.record(engine, ADMIN, form(content="建议开通高铁站公交", category="其他"))
    suggestions.decline(engine, ADMIN, declined, "属市公交公司职责")
    suggestions.reply(engine, ADMIN, declined, "已转交市公交公司", row(engine, declined)["version"])
    engine.dispose()
    assert cli.main(["suggestions", "list", "--db", sqlite_url]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split("\t")[:2] for line in lines] == [[declined, "不予交办，已答复（办结）"], [code, "待交办"]]
    assert cli.main(["suggestions", "list", "--status", "已登记", "--db", sqlite_url]) == 0
    assert capsys.readouterr().out.split("\t")[0] == code
    assert cli.main(["suggestions", "list", "--status", "乱写", "--db", sqlite_url]) == 1
    assert "状态“乱写”无效" in capsys.readouterr().err
    assert cli.main(["suggestions", "metrics", "--json", "--db", sqlite_url]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["received"] == 2 and report["overall"]["conclusion_rate"] == 0.5
    assert [g["name"] for g in report["by_street"]] == ["城关街道"]
    assert cli.main(["suggestions", "metrics", "--as-of", "2026-01-01", "--db", sqlite_url]) == 0
    out = capsys.readouterr().out
    assert "统计截至 2026-01-01）：收到 0 件" in out and "办结率：" in out
