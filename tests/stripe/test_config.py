"""Stripe's settings: a production start with PAYMENT_GATEWAY=stripe and a key missing stops with one line."""

import pytest

from tests.test_config import _start, production_env

STRIPE = {
    "PAYMENT_GATEWAY": "stripe",
    "STRIPE_SECRET_KEY": "sk_live_x",
    "STRIPE_PUBLISHABLE_KEY": "pk_live_x",
    "STRIPE_WEBHOOK_SECRET": "whsec_live_a,whsec_live_b",
}


def _env_without(missing: str) -> dict:
    # Blank, not absent: the test process's own environment must not fill the gap.
    return {**production_env(), **STRIPE, missing: ""}


@pytest.mark.parametrize("missing", ["STRIPE_SECRET_KEY", "STRIPE_PUBLISHABLE_KEY", "STRIPE_WEBHOOK_SECRET"])
@pytest.mark.parametrize("how", [("-c", "import wsgi"), ("-m", "flask", "routes")], ids=["wsgi", "flask"])
def test_production_with_stripe_and_a_key_missing_stops_with_one_line_naming_it(missing, how):
    result = _start(_env_without(missing), how)
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(f"error: {missing} is not set: production needs "), result.stderr
    assert "PAYMENT_GATEWAY=stripe" in errors[0]
    assert "Traceback" not in result.stderr


def test_production_with_stripe_and_every_key_starts():
    result = _start({**production_env(), **STRIPE}, ("-m", "flask", "routes"))
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr


def test_production_with_the_sandbox_needs_no_stripe_key():
    env = {
        **production_env(),
        "PAYMENT_GATEWAY": "sandbox",
        **{name: "" for name in STRIPE if name != "PAYMENT_GATEWAY"},
    }
    result = _start(env, ("-m", "flask", "routes"))
    assert result.returncode == 0, result.stderr


def test_production_with_stripe_needs_no_sandbox_webhook_secret():
    result = _start({**production_env(), **STRIPE, "PAYMENT_WEBHOOK_SECRETS": ""}, ("-m", "flask", "routes"))
    assert result.returncode == 0, result.stderr
    assert "error:" not in result.stderr
