"""Nothing a signed-in person sees may be kept by a cache or the back button; public pages stay cacheable."""

import pytest

from tests.support.routes import fill, rules

HTMX = {"HX-Request": "true"}


@pytest.mark.parametrize("role", ["customer", "admin"])
def test_every_page_and_fragment_for_a_signed_in_person_is_no_store(csrf_app, world, visitor_as, role):
    visitor = visitor_as(role)
    missing = []
    for rule in rules(csrf_app, "GET"):
        url = fill(rule.rule, world.args)
        for headers in ({}, HTMX):
            response = visitor.send("GET", url, headers=headers)
            if not response.cache_control.no_store or "Cookie" not in response.vary:
                missing.append(
                    f"{url} {headers} {response.status_code}: {response.headers.get('Cache-Control')!r} "
                    f"Vary {response.headers.get('Vary')!r}"
                )
    assert not missing, "\n".join(missing)


def test_what_a_signed_in_person_posts_is_answered_no_store_too(csrf_app, world, visitor_as):
    visitor = visitor_as("customer")
    for url in ("/notifications/read-all", f"/notifications/{world.args['notification_id']}/read"):
        for headers in ({}, HTMX):
            assert visitor.send("POST", url, headers=headers).cache_control.no_store, (url, headers)


def test_public_pages_for_a_visitor_stay_cacheable(client):
    for url in ("/", "/products/", "/auth/login"):
        response = client.get(url)
        assert response.status_code == 200 and not response.cache_control.no_store, url


def test_static_files_stay_cacheable_for_a_signed_in_person(signed_in):
    response = signed_in.get("/static/css/app.css")
    assert response.status_code == 200 and not response.cache_control.no_store
