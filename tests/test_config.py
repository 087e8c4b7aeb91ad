import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.faults import wait_until
from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parent.parent


REQUIRED = ("SECRET_KEY", "DATABASE_URL", "REDIS_URL", "BASE_URL", "MFA_ENCRYPTION_KEY", "PAYMENT_WEBHOOK_SECRETS")


def _env(overrides: dict) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in REQUIRED}
    env.update(overrides)
    return env


def _start(env_overrides: dict, argv: tuple = ("-c", "import wsgi")) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *argv], cwd=ROOT, env=_env(env_overrides), capture_output=True, text=True, timeout=60
    )


def production_env(app=None) -> dict:
    """Everything production requires, pointed at the test database and Redis."""
    from tests.conftest import SERVICES

    return {
        "APP_ENV": "production",
        "SECRET_KEY": "s" * 48,
        "DATABASE_URL": SERVICES.database_url,
        "REDIS_URL": SERVICES.redis_url or "redis://127.0.0.1:6379/15",
        "PAYMENT_WEBHOOK_SECRETS": "whsec_live_x",
        "BASE_URL": "https://shop.example.com",
        "MFA_ENCRYPTION_KEY": "q" * 43 + "=",  # 32 bytes, url-safe base64: a Fernet key
        "FLASK_APP": "wsgi",
    }


def test_production_refuses_to_start_without_secret_key_database_and_redis():
    result = _start({"APP_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr and "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("missing", REQUIRED)
@pytest.mark.parametrize("how", [("-c", "import wsgi"), ("-m", "flask", "routes")], ids=["wsgi", "flask"])
def test_production_without_a_required_setting_stops_with_one_line_naming_it(missing, how):
    env = {k: v for k, v in production_env().items() if k != missing}
    result = _start(env, how)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {missing} is not set: production needs "), result.stderr
    assert "Traceback" not in result.stderr


def test_production_names_every_missing_setting_on_its_own_line():
    result = _start({"APP_ENV": "production"})
    named = [line.split()[1] for line in result.stderr.splitlines() if line.startswith("error:")]
    assert named == list(REQUIRED)


def test_production_refuses_an_mfa_encryption_key_that_is_not_a_fernet_key():
    result = _start({**production_env(), "MFA_ENCRYPTION_KEY": "not-a-key"})
    assert result.returncode != 0 and "MFA_ENCRYPTION_KEY must be Fernet keys" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_base_url_that_is_not_an_address():
    result = _start({**production_env(), "BASE_URL": "shop.example.com"})
    assert result.returncode != 0 and "BASE_URL must be an absolute http(s) address" in result.stderr


def test_gunicorn_with_a_missing_webhook_secret_stops_instead_of_serving(app_processes):
    env = _env({k: v for k, v in production_env().items() if k != "PAYMENT_WEBHOOK_SECRETS"})
    web = app_processes(
        "web",
        [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        env,
    )
    web.proc.wait(60)
    assert web.proc.returncode != 0
    assert "error: PAYMENT_WEBHOOK_SECRETS is not set" in web.output()


def test_production_served_by_gunicorn_answers_and_keeps_metrics_behind_a_token(app_processes):
    import requests

    for token in (None, "scrape-me"):
        port = free_port()
        env = _env({**production_env(), **({"METRICS_TOKEN": token} if token else {})})
        web = app_processes(
            f"web-{token}",
            [sys.executable, "-m", "gunicorn", "wsgi:app", "--bind", f"127.0.0.1:{port}", "--workers", "1"],
            env,
        )
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda base=base: _answers(f"{base}/healthz"), 60, message="gunicorn to serve")
        assert requests.get(f"{base}/metrics", timeout=10).status_code == 404
        if token:
            ok = requests.get(f"{base}/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=10)
            assert ok.status_code == 200 and "http_requests_total" in ok.text
        web.stop()


def _answers(url: str) -> bool:
    import requests

    try:
        return requests.get(url, timeout=2).status_code == 200
    except requests.RequestException:
        return False


def test_production_refuses_a_short_secret_key():
    result = _start(
        {
            "APP_ENV": "production",
            "SECRET_KEY": "short",
            "DATABASE_URL": "postgresql://x/y",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        }
    )
    assert result.returncode != 0
    assert "at least 32" in result.stderr


def test_unknown_app_env_is_refused_with_the_choices():
    result = _start({"APP_ENV": "staging"})
    assert result.returncode != 0
    assert "development, test, production" in result.stderr


def test_flask_cli_honours_app_env():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(APP_ENV="production", FLASK_APP="wsgi")
    result = subprocess.run(
        [sys.executable, "-m", "flask", "routes"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize(
    "url,expected",
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
    ],
)
def test_database_urls_use_psycopg3(url, expected):
    from config import normalize_database_url

    assert normalize_database_url(url) == expected
