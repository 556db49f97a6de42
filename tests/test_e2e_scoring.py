"""In Chromium, on tablets (1024×768 landscape and 768×1024 portrait): the inspector opens the task list, opens a point,
answers one standard pass and one fail, types a note, uploads a photo through the real file input, reloads the page
and finds every answer, the note and the photo still there (and in the database); nothing overflows; touch targets are
at least 48 px tall. Screenshots go to test-artifacts/."""

from __future__ import annotations

import pytest

from civeval import auth, rounds
from civeval.models import Result
from civeval.store import open_engine
from tests import e2e, seed
from tests.test_pages_scoring import jpeg, make_round

pytestmark = pytest.mark.browser

VIEWPORTS = {
    "1024x768": (e2e.TABLET_LANDSCAPE, "P001"),
    "768x1024": (e2e.TABLET_PORTRAIT, "P002"),
}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scoring")
    url = seed.seeded_url(folder / "civeval.db")
    engine = open_engine(url)
    rid = make_round(engine)
    with e2e.streamlit_server(url, env={"CIVEVAL_PHOTO_DIR": str(folder / "photos")}) as base:
        yield base, engine, rid
    engine.dispose()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with e2e.chromium(chromium_path) as b:
        yield b


def stored(engine, rid: int, point: str) -> dict[str, rounds.StandardAnswer]:
    with engine.connect() as conn:
        insp = auth.load_actor(conn, auth.get_user(conn, "insp").id)
        return {a.standard.code: a for a in rounds.point_sheet(conn, insp, rid, point).answers}


def block(page, rid: int, point: str, code: str, what: str):
    return page.locator(f".st-key-sc_{rid}_{point}_{code}_{what}")


def choose(page, rid: int, point: str, code: str, what: str, label: str) -> None:
    block(page, rid, point, code, what).get_by_role("radio", name=label, exact=True).click()
    e2e.wait_idle(page)


def checked(page, rid: int, point: str, code: str, what: str) -> list[str]:
    return block(page, rid, point, code, what).locator('[role="radio"][aria-checked="true"]').all_inner_texts()


@pytest.mark.parametrize("size", list(VIEWPORTS))
def test_score_a_point_then_reload_and_find_everything(world, browser, size):
    base, engine, rid = world
    viewport, point = VIEWPORTS[size]
    page = e2e.new_page(browser, viewport)
    e2e.login(page, base, "insp", seed.PASSWORD)

    e2e.open_page(page, base, "tasks")
    assert page.get_by_text("下一个未完成点位").first.is_visible()
    assert page.locator(f".st-key-task_{rid}_{point}").get_by_text("0/2 已答").is_visible()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, f"scoring-tasks-{size}")

    page.locator(f".st-key-tasks_open_{rid}_{point} button").click()
    e2e.wait_idle(page)
    page.wait_for_selector(f".st-key-sc_{rid}_{point}_III-1-2_result [role=radio]")
    assert f"round={rid}" in page.url and f"point={point}" in page.url
    assert page.get_by_text("操作提示：").first.is_visible()

    # large touch targets: every answer button at least 48 px tall
    heights = page.locator('[data-testid="stButtonGroup"] [role="radio"]').evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert heights and min(heights) >= 48, heights

    choose(page, rid, point, "III-1-2", "result", "符合")  # pass
    assert stored(engine, rid, point)["III-1-2"].answer.result is Result.passed  # stored by that tap
    choose(page, rid, point, "III-1-1", "count", "2")  # 2 problems: fail
    answer = stored(engine, rid, point)["III-1-1"].answer
    assert (answer.result, answer.instances) == (Result.failed, 2)
    block(page, rid, point, "III-1-1", "block").get_by_text("已保存").wait_for()

    note = block(page, rid, point, "III-1-1", "note").locator("input")
    note.fill("东侧摊区两处垃圾堆积")
    note.press("Enter")
    e2e.wait_idle(page)
    page.locator(f'[class*="st-key-sc_{rid}_{point}_III-1-1_upload_"] input[type="file"]').set_input_files(
        files=[{"name": "问题照片.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}]
    )
    page.wait_for_selector(f".st-key-sc_{rid}_{point}_III-1-1_photos img")
    e2e.wait_idle(page)
    page.get_by_text("已答 2/2").wait_for()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, f"scoring-point-{size}")

    now = stored(engine, rid, point)
    assert now["III-1-1"].answer.note == "东侧摊区两处垃圾堆积" and len(now["III-1-1"].photo_ids) == 1

    page.reload()
    e2e.wait_idle(page)
    page.wait_for_selector(f".st-key-sc_{rid}_{point}_III-1-1_photos img")
    assert checked(page, rid, point, "III-1-2", "result") == ["符合"]
    assert checked(page, rid, point, "III-1-1", "count") == ["2"]
    assert block(page, rid, point, "III-1-1", "note").locator("input").input_value() == "东侧摊区两处垃圾堆积"
    assert page.locator(f".st-key-sc_{rid}_{point}_III-1-1_photos img").count() == 1
    assert page.get_by_text("已答 2/2").is_visible()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, f"scoring-reloaded-{size}")
    page.context.close()
