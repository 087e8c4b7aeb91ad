"""A real Stripe API emulator for the Stripe adapter's tests: localstripe on a free port.

`localstripe` (session) starts `tests/support/localstripe_server.py` (loopback only,
state in memory) and stops it after the run; `stripe_app` points the app at it
(PAYMENT_GATEWAY=stripe, STRIPE_API_BASE, STRIPE_JS_URL, keys and webhook secrets)
and clears the emulator's data after each test. The official `stripe` SDK talks to
it over HTTP exactly as it would to api.stripe.com. Nothing is mocked.

What localstripe 1.15.10 does not emulate (the adapter's tests say where they rely
on Stripe's documented shapes instead): `Idempotency-Key` (ignored), disputes,
`charge.refunded` events, `setup_future_usage` / `description` /
`automatic_payment_methods` on PaymentIntents and `reason` on refunds (refused).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
import requests

from tests.support.mail import free_port

ROOT = Path(__file__).resolve().parent.parent.parent
SECRET_KEY = "sk_test_localstripe"  # noqa: S105 (the emulator's test key)
PUBLISHABLE_KEY = "pk_test_localstripe"
WEBHOOK_SECRETS = ("whsec_test_current", "whsec_test_previous")


class LocalStripe:
    def __init__(self) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.js_url = f"{self.base}/js.stripe.com/v3/"
        self.process: subprocess.Popen | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 (read after stop for the failure message)

    def start(self) -> LocalStripe:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.support.localstripe_server", str(self.port)],
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and self.process.poll() is None:
            try:
                if requests.get(self.js_url, timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"localstripe did not start:\n{self.output()}")

    def output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def api(self, method: str, path: str, **params) -> dict:
        """Call the emulator's API directly (as Stripe's dashboard would show it), for assertions."""
        call = requests.get if method == "GET" else requests.post
        key = "params" if method == "GET" else "data"
        response = call(f"{self.base}/v1/{path.lstrip('/')}", auth=(SECRET_KEY, ""), timeout=10, **{key: params})
        response.raise_for_status()
        return response.json()

    def register_webhook(self, url: str, secret: str = WEBHOOK_SECRETS[0], events: list[str] | None = None) -> None:
        """localstripe POSTs each matching event to `url` once, signed in Stripe's format with `secret`."""
        data: dict = {"url": url, "secret": secret}
        if events:
            data["events"] = events
        response = requests.post(f"{self.base}/_config/webhooks/multiproduct", json=data, timeout=5)
        response.raise_for_status()

    def flush(self) -> None:
        requests.delete(f"{self.base}/_config/data", timeout=5).raise_for_status()
        # Webhook registrations live outside the store: point ours nowhere until a test registers one.
        requests.post(
            f"{self.base}/_config/webhooks/multiproduct",
            json={"url": "http://127.0.0.1:9/", "secret": "unused", "events": ["none"]},
            timeout=5,
        ).raise_for_status()


@pytest.fixture(scope="session")
def localstripe():
    server = LocalStripe().start()
    yield server
    server.stop()


def stripe_config(server: LocalStripe) -> dict:
    """The settings that point an app at this localstripe (for make_app(**stripe_config(localstripe)))."""
    return {
        "PAYMENT_GATEWAY": "stripe",
        "STRIPE_SECRET_KEY": SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": ",".join(WEBHOOK_SECRETS),
        "STRIPE_API_BASE": server.base,
        "STRIPE_JS_URL": server.js_url,
    }


@pytest.fixture
def stripe_app(app, localstripe):
    """The app with Stripe as its gateway, talking to localstripe."""
    app.config.update(stripe_config(localstripe))
    yield app
    localstripe.flush()
