"""`make smoke`: start `make run` on the embedded default and walk through it over HTTP.

The mode a newcomer gets first: a fresh SQLite database in a temporary directory, no
Redis, a free port (not 5000, so every absolute link has to follow the served port).
It signs in as the demo customer `make run` printed, buys a plan with the sandbox
card (the sandbox's webhook comes back to this port), finds the receipt and a reset
link at /dev/mail, and opens /admin as the demo admin. Exit 0 when every step worked;
otherwise the step that failed, then the server's output.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path

import pyotp
import requests

ROOT = Path(__file__).resolve().parent.parent
CARD = {
    "payment_method": "card",
    "card_number": "4242 4242 4242 4242",
    "card_expiry": "12/34",
    "card_cvc": "123",
    "card_name": "Smoke Test",
}


class SmokeFailed(Exception):
    pass


class Forms(HTMLParser):
    """Every <form> of a page: its action and the values a person would send untouched."""

    def __init__(self, html: str):
        super().__init__()
        self.forms: list[dict] = []
        self._select: str | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.forms.append({"action": a.get("action") or "", "fields": {}, "required": []})
        elif not self.forms:
            return
        fields = self.forms[-1]["fields"]
        if tag == "input" and a.get("name"):
            kind = a.get("type", "text")
            if kind in ("radio", "checkbox") and "checked" not in a:
                return
            fields[a["name"]] = a.get("value") or ""
            if "required" in a or a.get("aria-required") == "true":
                self.forms[-1]["required"].append(a["name"])
        elif tag == "select" and a.get("name"):
            self._select = a["name"]
        elif tag == "option" and self._select and a.get("value") and self._select not in fields:
            fields[self._select] = a["value"]

    def handle_endtag(self, tag):
        if tag == "select":
            self._select = None

    def with_action(self, pattern: str) -> dict:
        for form in self.forms:
            if re.search(pattern, form["action"]):
                return form
        raise SmokeFailed(f"no form posting to {pattern!r} on the page")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Smoke:
    def __init__(self, base: str, db_path: Path, demo: dict[str, tuple[str, str]], totp_key: str):
        self.base = base
        self.db_path = db_path
        self.demo = demo
        self.totp_key = totp_key

    def step(self, text: str) -> None:
        print(f"smoke: {text}", flush=True)

    def get(self, http: requests.Session, path: str, expect: str | None = None) -> requests.Response:
        response = http.get(path if path.startswith("http") else self.base + path, timeout=30)
        if response.status_code != 200 or (expect and expect not in response.text):
            raise SmokeFailed(
                f"GET {path}: {response.status_code}, expected 200{f' with {expect!r}' if expect else ''}"
            )
        return response

    def post(self, http: requests.Session, page: requests.Response, action: str, values: dict) -> requests.Response:
        form = Forms(page.text).with_action(action)
        response = http.post(self.base + form["action"], data={**form["fields"], **values}, timeout=60)
        if response.status_code >= 400:
            raise SmokeFailed(f"POST {form['action']}: {response.status_code}")
        return response

    def sign_in(self, role: str) -> requests.Session:
        email, password = self.demo[role]
        http = requests.Session()
        page = self.get(http, "/auth/login")
        response = self.post(http, page, r"/auth/login", {"identifier": email, "password": password})
        if "/auth/mfa" in response.url:  # staff: the second step, with the demo admin's printed key
            code = pyotp.TOTP(self.totp_key).now()
            response = self.post(http, response, r"/auth/mfa$", {"code": code})
        if "Log out" not in response.text:
            raise SmokeFailed(f"signing in as the demo {role} ({email}) did not work")
        self.step(f"signed in as the demo {role} {email}")
        return http

    def run(self) -> None:
        anonymous = requests.Session()
        self.get(anonymous, "/", "MultiProduct")
        catalog = self.get(anonymous, "/products/", "Products")
        self.get(anonymous, "/readyz")
        self.step("home, catalog and /readyz answer")

        customer = self.sign_in("customer")
        slug = re.search(r'href="/products/([a-z0-9-]+)"', catalog.text).group(1)
        product = self.get(customer, f"/products/{slug}")
        self.post(customer, product, r"/cart/add$", {})
        checkout = self.get(customer, "/checkout", "Review and pay")
        form = Forms(checkout.text).with_action(r"/checkout$")
        answers = {name: "Smoke Test Ltd" for name in form["required"] if not form["fields"].get(name)}
        done = self.post(customer, checkout, r"/checkout$", {**answers, **CARD})
        if "Payment received" not in done.text:
            raise SmokeFailed(f"checkout did not complete: {done.url}")
        self.step(f"bought a {slug} plan with the sandbox card")
        self.check_the_webhook_came_back()

        self.post(
            anonymous,
            self.get(anonymous, "/auth/password-reset"),
            r"/auth/password-reset$",
            {"email": self.demo["customer"][0]},
        )
        mail = self.get(anonymous, "/dev/mail/", "Development mail")
        if "Receipt for invoice" not in mail.text:
            raise SmokeFailed("no receipt at /dev/mail")
        latest = re.search(r'href="(/dev/mail/\d+)">Reset your', mail.text).group(1)
        link = re.search(r'(https?://[^\s"<]+/auth/password-reset/[^\s"<]+)', self.get(anonymous, latest).text)
        if not link or not link.group(1).startswith(self.base + "/"):
            raise SmokeFailed(f"the emailed reset link does not lead to {self.base}: {link and link.group(1)}")
        self.get(anonymous, link.group(1), "Choose a new password")
        self.step("the receipt and the reset link are at /dev/mail; the link opens on this port")

        self.get(self.sign_in("admin"), "/admin/", "Dashboard")
        self.step("the demo admin opens /admin")

    def check_the_webhook_came_back(self) -> None:
        with sqlite3.connect(self.db_path) as db:
            processed = db.execute("SELECT count(*) FROM webhook_event WHERE status = 'processed'").fetchone()[0]
            failed = db.execute("SELECT func, last_error FROM outbox_message WHERE last_error IS NOT NULL").fetchall()
        if failed:
            raise SmokeFailed(f"jobs failed: {failed}")
        if not processed:
            raise SmokeFailed("the sandbox's webhook never reached the server")
        self.step("the sandbox's webhook reached this port and was processed")


def demo_accounts(output: str) -> dict[str, tuple[str, str]]:
    found = {
        role: (email, password)
        for role, email, password in re.findall(r"demo (customer|admin): (\S+), password (\S+)", output)
    }
    if set(found) != {"customer", "admin"}:
        raise SmokeFailed("`make run` did not print the demo customer and admin")
    return found


def demo_totp_key(output: str) -> str:
    found = re.search(r"demo admin authenticator key: ([A-Z2-7]+)", output)
    if found is None:
        raise SmokeFailed("`make run` did not print the demo admin's authenticator key")
    return found.group(1)


def main() -> int:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    tmp = Path(tempfile.mkdtemp(prefix="smoke-"))
    log = tmp / "make-run.log"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "REDIS_URL", "APP_ENV", "BASE_URL", "MAIL_SERVER", "TEST_DATABASE_URL"}
    }
    env.update(PORT=str(port), DATABASE_URL=f"sqlite:///{tmp / 'smoke.db'}")
    print(f"smoke: make run on {base} (database {tmp / 'smoke.db'})", flush=True)
    with open(log, "w") as out:
        server = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if server.poll() is not None:
                raise SmokeFailed(f"make run exited with {server.returncode}")
            try:
                requests.get(base + "/healthz", timeout=2)
                break
            except requests.ConnectionError:
                if time.monotonic() > deadline:
                    raise SmokeFailed("make run did not answer within 3 minutes") from None
                time.sleep(0.3)
        output = log.read_text()
        if "mode: embedded default" not in output:
            raise SmokeFailed("make run did not say it is on the embedded default")
        Smoke(base, tmp / "smoke.db", demo_accounts(output), demo_totp_key(output)).run()
    except (SmokeFailed, requests.RequestException) as exc:
        print(f"smoke: FAILED: {exc}\n--- make run output ---\n{log.read_text()}", file=sys.stderr)
        return 1
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            server.wait(timeout=20)
    shutil.rmtree(tmp, ignore_errors=True)  # kept when a step failed, to look at
    print("smoke: OK", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
