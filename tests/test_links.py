"""Absolute links: BASE_URL when set, otherwise the origin actually served (app/links.py)."""

import re
from urllib.parse import urlsplit

import pytest

from app import links
from config import ConfigError
from tests.support.users import make_user

URL = re.compile(r"https?://[^\s\"'<>)]+")


@pytest.fixture
def ada(app):
    with app.app_context():
        return make_user(username="ada", email="ada@example.com").id


def _origins(sink) -> set[str]:
    return {
        f"{u.scheme}://{u.netloc}"
        for m in sink.messages
        for u in map(urlsplit, URL.findall(sink.text(m) + sink.html(m)))
    }


def test_without_base_url_the_emailed_links_lead_to_the_host_and_port_the_request_came_to(
    app, client, ada, smtp_sink, run_jobs
):
    assert app.config["BASE_URL"] is None
    client.post("/auth/password-reset", data={"email": "ada@example.com"}, base_url="http://127.0.0.1:8123")
    assert run_jobs() >= 1  # a worker, outside any request: the outbox told it the origin
    [message] = smtp_sink.wait_for(1)
    assert "http://127.0.0.1:8123/auth/password-reset/" in smtp_sink.text(message)
    assert _origins(smtp_sink) == {"http://127.0.0.1:8123"}  # the footer too


def test_a_configured_base_url_wins_over_whatever_host_the_request_names(app, client, ada, smtp_sink, run_jobs):
    app.config["BASE_URL"] = "https://shop.example.com/"
    client.post("/auth/password-reset", data={"email": "ada@example.com"}, base_url="http://evil.example")
    run_jobs()
    smtp_sink.wait_for(1)
    assert _origins(smtp_sink) == {"https://shop.example.com"}


def test_production_never_takes_the_origin_from_the_host_header(app):
    app.config.update(APP_ENV="production", BASE_URL=None)
    with app.test_request_context("/", base_url="http://evil.example"), pytest.raises(ConfigError, match="BASE_URL"):
        links.base_url()


def test_outside_any_request_or_job_links_use_the_served_port(app):
    app.config["PORT"] = 8123
    with app.app_context():
        assert links.external_url("auth.login") == "http://127.0.0.1:8123/auth/login"
