"""The contract: schemathesis fuzzes every operation of the served API from its own OpenAPI document,
positive and negative data, with a test token, and every answer must conform to the document.

Its command line (pinned in requirements-dev.txt) runs against a live server on a random port: its pytest
plugin's lazy loading does not run under pytest 9.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from app.auth import tokens
from tests.factories import NotificationFactory, ProductFactory
from tests.support.browser import LiveServer
from tests.support.users import make_user

CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
MAX_EXAMPLES = 30  # per operation: the whole run stays well under a minute on CI's 2 cores
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture
def served(app):
    """The app on a random port, with a customer, a product, a notification and the customer's token."""
    with app.app_context():
        ada = make_user(username="ada")
        ProductFactory(slug="ledger", name="Ledger", plans=True)
        NotificationFactory(user=ada)
        _, token = tokens.create_personal_token(ada, name="schemathesis", scopes=["read", "billing"])
    server = LiveServer(app).start()
    yield server, token
    server.stop()


@pytest.mark.slow
def test_every_operation_conforms_to_the_document(served, tmp_path):
    server, token = served

    run = subprocess.run(
        [
            str(SCHEMATHESIS),
            "run",
            server.url("/api/v1/openapi.json"),
            "--checks",
            CHECKS,
            "--mode",
            "all",
            "--max-examples",
            str(MAX_EXAMPLES),
            "--phases",
            "examples,coverage,fuzzing",
            "--generation-deterministic",
            "--header",
            f"Authorization: Bearer {token}",
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=240,
        cwd=tmp_path,
    )

    assert run.returncode == 0, run.stdout[-20000:] + run.stderr[-5000:]
    selected = re.search(r"Selected: (\d+)/(\d+)", run.stdout)
    tested = re.search(r"Tested: (\d+)", run.stdout)
    assert selected and tested, run.stdout[-3000:]
    assert selected.group(1) == selected.group(2) == tested.group(1), run.stdout[-3000:]  # every operation
    assert int(tested.group(1)) >= 16
