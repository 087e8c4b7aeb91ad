"""Every page a customer, a visitor and an admin can reach, checked the way the issue-13 audit did.

The sweep signs in through the login form, then walks the site by its own links (one page per
route, so /products/<slug> is visited once), and on each page, at desktop (1280 px) and phone
(390 px) width, in the light and the dark theme:
- axe-core (vendored from the npm registry, tests/a11y) finds no violation of impact serious or critical;
- the page does not scroll sideways (document width <= viewport width);
- a full-page screenshot lands in tests/artifacts/pages/ to be looked at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.browser import ARTIFACTS, LiveServer, log_in
from tests.support.users import DEFAULT_PASSWORD

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent.parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1280, 860), "phone": (390, 844)}
THEMES = ("light", "dark")
SERIOUS = {"serious", "critical"}
# Links the sweep does not follow: they sign out, download, or leave the HTML pages.
SKIP = re.compile(r"^/(static|dev)/|/logout|\.(pdf|csv|svg|png)$|/export|/auth/(google|facebook)")
MAX_PAGES = 80
AXE_RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')), why: v.nodes[0].failureSummary})))"""


@pytest.fixture
def served(csrf_app, world):
    server = LiveServer(csrf_app).start()
    yield server
    server.stop()


def route_of(app, path: str) -> str:
    """The url rule a path matches (so each route is visited once whatever its arguments)."""
    adapter = app.url_map.bind("localhost")
    try:
        endpoint, _ = adapter.match(path, method="GET")
    except Exception:
        return path
    return endpoint


def sign_in(page, server: LiveServer, username: str) -> None:
    log_in(page, server, username, DEFAULT_PASSWORD)  # staff complete the second step with their code


def same_site_links(page, server: LiveServer) -> list[str]:
    hrefs = page.eval_on_selector_all("a[href]", "els => els.map(e => e.getAttribute('href'))")
    found = []
    for href in hrefs:
        parts = urlsplit(href)
        if parts.scheme and not href.startswith(server.base):
            continue
        path = parts.path or "/"
        if not path.startswith("/") or SKIP.search(path):
            continue
        found.append(path + (f"?{parts.query}" if parts.query else ""))
    return found


def check(page, label: str) -> list[dict]:
    """axe and the overflow check on the page as it is now; returns the problems found."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run make install-dev")
    problems = []
    # Let theme and width transitions finish, so colours are measured as they settle.
    page.evaluate("() => Promise.all(document.getAnimations().map(a => a.finished.catch(() => null)))")
    page.evaluate(AXE.read_text())
    result = page.evaluate(AXE_RUN)
    problems += [dict(v, where=label) for v in result if v["impact"] in SERIOUS]
    width = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    if width[0] > width[1]:
        widest = page.evaluate(
            "() => [...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
            "innerWidth + 1 && !e.closest('.table-wrap')).slice(-3).map(e => e.tagName.toLowerCase() + "
            "(e.className ? '.' + String(e.className).split(' ').join('.') : '') + ' ' + "
            "Math.round(e.getBoundingClientRect().right) + 'px')"
        )
        too_wide = {"id": "horizontal-scroll", "impact": "serious", "help": f"{width[0]}px wide"}
        problems.append(dict(too_wide, where=label, nodes=widest))
    return problems


def sweep(app, page, server: LiveServer, start: list[str], who: str) -> list[dict]:
    seen_routes: set[str] = set()
    queue = list(start)
    problems: list[dict] = []
    shots = ARTIFACTS / "pages"
    shots.mkdir(parents=True, exist_ok=True)
    visited = 0
    while queue and visited < MAX_PAGES:
        path = queue.pop(0)
        route = route_of(app, urlsplit(path).path)
        if route in seen_routes:
            continue
        seen_routes.add(route)
        page.set_viewport_size({"width": 1280, "height": 860})
        page.emulate_media(color_scheme="light")
        response = page.goto(server.url(path))
        if response is None or response.status >= 400 or "text/html" not in response.headers.get("content-type", ""):
            continue
        visited += 1
        queue += [link for link in same_site_links(page, server) if link not in queue]
        name = re.sub(r"[^A-Za-z0-9]+", "-", route).strip("-")
        for width_name, (width, height) in WIDTHS.items():
            page.set_viewport_size({"width": width, "height": height})
            for theme in THEMES:
                page.emulate_media(color_scheme=theme)
                label = f"{who} {path} {width_name} {theme}"
                problems += check(page, label)
                page.screenshot(path=str(shots / f"{who}-{name}-{width_name}-{theme}.png"), full_page=True)
    assert visited >= 3, f"the sweep as {who} reached only {visited} pages"
    return problems


def report(problems: list[dict], who: str) -> str:
    (ARTIFACTS / f"axe-{who}.json").write_text(json.dumps(problems, indent=1))
    by_rule: dict[str, list[dict]] = {}
    for p in problems:
        by_rule.setdefault(p["id"], []).append(p)
    lines = [f"{len(problems)} serious/critical problems as {who}:"]
    for rule, items in sorted(by_rule.items(), key=lambda kv: -len(kv[1])):
        first = items[0]
        lines.append(f"- {rule} ({first['help']}): {len(items)}× e.g. {first['where']} {first.get('nodes', '')}")
    return "\n".join(lines)


@pytest.mark.parametrize("who", ["visitor", "customer", "admin"])
def test_every_page_passes_axe_and_fits_a_phone_in_both_themes(csrf_app, world, served, page, who):
    start = ["/", "/products/", "/auth/login", "/auth/signup", "/auth/password/reset"] if who == "visitor" else ["/"]
    if who != "visitor":
        sign_in(page, served, {"customer": "buyer", "admin": "boss"}[who])
    if who == "admin":
        start = ["/admin/"]
    problems = sweep(csrf_app, page, served, start, who)
    summary = report(problems, who)
    assert not problems, summary
