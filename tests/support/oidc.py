"""A real OpenID provider for the social-login tests: Node's `oidc-provider` on a free port.

`oidc_server` (session) runs tests/oidc/server.mjs (`npm ci` first when node_modules is
missing) and stops it after the run. The same process serves a Facebook-style OAuth 2
dialog, token endpoint and Graph `me` under /facebook/<version>/. `google` / `facebook`
point the app at it. `social` walks the whole redirect dance: the Flask test client talks
to the app, a `requests` session plays the browser at the provider. Nothing is mocked.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urljoin, urlsplit

import pytest
import requests
import sqlalchemy as sa

from tests.support.mail import free_port

OIDC_DIR = Path(__file__).resolve().parent.parent / "oidc"
FACEBOOK_APP_ID, FACEBOOK_APP_SECRET = "fb-test-app", "fb-test-secret"
TEST_CLIENT_BASE = "http://localhost"


def ensure_node_modules() -> None:
    """`npm ci` from the committed lockfile, once per machine."""
    if (OIDC_DIR / "node_modules" / "oidc-provider" / "package.json").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the local OpenID provider (tests/oidc): apt-get install nodejs npm")
    subprocess.run([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=OIDC_DIR, check=True, timeout=600)


class OidcServer:
    def __init__(self):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.discovery_url = f"{self.base}/.well-known/openid-configuration"
        self.process: subprocess.Popen | None = None
        # Outlives the process: output() reads it after stop() for the failure message; gone at exit.
        self._log = tempfile.TemporaryFile()  # noqa: SIM115
        self._clients: dict[str, tuple[str, str]] = {}

    def start(self) -> OidcServer:
        ensure_node_modules()
        node = shutil.which("node") or pytest.fail("node is needed for the local OpenID provider (tests/oidc)")
        env = {
            **os.environ,
            "PORT": str(self.port),
            "FACEBOOK_APP_ID": FACEBOOK_APP_ID,
            "FACEBOOK_APP_SECRET": FACEBOOK_APP_SECRET,
        }
        self.process = subprocess.Popen(
            [node, "server.mjs"], cwd=OIDC_DIR, env=env, stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                break
            try:
                if requests.get(self.discovery_url, timeout=1).ok:
                    return self
            except requests.ConnectionError:
                pass
            time.sleep(0.1)
        self.stop()
        pytest.fail(f"the local OpenID provider did not start:\n{self.output()}")

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

    def register_client(self, redirect_uri: str) -> tuple[str, str]:
        """A client for `redirect_uri`, by OpenID dynamic client registration (one per URI)."""
        if redirect_uri not in self._clients:
            response = requests.post(
                f"{self.base}/reg",
                timeout=5,
                json={
                    "redirect_uris": [redirect_uri],
                    "client_name": "MultiProduct (tests)",
                    "token_endpoint_auth_method": "client_secret_basic",
                },
            )
            response.raise_for_status()
            data = response.json()
            self._clients[redirect_uri] = (data["client_id"], data["client_secret"])
        return self._clients[redirect_uri]

    def configure_google(self, app, base_url: str = TEST_CLIENT_BASE) -> None:
        client_id, secret = self.register_client(f"{base_url}/auth/oauth/google/callback")
        app.config.update(
            GOOGLE_CLIENT_ID=client_id, GOOGLE_CLIENT_SECRET=secret, GOOGLE_DISCOVERY_URL=self.discovery_url
        )

    def configure_facebook(self, app) -> None:
        app.config.update(
            FACEBOOK_CLIENT_ID=FACEBOOK_APP_ID,
            FACEBOOK_CLIENT_SECRET=FACEBOOK_APP_SECRET,
            FACEBOOK_AUTHORIZE_URL=f"{self.base}/facebook/{{version}}/dialog/oauth",
            FACEBOOK_TOKEN_URL=f"{self.base}/facebook/{{version}}/oauth/access_token",
            FACEBOOK_API_BASE_URL=f"{self.base}/facebook/{{version}}/",
        )


@dataclass
class Account:
    """Who signs in at the provider, and what it says about their email."""

    login: str
    email: str | None = None
    email_verified: bool = False
    name: str = ""

    def form(self) -> dict:
        fields = {"login": self.login, "name": self.name, "email": self.email or ""}
        if self.email_verified:
            fields["email_verified"] = "true"
        return fields


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__()
        self.forms: dict[str, dict] = {}
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = {"action": attrs.get("action", ""), "hidden": {}, "inputs": set(), "buttons": []}
            self.forms[attrs.get("id", "")] = self._current
        elif self._current is not None and tag == "input":
            if attrs.get("type") == "hidden":
                self._current["hidden"][attrs["name"]] = attrs.get("value", "")
            self._current["inputs"].add(attrs.get("name"))
        elif self._current is not None and tag == "button" and attrs.get("name"):
            self._current["buttons"].append((attrs["name"], attrs.get("value", "")))

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


class SocialFlow:
    """The redirect dance of a social sign-in, with real HTTP on both sides."""

    def __init__(self, client):
        self.client = client
        self.browser = requests.Session()

    def start(self, provider: str, next: str | None = None) -> str:
        response = self.client.get(f"/auth/oauth/{provider}", query_string={"next": next} if next else None)
        assert response.status_code == 302, response.get_data(as_text=True)[:500]
        return response.headers["Location"]

    def authorize(self, provider: str, account: Account, *, next: str | None = None, deny_on: str | None = None) -> str:
        """Sign in at the provider (pressing Deny on the form with id `deny_on`); the callback URL it sends back."""
        response = self.browser.get(self.start(provider, next), allow_redirects=False, timeout=10)
        for _ in range(15):
            if response.is_redirect:
                target = urljoin(response.url, response.headers["Location"])
                if target.startswith(TEST_CLIENT_BASE + "/"):
                    return target
                response = self.browser.get(target, allow_redirects=False, timeout=10)
                continue
            assert response.status_code == 200, response.text[:500]
            parser = _Forms()
            parser.feed(response.text)
            ((form_id, form),) = parser.forms.items()
            data = dict(form["hidden"])
            if "login" in form["inputs"]:
                data.update(account.form())
            choices = dict((value, name) for name, value in form["buttons"])
            choice = "deny" if form_id == deny_on else [v for v in choices if v != "deny"][0]
            data[choices[choice]] = choice
            response = self.browser.post(
                urljoin(response.url, form["action"]), data=data, allow_redirects=False, timeout=10
            )
        raise AssertionError("the provider never redirected back to the app")

    def sign_in(self, provider: str, account: Account, **kwargs):
        """The whole round trip; the app's response to the callback."""
        callback = self.authorize(provider, account, **kwargs)
        parts = urlsplit(callback)
        return self.client.get(f"{parts.path}?{parts.query}")


