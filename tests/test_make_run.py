"""`make run` on the embedded default serves the app: checked by running it."""

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
import requests

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_make_run_serves_home_page_and_dev_mail_on_the_embedded_default(tmp_path):
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "APP_ENV", "TEST_DATABASE_URL", "MAIL_SERVER"}
    }
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp_path / 'dev.db'}")
    proc = subprocess.Popen(
        ["make", "run"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        home = None
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                home = requests.get(f"http://127.0.0.1:{port}/", timeout=2)
                break
            except requests.ConnectionError:
                time.sleep(0.3)
        assert home is not None, f"make run exited: {proc.stdout.read() if proc.poll() is not None else ''}"
        assert home.status_code == 200 and "MultiProduct" in home.text
        mail = requests.get(f"http://127.0.0.1:{port}/dev/mail/", timeout=5)
        assert mail.status_code == 200 and "Development mail" in mail.text
        assert requests.get(f"http://127.0.0.1:{port}/readyz", timeout=5).status_code == 200
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        output = proc.communicate(timeout=20)[0]
    assert "mode: embedded default" in output
    # Development only: someone to sign in as, and where (the port served, not 5000).
    assert "demo customer: customer@example.com, password " in output
    assert "demo admin: admin@example.com, password " in output
    assert f"sign in at http://127.0.0.1:{port}/auth/login" in output


@pytest.mark.slow
def test_make_smoke_signs_in_buys_and_follows_the_emailed_links_on_the_embedded_default():
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "APP_ENV", "BASE_URL"}}
    result = subprocess.run(
        ["make", "--no-print-directory", "smoke"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=400
    )
    assert result.returncode == 0, result.stdout + result.stderr
    for step in (
        "signed in as the demo customer",
        "the sandbox's webhook reached this port",
        "the reset link are at /dev/mail; the link opens on this port",
        "the demo admin opens /admin",
        "smoke: OK",
    ):
        assert step in result.stdout
