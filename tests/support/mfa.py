"""The second sign-in step in tests: authenticator codes computed with pyotp, as a phone would."""

from __future__ import annotations

import time

import pyotp

from tests.factories import TOTP_SECRET

__all__ = ["TOTP_SECRET", "enroll_from_page", "pass_second_step", "pass_second_step_over_http", "totp_code"]


def totp_code(secret: str = TOTP_SECRET, *, steps_ahead: int = 0) -> str:
    """The code the app shows now (or `steps_ahead` 30-second steps later, which the server still accepts)."""
    return pyotp.TOTP(secret).at(time.time() + 30 * steps_ahead)


def pass_second_step(page, secret: str = TOTP_SECRET) -> None:
    """On /auth/mfa, type the authenticator code and sign in.

    A code is accepted once: when this account already used the current step (an earlier sign-in
    in the same test), the next step's code (within the ±1 drift) is typed instead, and after that
    the helper waits for a fresh step.
    """
    for ahead, wait in ((0, False), (1, False), (1, True)):
        if wait:
            time.sleep(30 - time.time() % 30 + 0.5)
        page.get_by_label("Authenticator or recovery code").fill(totp_code(secret, steps_ahead=ahead))
        with page.expect_response(lambda r: r.request.method == "POST" and "/auth/mfa" in r.url) as answer:
            page.get_by_role("button", name="Sign in", exact=True).click()
        if answer.value.status in (302, 303):
            page.wait_for_url(lambda url: "/auth/mfa" not in url)
            return
        page.locator("#code-error").wait_for()
    raise AssertionError("the second step refused three authenticator codes in a row")


def pass_second_step_over_http(client, secret: str = TOTP_SECRET):
    """A test client that POSTed a right password to /auth/login finishes signing in with the code."""
    for ahead in (0, 1):
        response = client.post("/auth/mfa", data={"code": totp_code(secret, steps_ahead=ahead)})
        if response.status_code in (302, 303):
            return response
    raise AssertionError(f"the second step refused the authenticator code: {response.status_code}")


def enroll_from_page(page) -> tuple[str, list[str]]:
    """On /account/security/totp: read the key FROM THE PAGE, type the code an app would show, turn it on.

    Returns the key and the recovery codes the next page shows (once).
    """
    secret = page.locator("#totp-key").inner_text().replace(" ", "")
    page.get_by_label("Then enter the code your app shows").fill(pyotp.TOTP(secret).now())
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    codes = [code.strip() for code in page.locator(".recovery-codes code").all_inner_texts()]
    return secret, codes