def text(response) -> str:
    """The response body as a person reads it (entities decoded)."""
    return html.unescape(response.get_data(as_text=True))


def without_tokens(response) -> str:
    """`text(response)` without what differs on every request (CSP nonce, CSRF token), to compare pages."""
    body = re.sub(r'nonce="[^"]*"', "", text(response))
    body = re.sub(r'"X-CSRFToken": "[^"]*"', "", body)
    return re.sub(r'name="csrf_token" value="[^"]*"', "", body)


def signed_in_as(client) -> str | None:
    """The name in the navbar's account menu, or None when nobody is signed in."""
    found = re.search(r'class="[^"]*\buser-name\b[^"]*">([^<]*)<', client.get("/").get_data(as_text=True))
    return found and found.group(1)


def users(session) -> list:
    from app.models.user import User

    return session.scalars(sa.select(User).order_by(User.created_at)).all()


def actions(session) -> list[str]:
    """Audit actions, oldest first."""
    from app.models.audit import AuditEvent

    return [e.action for e in session.scalars(sa.select(AuditEvent).order_by(AuditEvent.created_at))]


@pytest.fixture(scope="session")
def oidc_server():
    server = OidcServer().start()
    yield server
    server.stop()


@pytest.fixture
def google(app, oidc_server):
    """The app's Google settings pointed at the local OpenID provider."""
    oidc_server.configure_google(app)
    return oidc_server


@pytest.fixture
def facebook(app, oidc_server):
    """The app's Facebook settings pointed at the local OAuth 2 server."""
    oidc_server.configure_facebook(app)
    return oidc_server


@pytest.fixture
def social(client):
    return SocialFlow(client)
