"""Identity jobs on the real worker: the SMS adapter and the periodic clean-ups."""

from datetime import timedelta

import sqlalchemy as sa

from app.auth.sms import queue_sms
from app.extensions import db
from app.models.base import utcnow
from app.models.mail import DevMail
from app.models.user import UserSession
from app.outbox import enqueue
from app.workers import PERIODIC
from tests.support.users import make_user


def test_the_built_in_sms_adapter_writes_to_the_outbox_and_logs_without_the_text(app, run_jobs, caplog):
    with app.app_context():
        queue_sms("+14155550100", "MultiProduct: your verification code is 123456.")
        db.session.commit()
    caplog.set_level("INFO", logger="app.auth.sms")
    assert run_jobs(["high"]) == 1
    with app.app_context():
        sms = db.session.scalar(sa.select(DevMail))
    assert sms.to == "+14155550100" and "123456" in sms.text and sms.html is None
    assert "SMS to +14155550100" in caplog.text and "123456" not in caplog.text  # a text may hold a code


def test_the_cleanup_jobs_are_scheduled_hourly_and_daily():
    schedule = {p.func: p for p in PERIODIC}
    assert schedule["jobs.auth.cleanup_otps"].interval == 3600
    assert schedule["jobs.auth.purge_sessions"].cron == "17 3 * * *"


def test_purge_sessions_job_runs_on_the_worker(app, run_jobs):
    with app.app_context():
        user = make_user()
        db.session.add(UserSession(user_id=user.id, revoked_at=utcnow() - timedelta(days=1)))
        enqueue("jobs.auth.purge_sessions", queue="low")
        db.session.commit()
    assert run_jobs(["low"]) == 1
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(UserSession)) == 0
