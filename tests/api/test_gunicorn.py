"""The Procfile's gunicorn (gunicorn.conf.py) in production settings: the API's edges answer in problem documents."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest
import requests

from tests.support.faults import wait_until
from tests.support.mail import free_port
from tests.test_config import _answers, _env, production_env

ROOT = Path(__file__).resolve().parents[2]


def _procfile_web() -> list[str]:
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith("web:"))
    return shlex.split(line.removeprefix("web:"))


@pytest.mark.slow
def test_the_procfile_serves_through_gunicorn_conf_and_api_edges_stay_problem_documents(app_processes):
    command = _procfile_web()
    assert command[:3] == ["gunicorn", "-c", "gunicorn.conf.py"]
    port = free_port()
    web = app_processes(
        "web", [sys.executable, "-m", *command, "--bind", f"127.0.0.1:{port}", "--workers", "1"], _env(production_env())
    )
    base = f"http://127.0.0.1:{port}"
    wait_until(lambda: _answers(f"{base}/healthz"), 60, message="gunicorn to serve")

    long_url = requests.get(f"{base}/api/v1/products?q={'x' * 5000}", timeout=10)
    failed_login = requests.post(
        f"{base}/api/v1/auth/login", json={"identifier": "nobody", "password": "wrong"}, timeout=10
    )

    assert long_url.status_code == 414 and long_url.headers["Content-Type"] == "application/problem+json"
    assert failed_login.status_code == 401 and failed_login.headers["Content-Type"] == "application/problem+json"
    assert int(failed_login.headers["X-RateLimit-Limit"]) > 0 and "X-RateLimit-Remaining" in failed_login.headers
    web.stop()
