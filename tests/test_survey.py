"""Questionnaires (civeval.survey) on SQLite and PostgreSQL: definitions tied to survey standards, hand-computed
rates and coverage, imports of survey-tool exports (GBK CSV, 问卷星-style xlsx) with located problems, all or
nothing, re-import skipping, paper entry, voiding, populations, scope."""

from __future__ import annotations

import datetime as dt
import io

import openpyxl
import pytest

from civeval import audit, survey
from civeval.models import Actor, Grant, Role, Unit, UnitKind
from civeval.permissions import PermissionDenied
from civeval.store import repo
from civeval.survey import PaperResponse, QuestionKind, QuestionnaireSpec, QuestionSpec
from civeval.workbook import WorkbookInvalid
from tests import seed
from tests.conftest import ADMIN

SYSTEM = Actor.system("测试数据")
COORD = Actor(user_id=None, username="coord", grants=(Grant(role=Role.coordinator, scope="城关街道"),))
INSPECTOR = Actor(user_id=None, username="insp", grants=(Grant(role=Role.inspector),))
LEADER = Actor(user_id=None, username="boss", grants=(Grant(role=Role.leader),))
EXTRA_UNITS = [Unit(code="C02", name="黄河社区", kind=UnitKind.community, parent="东城街道")]

A_TEXT = "您是否知道我市正在创建全国文明城市？"
QUESTIONS = [
    QuestionSpec(code="A1", text=A_TEXT, kind=QuestionKind.awareness, standard="III-4-2", choices=["知道", "不知道"]),
    QuestionSpec(code="S1", text="您是否支持文明城市创建工作？", kind=QuestionKind.support, choices=["支持", "不支持"]),
    QuestionSpec(
        code="P1",
        text="您是否参与过文明城市创建志愿服务活动？",
        kind=QuestionKind.participation,
        choices=["参与过", "没有参与过"],
    ),
    QuestionSpec(
        code="M1",
        text="您对本地文明城市创建工作是否满意？",
        kind=QuestionKind.satisfaction,
        standard="III-4-2",
        choices=["满意", "基本满意", "不满意", "说不清"],
    ),
    QuestionSpec(code="F1", text="您对文明城市创建还有什么建议？", kind=QuestionKind.free),
]


@pytest.fixture
def seeded(engine):
    with audit.writing(engine, SYSTEM) as conn:
        repo.save_units(conn, [*seed.UNITS, *EXTRA_UNITS])
        repo.save_index(conn, seed.index())
    return engine


def make_questionnaire(engine, name: str = "2026年问卷", **kw) -> int:
    spec = QuestionnaireSpec(name=name, index_id=seed.index_id(engine), questions=QUESTIONS, **kw)
    return survey.save_questionnaire(engine, ADMIN, spec)


def paper(engine, qid: int, street=None, community=None, unit=None, actor=ADMIN, **answers) -> survey.SavedResponse:
    response = PaperResponse(street=street, community=community, unit=unit, answers=answers)
    return survey.save_paper_response(engine, actor, qid, response)


def hand_computed(engine) -> int:
    """Six paper questionnaires whose rates are worked out by hand in the tests below."""
    qid = make_questionnaire(engine)
    paper(engine, qid, "城关街道", "和平社区", A1="知道", S1="支持", P1="参与过", M1="满意")
    paper(engine, qid, "城关街道", "和平社区", A1="知道", S1="不支持", P1="没有参与过", M1="基本满意")
    paper(engine, qid, "城关街道", A1="不知道", S1="支持", P1="参与过", M1="不满意")
    paper(engine, qid, "城关街道", A1="知道", S1="支持", P1="没有参与过", M1="满意")
    # 2 of 4 scored questions answered: valid (half is enough); A1 and M1 left blank
    paper(engine, qid, "东城街道", S1="支持", P1="参与过", F1="多种树")
    # 1 of 4: 无效问卷, kept but not counted (it would otherwise lower 知晓率)
    invalid = paper(engine, qid, "东城街道", A1="不知道")
    assert not invalid.valid and "不足一半" in invalid.invalid_reason
    survey.set_population(engine, ADMIN, "城关街道", 10)
    survey.set_population(engine, ADMIN, "东城街道", 7)
    survey.set_population(engine, ADMIN, "河口镇", 10)
    survey.set_population(engine, ADMIN, "和平社区", 3)
    return qid


