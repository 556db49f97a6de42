"""In Chromium against a real `streamlit run` server: one finding handed to 县城市管理局 goes round the loop.

At 1024×768 the unit liaison "liai" opens 我的整改, types the measures, uploads an after-photo through the real
``input[type=file]`` and submits; then the inspector "insp", in a new browser context, opens 复查销号, sees the before
and after photos side by side and taps 通过（销号）; the finding is closed in the database. A leader reads 问题清单 on a
390 px phone and the office on a portrait tablet, with nothing overflowing. Screenshots go to test-artifacts/."""

from __future__ import annotations

import io

import pytest
from PIL import Image, ImageDraw

from civeval import auth, findings
from civeval.findings import NewFinding
from civeval.models import FindingSource, FindingStatus, Severity
from civeval.store import open_engine
from tests import e2e, seed

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def photo(color: tuple[int, int, int]) -> bytes:
    img = Image.new("RGB", (640, 480), color)
    ImageDraw.Draw(img).rectangle((200, 150, 440, 330), outline=(255, 255, 255), width=12)
    buf = io.BytesIO()
    img.save(buf, "JPEG")
    return buf.getvalue()


def actor(engine, username: str):
    with engine.connect() as conn:
        return auth.load_actor(conn, auth.get_user(conn, username).id)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A seeded city with one finding for 县城市管理局 (with a before-photo), the one the loop closes, and one for
    县教育局 that stays open (for the list)."""
    folder = tmp_path_factory.mktemp("findings")
    url = seed.seeded_url(folder / "civeval.db")
    photo_dir = str(folder / "photos")
    engine = open_engine(url)
    admin = actor(engine, "tester")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CIVEVAL_PHOTO_DIR", photo_dir)  # the before-photo goes where the server reads photos
        fix = findings.create_finding(
            engine,
            admin,
            NewFinding(
                source=FindingSource.patrol,
                description="人行道乱堆建筑垃圾，占道约10米",
                point_code="P004",
                unit="县城市管理局",
                severity=Severity.normal,
            ),
            photos_data=[(photo((150, 90, 40)), "整改前.jpg")],
        )
        other = findings.create_finding(
            engine,
            admin,
            NewFinding(
                source=FindingSource.hotline,
                description="校门口流动摊贩占道经营",
                point_code="P005",
                unit="县教育局",
                severity=Severity.urgent,
            ),
        )
    with e2e.streamlit_server(url, env={"CIVEVAL_PHOTO_DIR": photo_dir}) as base:
        yield base, engine, fix, other
    engine.dispose()


@pytest.fixture(scope="module")
def browser(chromium_path):
    with e2e.chromium(chromium_path) as b:
        yield b


def status(engine, code: str) -> FindingStatus:
    with engine.connect() as conn:
        return findings.get_finding(conn, actor(engine, "tester"), code).status


def test_the_unit_fixes_and_the_inspector_closes(world, browser):
    base, engine, code, _ = world

    # --- the unit liaison submits the fix --------------------------------------------------------------------------
    page = e2e.new_page(browser, e2e.TABLET_LANDSCAPE)
    e2e.login(page, base, "liai", seed.PASSWORD)
    e2e.open_page(page, base, "my_findings")
    card = page.locator(f".st-key-mf_card_{code}")
    card.wait_for()
    assert card.get_by_text("人行道乱堆建筑垃圾").is_visible()
    assert card.locator("img").count() == 1  # the before-photo
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "findings-my-1024x768")

    page.locator(f".st-key-mf_submit_{code} summary").click()
    form = f"mf_submit_{code}_0"
    page.locator(f".st-key-{form}_reason textarea").fill("已清运建筑垃圾，恢复人行道通行，并设置提示牌")
    page.locator(f".st-key-{form}_photos input[type=file]").set_input_files(
        files=[{"name": "整改后.jpg", "mimeType": "image/jpeg", "buffer": photo((40, 140, 70))}]
    )
    page.locator(f".st-key-{form}_photos").get_by_text("整改后.jpg").wait_for()
    e2e.screenshot(page, "findings-my-form-1024x768")
    page.locator(f".st-key-{form}_go button").click()
    e2e.wait_idle(page)
    page.get_by_text(f"问题 {code}：已提交整改，等待复查。").first.wait_for()
    assert status(engine, code) is FindingStatus.submitted
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "findings-my-submitted-1024x768")
    page.context.close()

    # --- the inspector re-inspects and closes it -------------------------------------------------------------------
    page = e2e.new_page(browser, e2e.TABLET_LANDSCAPE)
    e2e.login(page, base, "insp", seed.PASSWORD)
    e2e.open_page(page, base, "reinspection")
    before = page.locator(f".st-key-rq_photos_{code}_before img")
    after = page.locator(f".st-key-rq_photos_{code}_after img")
    before.wait_for()
    after.wait_for()
    b, a = before.bounding_box(), after.bounding_box()
    assert abs(b["y"] - a["y"]) < 5 and a["x"] >= b["x"] + b["width"]  # side by side, before on the left
    assert b["width"] > 250 and a["width"] > 250  # big enough to judge on a tablet
    assert page.get_by_text("已清运建筑垃圾").first.is_visible()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, "findings-reinspection-1024x768")
    heights = page.locator(f".st-key-rq_{code}_0_pass button, .st-key-rq_{code}_0_fail button").evaluate_all(
        "els => els.map(e => e.getBoundingClientRect().height)"
    )
    assert len(heights) == 2 and min(heights) >= 48, heights

    page.locator(f".st-key-rq_{code}_0_pass button").click()
    e2e.wait_idle(page)
    page.get_by_text(f"问题 {code}：复查通过，已销号。").first.wait_for()
    assert status(engine, code) is FindingStatus.closed
    e2e.screenshot(page, "findings-reinspection-closed-1024x768")
    page.context.close()


@pytest.mark.parametrize(
    ("user", "size", "viewport"),
    [("boss", "390x844", PHONE), ("tester", "768x1024", e2e.TABLET_PORTRAIT)],
)
def test_the_list_on_a_phone_and_a_portrait_tablet(world, browser, user, size, viewport):
    base, _engine, _, code = world
    page = e2e.new_page(browser, viewport)
    e2e.login(page, base, user, seed.PASSWORD)
    e2e.open_page(page, base, "findings_list")
    page.locator(".st-key-fl_counts").wait_for()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, f"findings-list-{size}")
    if user == "tester":  # a tap on the table's row opens the finding
        grid = page.locator(".st-key-fl_table")
        grid.scroll_into_view_if_needed()
        page.wait_for_timeout(500)
        box = grid.bounding_box()
        page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)  # the first row's check box (rows are 35 px)
    else:  # or the finding is chosen in the list below the table
        pick = page.locator(".st-key-fl_pick input")
        pick.scroll_into_view_if_needed()
        page.wait_for_timeout(500)  # the screenshot resized the window: a list opened while it scrolls closes again
        pick.click()
        pick.press_sequentially(code)
        page.get_by_role("option").filter(has_text=code).click()
    e2e.wait_idle(page)
    page.locator(".st-key-fl_detail").wait_for()
    assert page.locator(".st-key-fl_detail").get_by_text(code).first.is_visible()
    assert e2e.horizontal_overflow(page) == 0
    e2e.screenshot(page, f"findings-detail-{size}")
    if user == "tester":  # the office also reports by hand
        page.locator(".st-key-fl_report summary").click()
        page.locator(".st-key-fr_point_search_0 input").fill("P003")
        page.locator(".st-key-fr_point_search_0 input").press("Enter")
        e2e.wait_idle(page)
        assert e2e.horizontal_overflow(page) == 0
        e2e.screenshot(page, f"findings-report-{size}")
    page.context.close()
