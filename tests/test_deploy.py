"""The intranet deployment of docs/deploy.md, for real: a throwaway PostgreSQL, two `streamlit run app.py` processes
on it, and nginx in front of them, all on loopback.

nginx runs deploy/nginx.conf.example itself: only the listen ports, the upstream "server" lines (the two processes),
the certificate paths and the log folder are replaced; a minimal nginx.conf around it stands for Debian's (which
includes conf.d/*.conf inside ``http``). Both processes read deploy/config.toml.example as the service account's
~/.streamlit/config.toml (HOME points at a temporary folder, as civeval@.service sets HOME=/var/lib/civeval), with
only the cookieSecret placeholder replaced by a secret both share.

TLS is real: openssl makes a self-signed certificate for the template's host name (and 127.0.0.1). Python checks
nginx's certificate against it; Chromium resolves the host name to 127.0.0.1 (--host-resolver-rules) and ignores
the certificate error (a self-signed certificate has no trusted issuer), and the page must still be a secure
context, as a tablet's camera needs.

Sticky sessions: nginx hashes its civeval_route cookie. The test sends a few requests with different cookie values,
reads from nginx's access log (its format names the upstream) which process each value reaches, and gives browser A
a value that reaches process A and browser B one that reaches process B.

It proves: (a) an inspector signs in and saves an answer in browser A, served by process A; (b) another answer is
saved in browser B, served by process B; (c) each answer shows on the scoring page opened through the other process,
both are in the observations table, and a browser moved to the other process resumes its login from the cookie
(the session token is in the database) and sees both; (d) through nginx: /_stcore/health answers over verified TLS,
plain HTTP redirects to HTTPS, the login page renders (so the websocket through nginx works), and the access log
shows each browser's websocket upgraded (101) to the process its cookie names.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from email.message import Message
from pathlib import Path

import pytest
import sqlalchemy as sa

from civeval.store import open_engine
from civeval.store import schema as t
from tests import e2e, seed
from tests.conftest import skip_or_fail
from tests.test_pages_scoring import make_round

pytestmark = [pytest.mark.browser, pytest.mark.postgres]

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
NGINX_TEMPLATE = DEPLOY / "nginx.conf.example"
CONFIG_TEMPLATE = DEPLOY / "config.toml.example"
ROUTE_COOKIE = "civeval_route"


def tool(name: str, *extra: str) -> str | None:
    for candidate in (shutil.which(name), *extra):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    return None


def host_name() -> str:
    match = re.search(r"^\s*server_name\s+(\S+);", NGINX_TEMPLATE.read_text(encoding="utf-8"), re.M)
    assert match, "deploy/nginx.conf.example names no server_name"
    return match.group(1)


# --- rendering the deploy/ files with the test's ports and paths ---------------------------------------------


def _replace(pattern: str, repl: str, text: str) -> str:
    new, n = re.subn(pattern, repl, text, flags=re.M)
    assert n, f"a deploy/ template no longer has {pattern!r}: update deploy/, docs/deploy.md and this test together"
    return new


def render_site(*, http_port: int, https_port: int, upstreams: list[int], cert: Path, key: Path, logs: Path) -> str:
    """deploy/nginx.conf.example with the test's ports, certificate and log folder; everything else as written."""
    text = NGINX_TEMPLATE.read_text(encoding="utf-8")
    text = _replace(r"^(\s*)listen 80;$", rf"\g<1>listen 127.0.0.1:{http_port};", text)
    text = _replace(r"^(\s*)listen 443 ssl;$", rf"\g<1>listen 127.0.0.1:{https_port} ssl;", text)
    servers = re.compile(r"^(\s*)server 127\.0\.0\.1:\d+([^;\n]*);\n", re.M)
    found = list(servers.finditer(text))
    assert found, "deploy/nginx.conf.example lists no upstream server 127.0.0.1:PORT"
    indent, params = found[0].group(1), found[0].group(2)
    ours = "".join(f"{indent}server 127.0.0.1:{port}{params};\n" for port in upstreams)
    text = text[: found[0].start()] + ours + servers.sub("", text[found[0].end() :])
    text = _replace(r"/etc/civeval/tls/civeval\.crt", str(cert), text)
    text = _replace(r"/etc/civeval/tls/civeval\.key", str(key), text)
    text = _replace(r"/var/log/nginx/", f"{logs}/", text)
    directives = "\n".join(line.split("#", 1)[0] for line in text.splitlines())
    assert "/etc/" not in directives and "/var/" not in directives, directives
    return text


