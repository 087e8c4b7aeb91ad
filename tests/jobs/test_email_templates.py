import pytest

from app.mail.kinds import KINDS, SAMPLES
from app.mail.services import render_email


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_every_email_kind_renders_html_and_text_with_realistic_data(app, kind):
    with app.app_context():
        subject, text, html = render_email(kind, SAMPLES[kind])
    assert subject and "\n" not in subject
    assert SAMPLES[kind]["name"] in text and SAMPLES[kind]["name"] in html
    assert "{{" not in text + html
    assert 'name="color-scheme"' in html and "prefers-color-scheme: dark" in html


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_a_missing_variable_is_an_error_not_a_blank(app, kind):
    import jinja2

    context = dict(SAMPLES[kind])
    context.pop(next(k for k in context if k != "name"))
    with app.app_context(), pytest.raises(jinja2.UndefinedError):
        render_email(kind, context)


def test_codes_and_resets_go_on_the_high_queue():
    # signup_attempt is what a signup for a taken address gets instead of its code.
    assert {k for k, q in KINDS.items() if q == "high"} == {
        "verification_code",
        "login_code",
        "reauth_code",
        "password_reset",
        "signup_attempt",
    }