def rates(engine, qid, by=None, actor=ADMIN):
    with engine.connect() as conn:
        found = survey.survey_rates(conn, actor, qid, by=by)
    return found if by else found[0]


# --- rates, by hand ---------------------------------------------------------------------------------------------


def test_overall_rates_by_hand(seeded):
    qid = hand_computed(seeded)
    g = rates(seeded, qid)
    assert (g.responses, g.valid, g.invalid) == (6, 5, 1)
    assert (g.awareness.yes, g.awareness.answered) == (3, 4)  # 知晓率 3/4: one blank, the invalid one left out
    assert g.awareness.value == 3 / 4
    assert g.support.value == 4 / 5
    assert g.participation.value == 3 / 5
    assert g.satisfaction == (100 + 60 + 0 + 100) / 4 == 65
    # quota: streets and towns (communities lie inside them): ⌈10×60%⌉ + ⌈7×60%⌉ + ⌈10×40%⌉ = 6 + 5 + 4
    assert g.quota == 15 and g.coverage == 5 / 15


def test_rates_and_coverage_by_street_community_and_unit(seeded):
    qid = hand_computed(seeded)
    by_street = {g.name: g for g in rates(seeded, qid, "street")}
    assert list(by_street) == ["城关街道", "东城街道", "河口镇"]  # streets, then towns; every one listed
    cg = by_street["城关街道"]
    assert (cg.valid, cg.awareness.value, cg.support.value, cg.participation.value) == (4, 3 / 4, 3 / 4, 2 / 4)
    assert cg.satisfaction == 65
    assert (cg.population, cg.share, cg.quota, cg.coverage, cg.shortfall) == (10, 0.6, 6, 4 / 6, 2)
    dc = by_street["东城街道"]
    assert (dc.responses, dc.valid, dc.awareness.value, dc.support.value, dc.satisfaction) == (2, 1, None, 1.0, None)
    assert (dc.quota, dc.coverage) == (5, 1 / 5)  # ⌈7 × 60%⌉ = ⌈4.2⌉ = 5
    hk = by_street["河口镇"]
    assert (hk.share, hk.quota, hk.valid, hk.coverage) == (0.4, 4, 0, 0.0)

    by_community = {g.name: g for g in rates(seeded, qid, "community")}
    assert list(by_community) == ["和平社区"]  # communities with a population or a questionnaire
    hp = by_community["和平社区"]
    assert (hp.valid, hp.awareness.value, hp.support.value, hp.satisfaction) == (2, 1.0, 1 / 2, 80)
    assert (hp.share, hp.quota, hp.coverage, hp.below_quota) == (0.6, 2, 1.0, False)  # its street's 60%: ⌈1.8⌉

    paper(seeded, qid, unit="县教育局", A1="知道", S1="支持", P1="参与过", M1="基本满意")
    survey.set_population(seeded, ADMIN, "县教育局", 3)
    (edu,) = rates(seeded, qid, "unit")
    assert (edu.name, edu.valid, edu.share, edu.quota, edu.coverage, edu.satisfaction) == (
        "县教育局",
        1,
        1.0,
        3,
        1 / 3,
        60,
    )
    assert rates(seeded, qid).valid == 6  # a staff questionnaire counts overall too


def test_coverage_board_lists_who_is_below_quota_worst_first(seeded):
    qid = hand_computed(seeded)
    with seeded.connect() as conn:
        board = survey.coverage_board(conn, ADMIN, qid)
    assert [(g.name, g.valid, g.quota, g.shortfall) for g in board] == [
        ("河口镇", 0, 4, 4),
        ("东城街道", 1, 5, 4),
        ("城关街道", 4, 6, 2),
    ]


def test_configured_satisfaction_scores_and_unscored_choices(seeded):
    qid = make_questionnaire(seeded, satisfaction_scores={"满意": 100, "基本满意": 80, "不满意": 20})
    for answer in ("满意", "基本满意", "不满意", "满意", "说不清"):
        paper(seeded, qid, "城关街道", A1="知道", S1="支持", M1=answer)
    # "说不清" has no score: left out of 满意度
    assert rates(seeded, qid).satisfaction == (100 + 80 + 20 + 100) / 4 == 75
    with seeded.connect() as conn:
        assert survey.standard_rates(conn, qid) == {"III-4-2": (1.0 + 0.75) / 2}  # mean of 知晓率 and 满意度/100


