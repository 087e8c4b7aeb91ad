"""Boosted navigation swaps only the <body>: every page must load the same stylesheets and scripts."""

import re

import pytest

from tests.support.users import make_user, sign_in


def _head_assets(html: str) -> tuple[str, ...]:
    head = html.split("</head>", 1)[0]
    return tuple(re.findall(r'<link rel="stylesheet" href="([^"]+)"|<script src="([^"]+)"', head))


def _pages(app, client) -> dict[str, tuple]:
    """Every full HTML page the client can GET without arguments: its path and head assets."""
    pages = {}
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.arguments or rule.endpoint == "static" or "." in rule.rule:
            continue  # files (.csv exports stream) are no pages
        response = client.get(rule.rule)
        if response.status_code == 200 and response.mimetype == "text/html" and "</head>" in response.text:
            pages[rule.rule] = _head_assets(response.text)
    return pages


@pytest.mark.parametrize(
    "who,some_pages",
    [
        ("visitor", {"/auth/login", "/auth/signup", "/products/"}),
        ("admin", {"/account/profile", "/admin/", "/products/"}),
    ],
)
def test_every_page_loads_the_same_stylesheets_and_scripts(app, who, some_pages):
    client = app.test_client()
    if who == "admin":
        with app.app_context():
            sign_in(client, make_user(username="root", role="admin"))
    pages = _pages(app, client)
    assert some_pages <= set(pages)
    home = pages["/products/"]
    assert any("auth.css" in "".join(asset) for asset in home)
    assert {path: assets for path, assets in pages.items() if assets != home} == {}
