"""In Chromium on a portrait tablet (768×1024): a street coordinator enters a paper questionnaire through the
纸质问卷录入 page — picks the street and community, taps an answer for every question, types the free
answer, saves — and sees the confirmation with the running count; the questionnaire is in the database; the answers
clear for the next sheet while the street stays; nothing overflows and every answer button is at least 48 px tall.
Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from civeval import audit, auth, survey
from civeval.models import Actor
from civeval.store import open_engine, repo
from tests import e2e, seed
from tests.test_survey import EXTRA_UNITS, QUESTIONS, WJX_HEADER, WJX_ROWS, csv_bytes

PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser

ANSWERS = {"A1": "知道", "S1": "支持", "P1": "没有参与过", "M1": "基本满意"}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    url = seed.seeded_url(tmp_path_factory.mktemp("survey") / "civeval.db")
    engine = open_engine(url)
    with audit.writing(engine, Actor.system("测试数据")) as conn:
        repo.save_units(conn, EXTRA_UNITS)
    with engine.connect() as conn:
        office = auth.load_actor(conn, auth.get_user(conn, "tester").id)
    spec = survey.QuestionnaireSpec(name="十一月入户问卷", index_id=seed.index_id(engine), questions=QUESTIONS)
    qid = survey.save_questionnaire(engine, office, spec)
    with e2e.streamlit_server(url) as base:
        yield base, engine, qid, office
    engine.dispose()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with e2e.chromium(chromium_path) as b:
        yield b


def pick(page, key: str, option: str) -> None:
    box = page.locator(f".st-key-{key} input")
    box.wait_for()
    box.scroll_into_view_if_needed()
    box.click()
    page.get_by_role("option", name=option, exact=True).click()
    e2e.wait_idle(page)


def tap(page, key: str, label: str) -> None:
    button = page.locator(f".st-key-{key}").get_by_role("radio", name=label, exact=True)
    button.scroll_into_view_if_needed()
    button.click()
    e2e.wait_idle(page)


def test_a_coordinator_enters_a_paper_questionnaire_on_a_portrait_tablet(world, browser):
    base, engine, qid, office = world
    page = e2e.new_page(browser, e2e.TABLET_PORTRAIT)
    e2e.login(page, base, "coord", seed.PASSWORD)
    e2e.open_page(page, base, "survey_entry")
    page.locator(f".st-key-se_0_{qid}_A1 [role='radio']").first.wait_for()
    page.locator(".st-key-se_save button").wait_for()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "survey-entry-empty-768x1024")

    pick(page, "se_street", "城关街道")
    pick(page, "se_comm", "和平社区")
    heights = page.locator('[data-testid="stButtonGroup"] [role="radio"]').evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 48, heights
    for code, label in ANSWERS.items():
        tap(page, f"se_0_{qid}_{code}", label)
    free = page.locator(f".st-key-se_0_{qid}_F1 input")
    free.fill("希望多开展志愿服务")
    free.press("Enter")
    e2e.wait_idle(page)
    page.get_by_text("已答 5/5 题").wait_for()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "survey-entry-filled-768x1024")

    page.locator(".st-key-se_save button").click()
    e2e.wait_idle(page)
    page.get_by_text("已保存第 1 份问卷（答了 5/5 题）").first.wait_for()
    assert page.get_by_text("本问卷您已录入 1 份。").is_visible()
    with engine.connect() as conn:
        (row,) = survey.list_responses(conn, office, qid)
        rates = survey.survey_rates(conn, office, qid)[0]
    assert (row.source, row.street, row.community, row.entered_by, row.answered, row.valid) == (
        "paper",
        "城关街道",
        "和平社区",
        "coord",
        5,
        True,
    )
    assert (rates.awareness.value, rates.participation.value, rates.satisfaction) == (1.0, 0.0, 60)

    e2e.screenshot(page, "survey-entry-saved-768x1024")
    # ready for the next sheet: no answer chosen, the street and community kept
    assert page.locator(f".st-key-se_1_{qid}_A1 [role='radio'][aria-checked='true']").count() == 0
    assert page.locator(".st-key-se_street input").input_value() == "城关街道"
    assert page.locator(".st-key-se_comm input").input_value() == "和平社区"
    page.get_by_text("已答 0/5 题").wait_for()
    assert e2e.horizontal_overflow(page) == 0
    page.context.close()


def test_the_board_reads_on_a_phone(world, browser):
    base, engine, qid, office = world
    survey.import_answers(engine, office, qid, "问卷星.csv", csv_bytes(WJX_HEADER, WJX_ROWS))
    survey.set_population(engine, office, "城关街道", 10)
    survey.set_population(engine, office, "东城街道", 5)
    page = e2e.new_page(browser, PHONE)
    e2e.login(page, base, "boss", seed.PASSWORD)
    e2e.open_page(page, base, "survey_board")
    page.get_by_text("未达配额（2 个）").wait_for()
    page.locator("canvas, svg.marks").first.wait_for()  # the coverage chart, drawn
    assert page.get_by_text("知晓率").first.is_visible()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "survey-board-390x844")
    page.context.close()
