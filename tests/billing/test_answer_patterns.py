"""An admin's `pattern` is matched in linear time (RE2), and every text answer has a bounded length."""

import contextlib
import signal

import sqlalchemy as sa

from app.extensions import db
from app.models.billing import Subscription
from tests.factories import PlanFactory, ProductFactory

# Backtracking engines need about 2^n steps for n a's and a mismatch at the end (26 took 9.6 s).
CATASTROPHIC = {
    "type": "object",
    "properties": {"code": {"type": "string", "title": "Code", "pattern": "(a+)+$"}},
    "required": ["code"],
}
FREE_TEXT = {"type": "object", "properties": {"notes": {"type": "string", "title": "Notes"}}, "required": ["notes"]}


@contextlib.contextmanager
def must_finish_within(seconds: int):
    """Turn a runaway request into a failure instead of a hung run (Python's re checks signals as it backtracks)."""

    def give_up(signum, frame):
        raise TimeoutError(f"still running after {seconds} s")

    previous = signal.signal(signal.SIGALRM, give_up)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _trial_plan(app, schema) -> str:
    with app.app_context():
        return str(PlanFactory(product=ProductFactory(name="Codebook", product_schema=schema)).id)


def _answer(client, plan_id, **answers):
    return client.post("/subscriptions/trial", data={"plan_id": plan_id, "answers_submitted": "1", **answers})


def _subscriptions(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).select_from(Subscription))


def test_a_catastrophic_pattern_answers_a_40_character_answer_at_once(app, signed_in):
    plan_id = _trial_plan(app, CATASTROPHIC)
    with must_finish_within(20):
        refused = _answer(signed_in, plan_id, code="a" * 40 + "!")
    assert refused.status_code == 400 and "Code is not in the expected format" in refused.get_data(as_text=True)
    assert _subscriptions(app) == 0
    with must_finish_within(20):
        accepted = _answer(signed_in, plan_id, code="a" * 40)
    assert accepted.status_code == 303 and _subscriptions(app) == 1


def test_the_form_leaves_the_pattern_to_the_server_and_caps_every_text_field(app, signed_in):
    """The browser's regex engine backtracks too, so the input carries no `pattern`; it carries the length cap."""
    plan_id = _trial_plan(app, CATASTROPHIC)
    page = signed_in.post("/subscriptions/trial", data={"plan_id": plan_id}, follow_redirects=True).get_data(
        as_text=True
    )
    assert 'id="answer-code"' in page and "pattern=" not in page and 'maxlength="1000"' in page


def test_a_text_answer_without_a_max_length_in_the_schema_is_still_capped(app, signed_in):
    plan_id = _trial_plan(app, FREE_TEXT)
    page = signed_in.post("/subscriptions/trial", data={"plan_id": plan_id}, follow_redirects=True).get_data(
        as_text=True
    )
    assert 'id="answer-notes"' in page and 'maxlength="1000"' in page
    refused = _answer(signed_in, plan_id, notes="x" * 5000)
    assert refused.status_code == 400 and "Notes must be at most 1000 characters" in refused.get_data(as_text=True)
    assert _subscriptions(app) == 0
