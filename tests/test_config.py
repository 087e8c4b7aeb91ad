import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _start(env_overrides: dict) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(env_overrides)
    return subprocess.run([sys.executable, "-c", "import wsgi"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=60)


def test_production_refuses_to_start_without_secret_key_database_and_redis():
    result = _start({"APP_ENV": "production"})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr and "DATABASE_URL" in result.stderr and "REDIS_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_production_refuses_a_short_secret_key():
    result = _start({"APP_ENV": "production", "SECRET_KEY": "short", "DATABASE_URL": "postgresql://x/y",
                     "REDIS_URL": "redis://127.0.0.1:6379/0"})
    assert result.returncode != 0
    assert "at least 32" in result.stderr


def test_unknown_app_env_is_refused_with_the_choices():
    result = _start({"APP_ENV": "staging"})
    assert result.returncode != 0
    assert "development, test, production" in result.stderr


def test_flask_cli_honours_app_env():
    env = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DATABASE_URL", "REDIS_URL"}}
    env.update(APP_ENV="production", FLASK_APP="wsgi")
    result = subprocess.run([sys.executable, "-m", "flask", "routes"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


@pytest.mark.parametrize("url,expected", [
    ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
    ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
    ("sqlite:///x.db", "sqlite:///x.db"),
])
def test_database_urls_use_psycopg3(url, expected):
    from config import normalize_database_url

    assert normalize_database_url(url) == expected
