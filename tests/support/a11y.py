"""The accessibility checks every browser test shares: axe-core (vendored from the npm registry, tests/a11y)
with no violation of impact serious or critical, no sideways scroll, and full-page screenshots, at desktop
and phone width in the light and the dark theme (tests/e2e/test_accessibility_sweep.py walks every page
reached by links with these; tests/e2e/test_post_only_pages_in_chromium.py the pages only a POST reaches).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.support.browser import ARTIFACTS

AXE = Path(__file__).resolve().parent.parent / "a11y" / "node_modules" / "axe-core" / "axe.min.js"
WIDTHS = {"desktop": (1280, 860), "phone": (390, 844)}
THEMES = ("light", "dark")
SERIOUS = {"serious", "critical"}
SHOTS = ARTIFACTS / "pages"
AXE_RUN = """() => axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map(v => ({
  id: v.id, impact: v.impact, help: v.help,
  nodes: v.nodes.slice(0, 3).map(n => n.target.join(' ')), why: v.nodes[0].failureSummary})))"""


def check(page, label: str) -> list[dict]:
    """axe and the overflow check on the page as it is now; returns the problems found."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing ({AXE}): run make install-dev")
    problems = []
    # Let theme and width transitions finish, so colours are measured as they settle.
    # (An endless one, a spinner, would never finish, nor would a paused one — a toast's countdown under
    # the pointer: they are left as they are, and no wait lasts more than two seconds.)
    page.evaluate(
        "() => Promise.race([Promise.all(document.getAnimations().filter(a => a.playState === 'running' && "
        "(!a.effect || a.effect.getComputedTiming().endTime !== Infinity)).map(a => a.finished.catch(() => null))),"
        " new Promise(done => setTimeout(done, 2000))])"
    )
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


def everywhere(page, who: str, name: str, where: str) -> list[dict]:
    """`check` the page at both widths in both themes, with a screenshot of each (pages/<who>-<name>-…png);
    leaves the page at desktop width in the light theme."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-")
    problems: list[dict] = []
    for width_name, (width, height) in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": height})
        for theme in THEMES:
            page.emulate_media(color_scheme=theme)
            problems += check(page, f"{who} {where} {width_name} {theme}")
            page.evaluate("window.scrollTo(0, 0)")  # a sticky header is drawn where the page is scrolled to
            page.screenshot(path=str(SHOTS / f"{who}-{name}-{width_name}-{theme}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 860})
    page.emulate_media(color_scheme="light")
    return problems
