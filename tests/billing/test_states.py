import pytest

from app.billing.states import ALLOWED, IllegalTransition, transition
from app.models.billing import SUBSCRIPTION_STATUSES, Subscription
from app.web import status_of

LEGAL = [(a, b) for a, targets in ALLOWED.items() for b in sorted(targets)]
ILLEGAL = [(a, b) for a in SUBSCRIPTION_STATUSES for b in SUBSCRIPTION_STATUSES if (a, b) not in LEGAL]


def test_the_table_follows_trial_active_expired_cancelled_plus_past_due():
    assert set(ALLOWED) == set(SUBSCRIPTION_STATUSES)
    assert ("trial", "active") in LEGAL and ("active", "past_due") in LEGAL and ("past_due", "active") in LEGAL
    assert ALLOWED["expired"] == ALLOWED["cancelled"] == frozenset()


@pytest.mark.parametrize("current,target", LEGAL)
def test_an_allowed_transition_changes_the_status(current, target):
    sub = Subscription(status=current, auto_renew=True, retry_count=2)
    transition(sub, target)
    assert sub.status == target
    if target in ("expired", "cancelled"):
        assert sub.ended_at is not None and sub.auto_renew is False
    if target == "active":
        assert sub.retry_count == 0


@pytest.mark.parametrize("current,target", ILLEGAL)
def test_an_illegal_transition_raises_and_changes_nothing(current, target):
    sub = Subscription(status=current, auto_renew=True, retry_count=0)
    before = {c: getattr(sub, c) for c in ("status", "ended_at", "cancelled_at", "auto_renew", "next_retry_at")}
    with pytest.raises(IllegalTransition) as raised:
        transition(sub, target)
    assert status_of(raised.value) == 409 and "can't become" in raised.value.message
    assert {c: getattr(sub, c) for c in before} == before


def test_only_an_active_subscription_pauses_and_a_pause_ends_in_active_or_cancelled():
    assert [s for s, targets in ALLOWED.items() if "paused" in targets] == ["active"]
    assert ALLOWED["paused"] == frozenset({"active", "cancelled"})


@pytest.mark.parametrize("target", ["active", "cancelled"])
def test_leaving_a_pause_forgets_its_dates(target):
    from datetime import UTC, datetime

    sub = Subscription(status="paused", auto_renew=True, retry_count=0)
    sub.pause_start, sub.pause_end = datetime(2027, 1, 1, tzinfo=UTC), datetime(2027, 2, 1, tzinfo=UTC)
    transition(sub, target)
    assert (sub.status, sub.pause_start, sub.pause_end) == (target, None, None)
