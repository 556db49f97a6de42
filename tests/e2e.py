"""Helpers for browser tests: a real `streamlit run app.py` server and a Playwright Chromium driving it.

    with streamlit_server(db_url) as base_url, browser_page(chromium_path) as page:
        open_page(page, base_url, "index_browser")
        ...

Chromium is the system one (conftest's ``chromium_path``); Playwright never downloads a browser here.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "test-artifacts"
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
TABLET_LANDSCAPE = {"width": 1024, "height": 768}
TABLET_PORTRAIT = {"width": 768, "height": 1024}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(f"{base_url}/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"streamlit did not answer at {base_url} within {timeout}s")


@contextlib.contextmanager
def streamlit_server(db_url: str, *, env: dict[str, str] | None = None, log: Path | None = None) -> Iterator[str]:
    """Serve app.py on a free port against ``db_url``; yields the base URL; stops the server afterwards."""
    port = free_port()
    inherited = {k: v for k, v in os.environ.items() if k != "CIVEVAL_TILE_URL"}  # offline map unless asked
    full_env = {**inherited, "CIVEVAL_DATABASE_URL": db_url, **(env or {})}
    ARTIFACTS.mkdir(exist_ok=True)
    out = open(log or ARTIFACTS / f"streamlit-{port}.log", "wb")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            "app.py",
            "--server.headless",
            "true",
            "--server.port",
            str(port),
            "--server.address",
            "127.0.0.1",
            "--browser.gatherUsageStats",
            "false",
            "--server.fileWatcherType",
            "none",
        ],
        cwd=ROOT,
        env=full_env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(base_url, proc)
        yield base_url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        out.close()


@contextlib.contextmanager
def chromium(chromium_path: str) -> Iterator:
    """The system Chromium, headless, through Playwright (one per thread: Playwright's sync API allows one)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def new_page(browser, viewport: dict[str, int] = TABLET_LANDSCAPE, **context_args):
    """A page in a fresh context (own cookies, own Streamlit session), zh-CN, with the given viewport."""
    context = browser.new_context(viewport=viewport, locale="zh-CN", **context_args)
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page


@contextlib.contextmanager
def browser_page(chromium_path: str, viewport: dict[str, int] = TABLET_LANDSCAPE, **context_args) -> Iterator:
    """One page in the system Chromium: for a test or script that needs a single page."""
    with chromium(chromium_path) as browser:
        yield new_page(browser, viewport, **context_args)


def wait_idle(page, timeout: float = 30_000) -> None:
    """Wait until the app has finished running its script (and a moment for the frontend to paint)."""
    page.wait_for_selector(IDLE, timeout=timeout)
    page.wait_for_timeout(300)
    page.wait_for_selector(IDLE, timeout=timeout)


def open_page(page, base_url: str, url_path: str = "") -> None:
    """Open one page of the app (``url_path`` as st.navigation names it, e.g. "index_browser") and wait for it."""
    page.goto(f"{base_url}/{url_path}")
    page.wait_for_selector('[data-testid="stApp"]')
    wait_idle(page)


def login(page, base_url: str, username: str, password: str) -> None:
    """Sign in through the login page as a person would; the session cookie then carries over page loads."""
    open_page(page, base_url)
    page.locator(".st-key-login_username input").fill(username)
    page.locator(".st-key-login_password input").fill(password)
    page.locator('[data-testid="stFormSubmitButton"] button').click()
    wait_idle(page)
    page.wait_for_selector('[data-testid="stSidebarNav"]', state="attached")  # hidden when collapsed


def horizontal_overflow(page) -> int:
    """How many CSS pixels the document is wider than the window (0: no horizontal scrolling)."""
    return page.evaluate("document.documentElement.scrollWidth - window.innerWidth")


def screenshot(page, name: str, *, full_page: bool = True) -> Path:
    """Save test-artifacts/<name>.png. Streamlit scrolls inside its main pane, not the document, so for a full
    page the viewport is stretched to the pane's height for the shot (then restored)."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    size = page.viewport_size
    if full_page and size:
        height = page.evaluate(
            "Math.max(...Array.from(document.querySelectorAll('[data-testid=stMain], [data-testid=stSidebarContent]'))"
            ".map(e => e.scrollHeight), window.innerHeight)"
        )
        page.set_viewport_size({"width": size["width"], "height": min(int(height), 6000)})
        page.wait_for_timeout(300)
    try:
        page.screenshot(path=str(path))
    finally:
        if full_page and size:
            page.set_viewport_size(size)
    return path
