"""A live server in a thread and Playwright driving Debian's Chromium.

Never `playwright install`: the browser is /usr/bin/chromium (CHROMIUM_PATH).
A failing browser test leaves a screenshot in tests/artifacts/.
"""

from __future__ import annotations

import contextlib
import os
import re
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from werkzeug.serving import make_server

from tests.support.mail import free_port
from tests.support.mfa import TOTP_SECRET, pass_second_step

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]


class LiveServer:
    """`configure_base_url=False` serves as `flask run` does in development: BASE_URL unset, so
    every absolute link has to come from the served host and port."""

    def __init__(self, app, *, configure_base_url: bool = True):
        self.app = app
        self.configure_base_url = configure_base_url
        self.port = free_port()
        self.server = make_server("127.0.0.1", self.port, app, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.base + path

    def start(self):
        self.app.config["BASE_URL"] = self.base if self.configure_base_url else None
        self.thread.start()
        return self

    def stop(self):
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture
def live_server(app):
    """The test app served on a free port (overrides pytest-flask's forking one)."""
    server = LiveServer(app).start()
    yield server
    server.stop()


@pytest.fixture
def dev_live_server(app):
    """The test app on a free port with BASE_URL unset, as development serves it."""
    server = LiveServer(app, configure_base_url=False).start()
    yield server
    server.stop()


def log_in(page, server: LiveServer, identifier: str, password: str, *, totp_secret: str = TOTP_SECRET) -> None:
    """Sign in through the login form, as a person would (with the authenticator code when asked), and land home."""
    page.goto(server.url("/auth/login"))
    page.get_by_label("Email, username or phone").fill(identifier)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: urlsplit(url).path in ("/", "/auth/mfa"))
    if urlsplit(page.url).path == "/auth/mfa":  # staff (and anyone with an authenticator app): the second step
        pass_second_step(page, totp_secret)
    page.wait_for_url(server.url("/"))


@pytest.fixture(scope="session")
def _playwright():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: apt-get install chromium (see .ci/run)")
    with sync_playwright() as pw:
        yield pw


@pytest.fixture(scope="session")
def browser(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
    yield browser
    browser.close()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    report = yield
    if report.when == "call":
        item.stash.setdefault("failed", False)
        if report.failed:
            item.stash["failed"] = True
    return report


# Every document reports its CSP violations to the test (a binding survives navigations).
_REPORT_CSP = """
document.addEventListener("securitypolicyviolation", function (e) {
  var where = e.sourceFile ? " at " + e.sourceFile + ":" + e.lineNumber : "";
  window.__cspViolation(e.effectiveDirective + " blocked " + (e.blockedURI || "inline") + where +
                       " on " + e.documentURI + (e.sample ? " (" + e.sample + ")" : ""));
}, true);
"""


def csp_violations(page) -> list[str]:
    """What the CSP blocked: securitypolicyviolation events and Chromium's console lines."""
    console = [e for e in page.console_errors if "Content Security Policy" in e]
    return page.csp_events + console


@pytest.fixture
def page(browser, request):
    """A fresh browser context and page; console errors and CSP violations are collected.

    Any CSP violation fails the test that caused it, whatever the test asserts.
    `@pytest.mark.browser_context(timezone_id="America/New_York")` sets more context options.
    """
    marker = request.node.get_closest_marker("browser_context")
    options = {"viewport": {"width": 1280, "height": 860}, "locale": "en-US", **(marker.kwargs if marker else {})}
    context = browser.new_context(**options)
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.console_errors = []
    page.csp_events = []
    context.expose_binding("__cspViolation", lambda source, text: page.csp_events.append(text))
    context.add_init_script(_REPORT_CSP)
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    yield page
    violations = csp_violations(page)
    if request.node.stash.get("failed", False):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)[-120:]
        with contextlib.suppress(Exception):  # a screenshot is a courtesy: the failure is already reported
            page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
    context.close()
    if violations:
        pytest.fail("Content Security Policy violations:\n" + "\n".join(violations), pytrace=False)


@pytest.fixture
def screenshot(page):
    """screenshot("catalog") saves tests/artifacts/catalog.png (full page)."""

    def take(name: str, target=None):
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        (target or page).screenshot(path=str(path), full_page=True)
        return path

    return take