def test_standard_rates_use_the_rate_of_each_linked_question(seeded):
    qid = hand_computed(seeded)
    with seeded.connect() as conn:
        # III-4-2 is measured by A1 (知晓率 3/4) and M1 (满意度 65 → 0.65): their mean
        assert survey.standard_rates(conn, qid) == {"III-4-2": (0.75 + 0.65) / 2}


def test_quota_defaults_per_kind_and_overrides(seeded):
    assert survey.default_share(UnitKind.street) == 0.6
    assert survey.default_share(UnitKind.town) == 0.4
    assert survey.default_share(UnitKind.community, UnitKind.town) == 0.4
    assert survey.default_share(UnitKind.community, UnitKind.street) == 0.6
    assert survey.default_share(UnitKind.department) == survey.default_share(UnitKind.work_group) == 1.0
    assert survey.quota_of(10, 0.6) == 6 and survey.quota_of(7, 0.6) == 5 and survey.quota_of(0, 0.6) == 0
    survey.set_population(seeded, ADMIN, "城关街道", 200, 0.25)
    survey.set_population(seeded, ADMIN, "县城市管理局", 40)
    with seeded.connect() as conn:
        rows = {r.unit: r for r in survey.list_populations(conn, ADMIN)}
    assert (rows["城关街道"].effective_share, rows["城关街道"].quota) == (0.25, 50)
    assert (rows["河口镇"].population, rows["河口镇"].default_share) == (None, 0.4)
    assert (rows["县城市管理局"].effective_share, rows["县城市管理局"].quota) == (1.0, 40)
    with pytest.raises(survey.SurveyError, match="是不是“城关街道”"):
        survey.set_population(seeded, ADMIN, "城关街", 5)
    with pytest.raises(survey.SurveyError, match="比例"):
        survey.set_population(seeded, ADMIN, "城关街道", 5, 1.5)


def test_dates_outside_the_survey_make_a_questionnaire_invalid(seeded):
    qid = make_questionnaire(seeded, start_date=dt.date(2026, 10, 1), end_date=dt.date(2026, 10, 31))
    inside = PaperResponse(
        street="城关街道", answers={"A1": "知道", "S1": "支持"}, answered_at=dt.datetime(2026, 10, 9)
    )
    outside = inside.model_copy(update={"answered_at": dt.datetime(2026, 11, 20, 3)})
    assert survey.save_paper_response(seeded, ADMIN, qid, inside).valid
    late = survey.save_paper_response(seeded, ADMIN, qid, outside)
    assert not late.valid and "2026-11-20" in late.invalid_reason and "调查时间" in late.invalid_reason


# --- definitions ------------------------------------------------------------------------------------------------------


def test_questions_must_name_survey_standards_of_the_index(seeded):
    bad = [
        QuestionSpec(code="A1", text="x", kind=QuestionKind.awareness, standard="III-1-1", choices=["知道", "不知道"]),
        QuestionSpec(code="A2", text="y", kind=QuestionKind.awareness, standard="III-9-9", choices=["知道", "不知道"]),
        QuestionSpec(code="A2", text="z", kind=QuestionKind.support, choices=["好", "不好"]),
        QuestionSpec(code="M1", text="", kind=QuestionKind.satisfaction, choices=["好", "差"]),
    ]
    spec = QuestionnaireSpec(name="坏问卷", index_id=seed.index_id(seeded), questions=bad)
    with pytest.raises(survey.SurveyError) as e:
        survey.save_questionnaire(seeded, ADMIN, spec)
    assert e.value.messages == [
        "第1题（A1）对应的测评标准“III-1-1”的测评方式不含问卷调查",
        "第2题（A2）对应的测评标准“III-9-9”不在测评体系中",
        "第3题（A2）的编号与第2题重复",
        "第3题（A2）没有计为“是”的选项（如 支持）",
        "第4题（M1）的题目不能为空",
        "第4题（M1）的选项没有一个有满意度分值（分值：满意、基本满意、不满意）",
    ]


def test_default_questionnaire_has_one_question_per_survey_standard(seeded):
    with seeded.connect() as conn:
        index = repo.load_index(conn, seed.index_id(seeded))
    spec = survey.default_questionnaire(index, name="草稿", index_id=seed.index_id(seeded))
    assert [(q.code, q.kind, q.standard, q.text) for q in spec.questions] == [
        ("Q1", QuestionKind.awareness, "III-4-2", "您是否知道诚信建设？"),
        ("Q2", QuestionKind.free, None, survey.FREE_QUESTION),
    ]
    qid = survey.save_questionnaire(seeded, ADMIN, spec)
    with seeded.connect() as conn:
        q = survey.get_questionnaire(conn, ADMIN, qid)
    assert q.questions[0].choices == ("知道", "不知道") and q.questions[0].yes_values == ("知道",)