def nginx_main_conf(prefix: Path, site: Path) -> str:
    """What Debian's /etc/nginx/nginx.conf provides around conf.d/civeval.conf, in a temporary folder."""
    temp = prefix / "temp"
    temp.mkdir(exist_ok=True)
    temp.chmod(0o755)
    return f"""daemon off;
worker_processes 1;
pid {prefix}/nginx.pid;
error_log {prefix}/error.log warn;
events {{ worker_connections 512; }}
http {{
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    include {site};
}}
"""


def render_streamlit_config(cookie_secret: str) -> str:
    text = CONFIG_TEMPLATE.read_text(encoding="utf-8")
    return _replace(r'^cookieSecret = ".*"$', f'cookieSecret = "{cookie_secret}"', text)


def make_certificate(folder: Path, host: str, openssl: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``host`` and 127.0.0.1: docs/deploy.md section 8 shows the same command."""
    cert, key = folder / "civeval.crt", folder / "civeval.key"
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-sha256",
            "-days",
            "2",
            "-subj",
            f"/CN={host}",
            "-addext",
            f"subjectAltName=DNS:{host},IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


# --- nginx -----------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def nginx_server(nginx: str, prefix: Path, conf: Path, https_port: int) -> Iterator[subprocess.Popen]:
    """``nginx -t`` on the configuration, then nginx in the foreground until the block ends."""
    cmd = [nginx, "-p", f"{prefix}/", "-c", str(conf), "-e", str(prefix / "error.log")]
    check = subprocess.run([*cmd, "-t"], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr
    with open(prefix / "stderr.log", "wb") as stderr:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        deadline = time.monotonic() + 15
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"nginx exited with {proc.returncode}: {(prefix / 'error.log').read_text()}")
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", https_port), 1):
                break
            if time.monotonic() > deadline:
                raise TimeoutError("nginx did not listen")
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


LOG_LINE = re.compile(
    r'"(?P<method>\S+) (?P<path>\S+) [^"]*" (?P<status>\d{3}) .*upstream=(?P<up>\S+) route=(?P<route>\S+)'
)


def access_log(path: Path) -> list[dict[str, str]]:
    if not path.exists():
        return []
    return [m.groupdict() for m in map(LOG_LINE.search, path.read_text(encoding="utf-8").splitlines()) if m]


def wait_for_log(path: Path, predicate, timeout: float = 10) -> list[dict[str, str]]:
    """nginx logs a request when it ends (a websocket when it closes): wait until the log satisfies ``predicate``."""
    deadline = time.monotonic() + timeout
    while True:
        lines = access_log(path)
        if predicate(lines) or time.monotonic() > deadline:
            return lines
        time.sleep(0.2)


def fetch(url: str, ctx: ssl.SSLContext, host: str, cookie: str | None = None) -> tuple[int, str, Message]:
    """GET without following redirects; the Host header is the intranet name, as a browser would send it."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx), NoRedirect)
    headers = {"Host": host}
    if cookie:
        headers["Cookie"] = cookie
    try:
        with opener.open(urllib.request.Request(url, headers=headers), timeout=10) as r:
            return r.status, r.read().decode("utf-8", "replace"), r.headers
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode("utf-8", "replace"), e.headers


def routes_by_process(base: str, ctx, host: str, log: Path, upstreams: list[str], want: int = 2) -> dict:
    """For each process, ``want`` cookie values that nginx sends to it: found by asking with one value after another
    and reading in the access log where each went."""
    found: dict[str, list[str]] = {up: [] for up in upstreams}
    for i in range(40):
        route = f"probe-{i}"
        status, body, _ = fetch(f"{base}/_stcore/health", ctx, host, f"{ROUTE_COOKIE}={route}")
        assert (status, body) == (200, "ok")
        lines = wait_for_log(log, lambda ls, route=route: any(ln["route"] == route for ln in ls))
        found[next(ln["up"] for ln in lines if ln["route"] == route)].append(route)
        if all(len(routes) >= want for routes in found.values()):
            break
    return found


# --- the scoring page --------------------------------------------------------------------------------------------


def block(page, rid: int, point: str, code: str, what: str):
    return page.locator(f".st-key-sc_{rid}_{point}_{code}_{what}")


def open_page(page, base: str, url_path: str, timeout: float = 60_000) -> None:
    """e2e.open_page with room for a busy machine (a page's first run in a process imports its modules)."""
    page.goto(f"{base}/{url_path}")
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    e2e.wait_idle(page, timeout)


def open_point(page, base: str, rid: int, point: str, code: str, what: str) -> None:
    open_page(page, base, f"score_point?round={rid}&point={point}")
    page.wait_for_selector(f".st-key-sc_{rid}_{point}_{code}_{what} [role=radio]")


def answer(page, rid: int, point: str, code: str, what: str, label: str) -> None:
    block(page, rid, point, code, what).get_by_role("radio", name=label, exact=True).click()
    e2e.wait_idle(page)
    block(page, rid, point, code, "block").get_by_text("已保存").wait_for()


def checked(page, rid: int, point: str, code: str, what: str) -> list[str]:
    return block(page, rid, point, code, what).locator('[role="radio"][aria-checked="true"]').all_inner_texts()


def observations(engine) -> set[tuple]:
    o, p, s = t.observations.c, t.points.c, t.standards.c
    q = sa.select(p.code, s.code, o.result, o.instances, o.answered_by).select_from(
        t.observations.join(t.points, o.point_id == p.id).join(t.standards, o.standard_id == s.id)
    )
    with engine.connect() as conn:
        return {tuple(row) for row in conn.execute(q)}


def browser_on(browser, base: str, route: str):
    """A tablet-sized page in its own context whose requests nginx routes by ``route``; it starts loading the app
    at once (a process's first page is slow: both processes then do theirs at the same time)."""
    page = e2e.new_page(browser, ignore_https_errors=True)
    route_to(page, base, route)
    page.goto(base, wait_until="commit")
    return page


def route_to(page, base: str, route: str) -> None:
    page.context.add_cookies([{"name": ROUTE_COOKIE, "value": route, "url": base}])


def sign_in(page, username: str, timeout: float = 90_000) -> None:
    """e2e.login on a page that is already loading the login page. A process's first page and first sign-in
    import most of civeval and open the database: on a busy 2-core machine that alone can take half a minute."""
    page.wait_for_selector(".st-key-login_username input", timeout=timeout)
    e2e.wait_idle(page, timeout)
    page.locator(".st-key-login_username input").fill(username)
    page.locator(".st-key-login_password input").fill(seed.PASSWORD)
    page.locator('[data-testid="stFormSubmitButton"] button').click()
    e2e.wait_idle(page, timeout)
    page.wait_for_selector('[data-testid="stSidebarNav"]', state="attached", timeout=timeout)


@contextlib.contextmanager
def two_processes(db_url: str, env: dict[str, str]) -> Iterator[list[str]]:
    """Two `streamlit run app.py` on ``db_url``, started side by side; yields their base URLs."""
    with contextlib.ExitStack() as stack, ThreadPoolExecutor(2) as pool:
        servers = [e2e.streamlit_server(db_url, env=env) for _ in range(2)]
        futures = [pool.submit(server.__enter__) for server in servers]
        for server, future in zip(servers, futures, strict=True):
            stack.push(server)  # stopped at the end even when the other one failed to start
            future.exception()
        yield [future.result() for future in futures]


# --- the test --------------------------------------------------------------------------------------------------


def test_two_processes_behind_nginx_share_one_postgresql(pg_url, chromium_path, tmp_path):
    started = time.monotonic()

    def lap(what: str) -> None:  # timings, printed (shown with -s, and with a failure's captured output)
        print(f"{time.monotonic() - started:6.1f} s  {what}")

    nginx = tool("nginx", "/usr/sbin/nginx")
    if nginx is None:
        skip_or_fail("nginx not found (apt-get install nginx)")
    openssl = tool("openssl", "/usr/bin/openssl")
    if openssl is None:
        skip_or_fail("openssl not found (apt-get install openssl)")
    host = host_name()

    # The documented settings agree with each other: nginx lets through what Streamlit accepts.
    deploy_cfg = tomllib.loads(CONFIG_TEMPLATE.read_text(encoding="utf-8"))["server"]
    app_cfg = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text(encoding="utf-8"))["server"]
    assert deploy_cfg["maxUploadSize"] == app_cfg["maxUploadSize"]
    assert deploy_cfg["enableXsrfProtection"] is app_cfg["enableXsrfProtection"] is True
    body_mb = int(re.search(r"client_max_body_size (\d+)m;", NGINX_TEMPLATE.read_text(encoding="utf-8")).group(1))
    assert app_cfg["maxUploadSize"] < body_mb <= app_cfg["maxUploadSize"] + 2

    # The service account's home with deploy/config.toml.example, shared by both processes; what Streamlit makes of
    # it together with the program's .streamlit/config.toml is asked in the background.
    home = tmp_path / "home"
    (home / ".streamlit").mkdir(parents=True)
    cookie_secret = secrets.token_hex(32)
    (home / ".streamlit" / "config.toml").write_text(render_streamlit_config(cookie_secret), encoding="utf-8")
    env = {"HOME": str(home), "CIVEVAL_HOME": str(tmp_path / "civeval"), "PYTHONUNBUFFERED": "1"}
    options = ("cookieSecret", "address", "maxUploadSize", "enableXsrfProtection", "enableCORS", "fileWatcherType")
    effective = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys; from streamlit import config as c; c.get_config_options(force_reparse=True); "
            "print(*[c.get_option('server.' + k) for k in sys.argv[1:]], sep='|')",
            *options,
        ],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )

    # PostgreSQL: the seeded city, a round in progress with P001 and P002 assigned to "insp".
    engine = open_engine(pg_url)
    # nginx's folder must be reachable by its workers (user nobody when started as root).
    prefix = Path(tempfile.mkdtemp(prefix="civeval-nginx-"))
    prefix.chmod(0o755)
    try:
        seed.seed(engine)
        rid = make_round(engine)
        assert effective.communicate(timeout=60)[0].strip() == f"{cookie_secret}|127.0.0.1|25|True|True|none"
        cert, key = make_certificate(prefix, host, openssl)
        with contextlib.ExitStack() as stack:
            base_a, base_b = stack.enter_context(two_processes(pg_url, env))
            up_a, up_b = (u.removeprefix("http://") for u in (base_a, base_b))
            http_port, https_port = e2e.free_port(), e2e.free_port()
            site = prefix / "civeval.conf"
            site.write_text(
                render_site(
                    http_port=http_port,
                    https_port=https_port,
                    upstreams=[int(up_a.rsplit(":", 1)[1]), int(up_b.rsplit(":", 1)[1])],
                    cert=cert,
                    key=key,
                    logs=prefix,
                ),
                encoding="utf-8",
            )
            conf = prefix / "nginx.conf"
            conf.write_text(nginx_main_conf(prefix, site), encoding="utf-8")
            stack.enter_context(nginx_server(nginx, prefix, conf, https_port))
            log = prefix / "civeval.access.log"
            base = f"https://{host}:{https_port}"
            lap("PostgreSQL seeded, two processes and nginx up")

            # (d) health over TLS checked against the certificate; plain HTTP only redirects to HTTPS.
            tls = ssl.create_default_context(cafile=str(cert))
            status, body, headers = fetch(f"https://127.0.0.1:{https_port}/_stcore/health", tls, host)
            assert (status, body) == (200, "ok")
            sticky = [c for c in headers.get_all("Set-Cookie", []) if c.startswith(f"{ROUTE_COOKIE}=")]
            assert len(sticky) == 1 and "; Secure; HttpOnly" in sticky[0], headers.get_all("Set-Cookie")
            status, _, headers = fetch(f"http://127.0.0.1:{http_port}/score_point?round=1", tls, host)
            assert status == 301 and headers["Location"] == f"https://{host}/score_point?round=1"

            lap("(d) health over TLS, HTTP redirect")
            routes = routes_by_process(f"https://127.0.0.1:{https_port}", tls, host, log, [up_a, up_b])
            assert all(len(r) >= 2 for r in routes.values()), routes
            route_a, (route_b, route_b2) = routes[up_a][0], routes[up_b][:2]

            lap(f"sticky routes found: {routes}")
            from playwright.sync_api import sync_playwright

            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=chromium_path,
                    headless=True,
                    args=[*e2e.CHROMIUM_ARGS, f"--host-resolver-rules=MAP {host} 127.0.0.1"],
                )
                try:
                    page_a = browser_on(browser, base, route_a)  # nginx sends browser A to process A
                    page_b = browser_on(browser, base, route_b)  # and browser B to process B

                    # (d) the login page renders through nginx (it arrives over the websocket), in a secure context
                    # (a) an answer saved in browser A, on process A
                    sign_in(page_a, "insp")
                    lap("signed in through process A")
                    assert page_a.evaluate("window.isSecureContext && !!navigator.mediaDevices")
                    session = [c for c in page_a.context.cookies() if c["name"] == "civeval_session"]
                    assert session and session[0]["secure"], session
                    open_point(page_a, base, rid, "P001", "III-1-2", "result")
                    answer(page_a, rid, "P001", "III-1-2", "result", "符合")
                    assert observations(engine) == {("P001", "III-1-2", "pass", None, "insp")}
                    lap("(a) answer saved through process A")

                    # (b) another answer saved in browser B, on process B
                    sign_in(page_b, "insp")
                    lap("signed in through process B")
                    open_point(page_b, base, rid, "P002", "III-1-1", "count")
                    answer(page_b, rid, "P002", "III-1-1", "count", "2")
                    assert observations(engine) == {
                        ("P001", "III-1-2", "pass", None, "insp"),
                        ("P002", "III-1-1", "fail", 2, "insp"),
                    }
                    lap("(b) answer saved through process B")

                    # (c) each answer through the other process
                    open_point(page_b, base, rid, "P001", "III-1-2", "result")
                    assert checked(page_b, rid, "P001", "III-1-2", "result") == ["符合"]
                    open_point(page_a, base, rid, "P002", "III-1-1", "count")
                    assert checked(page_a, rid, "P002", "III-1-1", "count") == ["2"]
                    lap("(c) each answer seen through the other process")

                    # (c) browser A moved to process B: still signed in (the token is in PostgreSQL), both answers
                    route_to(page_a, base, route_b2)
                    open_page(page_a, base, "tasks")
                    assert page_a.locator(".st-key-login_username").count() == 0
                    for point in ("P001", "P002"):
                        assert page_a.locator(f".st-key-task_{rid}_{point}").get_by_text("1/2 已答").is_visible()
                    e2e.screenshot(page_a, "deploy-tasks-through-nginx", full_page=False)
                    lap("(c) browser A resumed its login on process B")
                    page_a.context.close()
                    page_b.context.close()
                finally:
                    browser.close()

            # (d) every browser's websocket went through nginx (101) to the process its cookie names
            def upgraded(lines, route):
                return {ln["up"] for ln in lines if ln["path"] == "/_stcore/stream" and ln["route"] == route}

            def all_closed(lines):
                return all(upgraded(lines, r) for r in (route_a, route_b, route_b2))

            lines = wait_for_log(log, all_closed)
            assert upgraded(lines, route_a) == {up_a}
            assert upgraded(lines, route_b) == {up_b}
            assert upgraded(lines, route_b2) == {up_b}
            streams = [ln for ln in lines if ln["path"] == "/_stcore/stream"]
            assert streams and {ln["status"] for ln in streams} == {"101"}, streams
            lap("(d) websockets upgraded to the right processes")
    finally:
        engine.dispose()
        if effective.poll() is None:
            effective.kill()
        if (prefix / "civeval.access.log").exists():  # kept for a failure's post-mortem
            e2e.ARTIFACTS.mkdir(exist_ok=True)
            shutil.copy(prefix / "civeval.access.log", e2e.ARTIFACTS / "deploy-nginx-access.log")
        shutil.rmtree(prefix, ignore_errors=True)
    lap("stopped")
