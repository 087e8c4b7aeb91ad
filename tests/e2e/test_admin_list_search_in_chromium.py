"""An admin types in a list's search box and clicks a row (or the sidebar) before the search has
answered: the clicked page wins, and the late search answer can no longer pull the URL back to the list."""

import contextlib
import re

import pytest
from playwright.sync_api import Error, expect

from tests.support.browser import log_in
from tests.support.users import DEFAULT_PASSWORD, make_user

pytestmark = pytest.mark.e2e

# What is clicked while the search is on its way: a row, or another page in the sidebar.
TARGETS = {
    "row": ("ada", re.compile(r"/admin/users/[0-9a-f-]{36}$"), "ada"),
    "sidebar link": ("Audit log", re.compile(r"/admin/audit$"), "Audit log"),
}


@pytest.mark.parametrize("clicked", TARGETS)
def test_a_link_clicked_while_the_search_is_in_flight_opens_its_page_and_stays_there(app, live_server, page, clicked):
    link, opened, heading = TARGETS[clicked]
    with app.app_context():
        make_user(username="root", role="admin")
        for name in ("ada", "grace", "linus"):
            make_user(username=name)
    log_in(page, live_server, "root", DEFAULT_PASSWORD)
    page.goto(live_server.url("/admin/users"))

    held = []  # the search requests, answered only after the row's page is shown (a slow query)
    page.route(re.compile(r"/admin/users\?q="), lambda route: held.append(route))
    page.evaluate("""window.__searches = 0;
      document.addEventListener("htmx:beforeSend", e => { if (e.detail.elt.matches("form")) window.__searches++; });""")
    page.get_by_label("Search").press_sequentially("gr", delay=30)
    # Pressing on the link takes focus from the search box: its `change` sends the search at once.
    page.get_by_role("link", name=link, exact=True).click()
    page.wait_for_url(opened)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
    assert page.evaluate("window.__searches") >= 1, "no search was sent before the row was clicked"

    for route in held:
        with contextlib.suppress(Error):  # the browser aborted it: nothing left to answer
            route.continue_()
    page.wait_for_timeout(1500)
    assert opened.search(page.url)
    expect(page.get_by_role("heading", name=heading, level=1)).to_be_visible()