def test_editing_keeps_answers_and_refuses_to_drop_an_answered_question(seeded):
    qid = make_questionnaire(seeded)
    paper(seeded, qid, "城关街道", A1="知道", S1="支持", M1="满意")
    with seeded.connect() as conn:
        spec = survey.get_questionnaire(conn, ADMIN, qid).spec()
    spec.questions[0].text = "您知道我市正在创文吗？"
    survey.save_questionnaire(seeded, ADMIN, spec, qid)
    assert rates(seeded, qid).awareness.value == 1.0
    spec.questions = spec.questions[1:]
    with pytest.raises(survey.SurveyError, match="A1 已有 1 份答卷作答，不能删除"):
        survey.save_questionnaire(seeded, ADMIN, spec, qid)


# --- imports ---------------------------------------------------------------------------------------------------------

WJX_HEADER = [
    "序号",
    "提交答卷时间",
    "所用时间",
    "来源",
    "来自IP",
    "1、您所在的街道（镇）：",
    "2、您所在的社区（村）：",
    f"3、{A_TEXT}",
    "4、您是否支持文明城市创建工作？",
    "5、您是否参与过文明城市创建志愿服务活动？",
    "6、您对本地文明城市创建工作是否满意？",
    "7、您对文明城市创建还有什么建议？",
]


def wjx(n: int, time: str, *answers: str) -> list:
    """A row as 问卷星 exports it: number, time, its own columns (duration, source, IP), then the answers."""
    return [n, time, "95秒", "微信", f"1.2.3.{n}(河南)", *answers]


WJX_ROWS = [
    wjx(1, "2026/10/12 09:15:02", "城关街道", "和平社区", "知道", "支持", "参与过", "满意", "多设垃圾桶"),
    wjx(2, "2026/10/12 09:20:41", "城关街道", "(跳过)", "A.知道", "B.不支持", "(跳过)", "C.不满意", "(跳过)"),
    wjx(3, "2026/10/12 10:02:13", "东城街道", "黄河社区", "不知道", "支持", "没有参与过", "基本满意", ""),
    wjx(4, "2026/10/12 11:40:00", "河口镇", "", "(跳过)", "(跳过)", "(跳过)", "满意", ""),
]


