"""A form that comes back with errors says so at the top, linking each problem to its field; hints and
errors are read with the field they belong to (aria-describedby)."""

import html
import re


def _summary_links(page: str) -> dict[str, str]:
    """The error summary's links (href → text); it must sit inside the form, before the first field."""
    match = re.search(r'<div class="error-summary"[^>]*data-error-summary>(.*?)</div>', page, re.S)
    assert match is not None, "no error summary on the page"
    assert 'aria-labelledby="error-summary-title"' in match.group(0)
    assert re.search(r'<h2 class="error-summary-title" id="error-summary-title">\w', match.group(1))
    form_at = page.rfind("<form", 0, match.start())
    assert form_at != -1 and "</form>" not in page[form_at : match.start()], "the summary is not inside a form"
    return {href: html.unescape(text) for href, text in re.findall(r'<a href="([^"]+)">([^<]*)</a>', match.group(1))}


def _tag(page: str, element_id: str) -> str:
    match = re.search(rf'<(?:input|select|textarea|p)\b[^>]*\bid="{re.escape(element_id)}"[^>]*>', page)
    assert match is not None, f"no element #{element_id}"
    return match.group(0)


def _attr(tag: str, name: str) -> str | None:
    match = re.search(rf'\b{name}="([^"]*)"', tag)
    return match.group(1) if match else None


def test_a_refused_signup_lists_each_problem_linked_to_its_field(client):
    response = client.post("/auth/signup", data={"username": "x", "email": "not-an-email", "password": "short"})
    assert response.status_code == 400
    links = _summary_links(response.text)
    assert set(links) >= {"#username", "#email", "#password"}
    for href in links:
        assert _attr(_tag(response.text, href[1:]), "aria-invalid") == "true"
    assert links["#email"].startswith("Email")


def test_a_hint_and_an_error_are_both_read_with_the_field(client):
    response = client.post(
        "/auth/signup", data={"username": "grace_h", "email": "grace@example.com", "password": "short"}
    )
    assert _attr(_tag(response.text, "password"), "aria-describedby") == "password-hint password-error"
    assert re.search(r'id="password-hint">\w', response.text)
    assert re.search(r'id="password-error" role="alert">\w', response.text)


def test_a_page_without_errors_shows_no_summary_and_hints_are_still_linked(client):
    page = client.get("/auth/signup").text
    assert "data-error-summary" not in page
    assert _attr(_tag(page, "phone"), "aria-describedby") == "phone-hint"
    assert 'id="phone-hint"' in page


def test_a_refused_login_shows_the_summary(client):
    response = client.post("/auth/login", data={"identifier": "", "password": ""})
    assert response.status_code in (400, 422)
    assert "#identifier" in _summary_links(response.text)


def test_a_refused_password_change_shows_the_summary(signed_in):
    response = signed_in.post("/account/password", data={"current_password": "wrong one", "password": "short"})
    assert response.status_code >= 400
    links = _summary_links(response.text)
    assert "#password" in links or "#current_password" in links
