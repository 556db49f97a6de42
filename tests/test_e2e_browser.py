"""The real app in a real browser: `streamlit run app.py` against a seeded SQLite file, driven by Chromium.

Screenshots go to test-artifacts/ (git-ignored). Under CI=true a missing Chromium fails (conftest).
"""

from __future__ import annotations

import base64
import http.server
import threading
from typing import ClassVar

import pytest

from tests import e2e, seed

pytestmark = pytest.mark.browser

PAGES = ["", "index_browser", "points", "units"]  # "" is the home page


@pytest.fixture(scope="module")
def base_url(tmp_path_factory):
    url = seed.seeded_url(tmp_path_factory.mktemp("e2e") / "civeval.db")
    with e2e.streamlit_server(url) as base:
        yield base


@pytest.fixture(scope="module")
def browser(chromium_path):
    with e2e.chromium(chromium_path) as b:
        yield b


@pytest.fixture(scope="module")
def landscape(browser, base_url):
    page = e2e.new_page(browser, e2e.TABLET_LANDSCAPE)
    e2e.login(page, base_url, "tester", seed.PASSWORD)
    return page


@pytest.fixture(scope="module")
def portrait(browser, base_url):
    page = e2e.new_page(browser, e2e.TABLET_PORTRAIT)
    e2e.login(page, base_url, "tester", seed.PASSWORD)
    return page


def _track_requests(page) -> list[str]:
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    return urls


def test_search_finds_a_standard(base_url, landscape):
    page = landscape
    e2e.open_page(page, base_url, "index_browser")
    box = page.locator(".st-key-index_search input")
    box.fill("ｗｉｆｉ")  # full-width, lower case: still finds "ＷｉＦｉ"
    box.press("Enter")
    e2e.wait_idle(page)
    page.get_by_text("符合条件的测评标准 1 条").wait_for()
    assert page.get_by_text(seed.WIFI_TEXT).first.is_visible()
    assert page.get_by_text("县卫生健康委员会").first.is_visible()  # its lead unit, in the opened details
    assert e2e.horizontal_overflow(page) <= 0
    e2e.screenshot(page, "index_browser-search-1024x768")


def test_unit_view_lists_what_a_unit_answers_for(base_url, landscape):
    page = landscape
    e2e.open_page(page, base_url, "index_browser")
    page.get_by_role("tab", name="按单位查看").click()
    page.locator(".st-key-index_unit_view").click()
    page.get_by_role("option", name="县城市管理局").click()
    e2e.wait_idle(page)
    page.get_by_text("县城市管理局牵头的测评标准").wait_for()
    assert e2e.horizontal_overflow(page) <= 0
    e2e.screenshot(page, "index_browser-unit-1024x768")


def test_map_draws_offline(base_url, landscape):
    page = landscape
    requests = _track_requests(page)
    e2e.open_page(page, base_url, "points")
    page.get_by_role("tab", name="地图").click()
    e2e.wait_idle(page)
    chart = page.locator(".st-key-points_map")
    chart.locator("canvas, svg").first.wait_for()
    page.get_by_text("地图上 6 个点位").wait_for()  # 7 active points, one without coordinates
    outside = [u for u in requests if not u.startswith((base_url, "data:", "blob:"))]
    assert outside == [], f"the page fetched from outside: {outside}"
    assert e2e.horizontal_overflow(page) <= 0
    e2e.screenshot(page, "points-map-1024x768")


@pytest.mark.parametrize("size", ["landscape", "portrait"])
@pytest.mark.parametrize("path", PAGES)
def test_pages_fit_a_tablet(base_url, path, size, request):
    page = request.getfixturevalue(size)
    e2e.open_page(page, base_url, path)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert e2e.horizontal_overflow(page) <= 0
    vp = page.viewport_size
    e2e.screenshot(page, f"{path or 'home'}-{vp['width']}x{vp['height']}")


class _Tiles(http.server.BaseHTTPRequestHandler):
    """An intranet tile server stand-in: a plain 1×1 PNG for every tile, counting requests."""

    PNG = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8/5+hHgAHggJ/PchI7wAAAABJRU5ErkJggg=="
    )
    hits: ClassVar[list[str]] = []

    def do_GET(self):
        _Tiles.hits.append(self.path)
        self.send_response(200)
        self.send_header("Content-Type", "image/png")
        self.send_header("Access-Control-Allow-Origin", "*")
        self.end_headers()
        self.wfile.write(self.PNG)

    def log_message(self, *args):
        pass


def test_tile_map_uses_only_the_intranet_server(tmp_path, browser):
    _Tiles.hits.clear()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Tiles)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    tiles = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        url = seed.seeded_url(tmp_path / "civeval.db")
        with e2e.streamlit_server(url, env={"CIVEVAL_TILE_URL": tiles + "/{z}/{x}/{y}.png"}) as base:
            page = e2e.new_page(browser)
            requests = _track_requests(page)
            e2e.login(page, base, "tester", seed.PASSWORD)
            e2e.open_page(page, base, "points")
            page.get_by_role("tab", name="地图").click()
            e2e.wait_idle(page)
            page.get_by_text("内网底图").click()
            e2e.wait_idle(page)
            page.wait_for_function("() => document.querySelector('canvas') !== null")
            for _ in range(50):
                if _Tiles.hits:
                    break
                page.wait_for_timeout(200)
            assert _Tiles.hits, "no tile was fetched from CIVEVAL_TILE_URL"
            outside = [u for u in requests if not u.startswith((base, tiles, "data:", "blob:"))]
            assert outside == [], f"the page fetched from elsewhere: {outside}"
            e2e.screenshot(page, "points-tile-map-1024x768")
            page.context.close()
    finally:
        server.shutdown()
