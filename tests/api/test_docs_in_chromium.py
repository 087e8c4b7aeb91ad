"""/api/docs in Chromium: Swagger UI renders the API's own document, with no CSP violation (the `page` fixture)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.e2e


def test_the_interactive_docs_list_the_operations(live_server, page):
    page.goto(live_server.url("/api/docs"))

    page.get_by_text("/api/v1/auth/login").first.wait_for()
    assert page.get_by_text("/api/v1/products/{product_id}").count() >= 1