def csv_bytes(header, rows, encoding="gbk") -> bytes:
    lines = [",".join(str(c) for c in header)] + [",".join(str(c) for c in r) for r in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(header, rows, sheet="Sheet1") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    ws.append(header)
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_gbk_csv_from_a_survey_tool_is_mapped_checked_and_imported(seeded):
    qid = make_questionnaire(seeded)
    data = csv_bytes(WJX_HEADER, WJX_ROWS)
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")  # really GBK
    checked = survey.check_answers(seeded, ADMIN, qid, "问卷星导出.csv", data)
    assert checked.ok, checked.lines
    assert checked.mapping == {
        "序号": "external_id",
        "提交答卷时间": "answered_at",
        "所用时间": "",
        "来源": "",
        "来自IP": "",
        "1、您所在的街道（镇）：": "street",
        "2、您所在的社区（村）：": "community",
        f"3、{A_TEXT}": "q:A1",
        "4、您是否支持文明城市创建工作？": "q:S1",
        "5、您是否参与过文明城市创建志愿服务活动？": "q:P1",
        "6、您对本地文明城市创建工作是否满意？": "q:M1",
        "7、您对文明城市创建还有什么建议？": "q:F1",
    }
    assert (checked.rows, checked.new, checked.invalid, checked.skipped) == (4, 4, 1, 0)
    assert checked.summary == "可导入 4 份，其中无效 1 份"
    assert rates(seeded, qid).responses == 0, "checking stores nothing"

    done = survey.import_answers(seeded, ADMIN, qid, "问卷星导出.csv", data)
    assert done.summary == "已导入 4 份答卷，其中无效 1 份"
    g = rates(seeded, qid)
    assert (g.valid, g.awareness.value, g.support.value, g.participation.value) == (3, 2 / 3, 2 / 3, 1 / 2)
    assert g.satisfaction == (100 + 0 + 60) / 3
    with seeded.connect() as conn:
        rows = {r.external_id: r for r in survey.list_responses(conn, ADMIN, qid)}
        saved = survey.get_questionnaire(conn, ADMIN, qid).mapping
    assert rows["2"].community is None and rows["3"].street == "东城街道" and rows["3"].community == "黄河社区"
    assert not rows["4"].valid and rows["4"].invalid_reason == "计分题 4 道只答了 1 道（不足一半）"
    # 2026/10/12 09:15:02 Beijing time is stored as UTC
    assert rows["1"].answered_at == dt.datetime(2026, 10, 12, 1, 15, 2)
    assert saved == checked.mapping

    again = survey.import_answers(seeded, ADMIN, qid, "问卷星导出.csv", data + csv_bytes([], [[5, *WJX_ROWS[0][1:]]]))
    assert (again.new, again.skipped) == (
        1,
        4,
    ) and again.summary == "已导入 1 份答卷，其中无效 0 份；已导入过的 4 份已跳过"
    assert rates(seeded, qid).responses == 5


def test_xlsx_in_wjx_style_reuses_the_saved_mapping(seeded):
    qid = make_questionnaire(seeded)
    # Headers a guess cannot place: the office maps them once by hand ...
    header = ["答题人编号", "街镇名称", "Q甲", "Q乙", "Q丙", "Q丁"]
    rows = [
        ["w1", "城关街道", "知道", "支持", "参与过", "满意"],
        ["w2", "东城街道", "不知道", "支持", "参与过", "不满意"],
    ]
    data = xlsx_bytes(header, rows)
    guessed = survey.check_answers(seeded, ADMIN, qid, "导出.xlsx", data)
    assert guessed.mapping["Q甲"] == "" and not guessed.ok
    mapping = {"答题人编号": "external_id", "街镇名称": "street", "Q甲": "q:A1", "Q乙": "q:S1", "Q丙": "q:P1"}
    mapping["Q丁"] = "q:M1"
    done = survey.import_answers(seeded, ADMIN, qid, "导出.xlsx", data, mapping)
    assert done.new == 2 and done.warnings == ()
    # ... and the next export, with its columns in another order and one more respondent, maps by itself
    later = xlsx_bytes(
        [header[i] for i in (5, 4, 3, 2, 1, 0)],
        [list(reversed(r)) for r in [*rows, ["w3", "河口镇", "知道", "支持", "参与过", "满意"]]],
    )
    checked = survey.check_answers(seeded, ADMIN, qid, "导出2.xlsx", later)
    assert checked.mapping == mapping and checked.ok and (checked.new, checked.skipped) == (1, 2)
    survey.import_answers(seeded, ADMIN, qid, "导出2.xlsx", later)
    by_street = {g.name: g.valid for g in rates(seeded, qid, "street")}
    assert by_street == {"城关街道": 1, "东城街道": 1, "河口镇": 1}


def test_problems_are_located_and_nothing_is_stored(seeded):
    qid = make_questionnaire(seeded)
    rows = [list(r) for r in WJX_ROWS]
    rows[0][5] = "城关街"  # not a street in the register: its nearest name is offered
    rows[1][7] = "听说过"  # not one of the choices
    rows[2][6] = "和平社区"  # in 城关街道, not 东城街道
    rows[3][0] = 1  # duplicate respondent number
    rows.append([5, "昨天", "", "", "", "县教育局", "", "知道", "支持", "参与过", "满意", ""])
    data = xlsx_bytes(WJX_HEADER, rows, sheet="问卷数据")
    checked = survey.check_answers(seeded, ADMIN, qid, "答卷.xlsx", data)
    expected = [
        "答卷.xlsx:问卷数据:R2:C6: 街道（镇）“城关街”不在单位名录中，是不是“城关街道”？",
        "答卷.xlsx:问卷数据:R3:C8: A1“您是否知道我市正在创建全国文明…”的回答“听说过”不是可选答案（可选：知道、不知道）",
        "答卷.xlsx:问卷数据:R4:C7: 社区（村）“和平社区”不属于“东城街道”（属于“城关街道”）",
        "答卷.xlsx:问卷数据:R5:C1: 答卷编号“1”重复（与第2行相同）",
        "答卷.xlsx:问卷数据:R6:C2: 答卷时间“昨天”不是日期时间（如 2025-10-12 14:30:05）",
        "答卷.xlsx:问卷数据:R6:C6: 街道（镇）“县教育局”是部门，不是街道（镇）",
    ]
    assert checked.lines == expected
    with pytest.raises(WorkbookInvalid) as e:
        survey.import_answers(seeded, ADMIN, qid, "答卷.xlsx", data)
    assert [str(p) for p in e.value.problems] == expected
    assert rates(seeded, qid).responses == 0  # all or nothing
    with seeded.connect() as conn:
        assert survey.get_questionnaire(conn, ADMIN, qid).mapping == {}  # nor the mapping


def test_mapping_problems_and_unreadable_files(seeded):
    qid = make_questionnaire(seeded)
    data = csv_bytes(WJX_HEADER, WJX_ROWS[:1], encoding="utf-8-sig")
    mapping = {"序号": "external_id", "来源": "street", "1、您所在的街道（镇）：": "street"}
    checked = survey.check_answers(seeded, ADMIN, qid, "a.csv", data, mapping)
    assert checked.lines == [
        "a.csv:R1: 没有任何一列对应本问卷的题目：请在列对应中为题目选择列",
        "a.csv:R1:C6: 列“1、您所在的街道（镇）：”和列“来源”都对应“所在街道（镇）”，每个字段只能对应一列",
    ]
    assert survey.check_answers(seeded, ADMIN, qid, "a.xls", b"x").lines == [
        "a.xls: 不支持旧版 Excel（.xls）文件：请在 Excel 或 WPS 中另存为 .xlsx，或从问卷平台导出 .xlsx / .csv"
    ]
    assert (
        survey.check_answers(seeded, ADMIN, qid, "b.xlsx", b"not a zip").lines[0].startswith("b.xlsx: 无法打开工作簿")
    )
    assert "UTF-8 或 GBK" in survey.check_answers(seeded, ADMIN, qid, "c.csv", b"\xff\xfe\x00\xd8").lines[0]
    bom = survey.check_answers(seeded, ADMIN, qid, "d.csv", data)  # UTF-8 with BOM: the first header is still 序号
    assert bom.ok and bom.mapping["序号"] == "external_id"


def test_rows_without_a_respondent_number_are_recognised_by_content(seeded):
    qid = make_questionnaire(seeded)
    header = ["所在街道", "您是否知道我市正在创建全国文明城市", "您是否支持文明城市创建工作"]
    rows = [["城关街道", "知道", "支持"], ["城关街道", "知道", "支持"], ["东城街道", "不知道", "支持"]]
    data = csv_bytes(header, rows, encoding="utf-8")
    first = survey.import_answers(seeded, ADMIN, qid, "x.csv", data)
    assert (first.new, first.skipped) == (3, 0)  # two identical rows are two respondents
    again = survey.import_answers(seeded, ADMIN, qid, "x.csv", data)
    assert (again.new, again.skipped) == (0, 3)
    assert rates(seeded, qid).awareness.value == 2 / 3


def test_choice_numbers_and_letters_as_tools_export_them():
    choices = ["满意", "基本满意", "不满意"]
    assert survey.match_choice("2", choices) == "基本满意"
    assert survey.match_choice("C", choices) == "不满意"
    assert survey.match_choice("B.基本满意", choices) == "基本满意"
    assert survey.match_choice(" 满意 ", choices) == "满意"
    assert survey.match_choice("4", choices) is None and survey.match_choice("很好", choices) is None


# --- paper, voiding, scope -------------------------------------------------------------------------------------------


def test_paper_entry_checks_names_and_choices_and_counts_what_one_entered(seeded):
    qid = make_questionnaire(seeded)
    first = paper(seeded, qid, None, "和平社区", actor=INSPECTOR, A1="知道", S1="支持", P1="参与过", M1="满意")
    assert first.valid and first.answered == 4 and first.entered == 1
    second = paper(seeded, qid, "城关街道", actor=INSPECTOR, A1="不知道", S1="支持")
    assert second.entered == 2
    with seeded.connect() as conn:
        rows = survey.list_responses(conn, ADMIN, qid)
        assert survey.paper_count(conn, INSPECTOR, qid) == 2 and survey.paper_count(conn, ADMIN, qid) == 0
    assert rows[-1].street == "城关街道" and rows[-1].community == "和平社区"  # the community's street
    assert {r.source for r in rows} == {"paper"}
    with pytest.raises(survey.SurveyError) as e:
        paper(seeded, qid, "城关街", A1="可能")
    assert e.value.messages == [
        "街道（镇）“城关街”不在单位名录中，是不是“城关街道”？",
        "A1 的回答“可能”不是可选答案（可选：知道、不知道）",
    ]
    with pytest.raises(survey.SurveyError, match="请选择所在街道"):
        paper(seeded, qid, A1="知道")
    with pytest.raises(PermissionDenied):
        paper(seeded, qid, "城关街道", actor=LEADER, A1="知道")


def test_a_coordinator_enters_and_sees_only_their_street(seeded):
    qid = hand_computed(seeded)
    paper(seeded, qid, "城关街道", actor=COORD, A1="知道", S1="支持", M1="满意")
    with pytest.raises(PermissionDenied, match="不在您的范围"):
        paper(seeded, qid, "东城街道", actor=COORD, A1="知道", S1="支持")
    coord_viewer = Actor(user_id=None, username="c2", grants=(Grant(role=Role.coordinator, scope="城关街道"),))
    streets = [g.name for g in rates(seeded, qid, "street", actor=coord_viewer)]
    assert streets == ["城关街道"]
    overall = rates(seeded, qid, actor=coord_viewer)
    assert (overall.valid, overall.quota) == (5, 6)
    with seeded.connect() as conn:
        assert {r.street for r in survey.list_responses(conn, COORD, qid)} == {"城关街道"}


def test_voiding_keeps_the_questionnaire_but_stops_counting_it(seeded):
    qid = make_questionnaire(seeded)
    mine = paper(seeded, qid, "城关街道", actor=INSPECTOR, A1="知道", S1="支持")
    other = paper(seeded, qid, "城关街道", A1="不知道", S1="支持")
    assert rates(seeded, qid).awareness.value == 1 / 2
    with pytest.raises(survey.SurveyError, match="原因"):
        survey.void_response(seeded, INSPECTOR, mine.id, " ")
    with pytest.raises(PermissionDenied, match="本人录入"):
        survey.void_response(seeded, INSPECTOR, other.id, "录错")
    survey.void_response(seeded, INSPECTOR, mine.id, "录入重复")
    g = rates(seeded, qid)
    assert (g.responses, g.valid, g.awareness.value) == (2, 1, 0.0)
    with seeded.connect() as conn:
        voided = next(r for r in survey.list_responses(conn, ADMIN, qid) if r.id == mine.id)
    assert voided.invalid_reason == "已作废：录入重复"


# --- populations workbook, template, report --------------------------------------------------------------------------


def test_populations_workbook_round_trip_with_located_problems(seeded):
    with seeded.connect() as conn:
        blank = survey.populations_workbook(conn, ADMIN)
    wb = openpyxl.load_workbook(io.BytesIO(blank))
    ws = wb["人口"]
    assert [c.value for c in ws[1]] == ["单位", "单位类型", "上级单位", "人口/职工数", "比例", "配额"]
    names = [r[0].value for r in ws.iter_rows(min_row=2)]
    assert names[:3] == ["城关街道", "东城街道", "河口镇"] and "县教育局" in names
    values = {"城关街道": (12000, None), "河口镇": (8000, "50%"), "县教育局": (30, None)}
    for row in ws.iter_rows(min_row=2):
        if row[0].value in values:
            row[3].value, row[4].value = values[row[0].value]
    buf = io.BytesIO()
    wb.save(buf)
    assert survey.import_populations(seeded, ADMIN, "人口.xlsx", buf.getvalue()) == 3
    with seeded.connect() as conn:
        rows = {r.unit: r for r in survey.list_populations(conn, ADMIN)}
    assert (rows["城关街道"].quota, rows["河口镇"].quota, rows["县教育局"].quota) == (7200, 4000, 30)

    bad = openpyxl.Workbook()
    ws = bad.active
    ws.title = "人口"
    ws.append(["单位", "人口/职工数", "比例"])
    for r in (["城关街", 10, None], ["东城街道", "很多", None], ["河口镇", 10, "150%"], ["东城街道", 5, None]):
        ws.append(r)
    buf = io.BytesIO()
    bad.save(buf)
    with pytest.raises(WorkbookInvalid) as e:
        survey.import_populations(seeded, ADMIN, "人口.xlsx", buf.getvalue())
    assert [str(p) for p in e.value.problems] == [
        "人口.xlsx:人口:R2:C1: 单位“城关街”不在单位名录中，是不是“城关街道”？",
        "人口.xlsx:人口:R3:C2: 人口/职工数“很多”不是数字",
        "人口.xlsx:人口:R4:C3: 比例“150%”须大于 0、不超过 100%",
    ]
    with seeded.connect() as conn:
        assert {r.unit: r.population for r in survey.list_populations(conn, ADMIN)}["城关街道"] == 12000


def test_the_answer_template_imports_back_without_a_mapping(seeded):
    qid = make_questionnaire(seeded)
    with seeded.connect() as conn:
        data = survey.answer_template(conn, ADMIN, qid)
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb["答卷"]
    header = [c.value for c in ws[1]]
    assert header[:6] == ["序号", "提交答卷时间", "所在街道（镇）", "所在社区（村）", "所在单位", "受访者身份"]
    assert header[6] == f"1、{A_TEXT}" and len(header) == 6 + len(QUESTIONS)
    assert [c.value for c in wb["题目"]["C"]][1:3] == [A_TEXT, "您是否支持文明城市创建工作？"]
    ws.append(["p1", "2026-10-12 10:00", "城关街道", "和平社区", None, "居民", "知道", "支持", "参与过", "满意", None])
    ws.append(["p2", None, None, None, "县教育局", "职工", "不知道", "支持", "参与过", "基本满意", "多宣传"])
    buf = io.BytesIO()
    wb.save(buf)
    done = survey.import_answers(seeded, ADMIN, qid, "模板.xlsx", buf.getvalue())
    assert done.new == 2 and done.warnings == ()
    with seeded.connect() as conn:
        kinds = {r.external_id: (r.respondent_kind, r.unit) for r in survey.list_responses(conn, ADMIN, qid)}
        report = survey.report(conn, ADMIN, qid, by="street")
    assert kinds == {"p1": (survey.RespondentKind.resident, None), "p2": (survey.RespondentKind.staff, "县教育局")}
    assert report["overall"]["valid"] == 2 and report["overall"]["awareness_rate"] == 0.5
    assert [g["name"] for g in report["groups"]] == ["城关街道", "东城街道", "河口镇"]
    assert report["definitions"][0]["term"] == "知晓率、支持率、参与率"


# --- the command line ------------------------------------------------------------------------------------------------


def test_cli_imports_answers_and_reports_rates(sqlite_url, tmp_path, capsys):
    import json

    from civeval import cli
    from civeval.store import open_engine

    engine = open_engine(sqlite_url)
    with audit.writing(engine, SYSTEM) as conn:
        repo.save_units(conn, [*seed.UNITS, *EXTRA_UNITS])
        repo.save_index(conn, seed.index())
    make_questionnaire(engine, name="十月问卷")
    survey.set_population(engine, ADMIN, "城关街道", 10)
    engine.dispose()
    good, bad = tmp_path / "问卷星.csv", tmp_path / "坏.csv"
    good.write_bytes(csv_bytes(WJX_HEADER, WJX_ROWS))
    rows = [list(r) for r in WJX_ROWS]
    rows[0][5] = "城关街"
    bad.write_bytes(csv_bytes(WJX_HEADER, rows))

    with pytest.raises(SystemExit) as exit_:
        cli.main(["--db", sqlite_url, "survey", "import", "--questionnaire", "十月问卷", str(bad)])
    out = capsys.readouterr()
    assert exit_.value.code == 1 and "未导入任何内容" in out.err
    assert out.out.splitlines() == ["坏.csv:R2:C6: 街道（镇）“城关街”不在单位名录中，是不是“城关街道”？"]

    assert cli.main(["--db", sqlite_url, "survey", "import", "--questionnaire", "十月问卷", str(good)]) == 0
    out = capsys.readouterr().out
    assert "  1、您所在的街道（镇）： → 所在街道（镇）" in out
    assert out.strip().endswith("已导入 4 份答卷，其中无效 1 份（文件 问卷星.csv，列对应已保存到问卷）")

    assert cli.main(["--db", sqlite_url, "survey", "rates", "--questionnaire", "十月问卷", "--by", "street"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == "问卷：十月问卷"
    assert lines[2].startswith("城关街道\t有效 2 份（无效 0）\t知晓率 100.0%") and lines[2].endswith(
        "配额 6，覆盖率 33.3%"
    )

    assert cli.main(["--db", sqlite_url, "survey", "rates", "--questionnaire", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["overall"]["valid"] == 3 and report["overall"]["support_rate"] == 2 / 3 and "groups" not in report
    assert cli.main(["--db", sqlite_url, "survey", "rates", "--questionnaire", "九月问卷"]) == 1
    assert "找不到问卷“九月问卷”" in capsys.readouterr().err
