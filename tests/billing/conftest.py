from datetime import UTC, datetime

import pytest

from app.extensions import db
from tests.support import checkout


@pytest.fixture
def shop(app):
    """The demo catalog's ids: crm, analytics, crm_team, crm_pro, analytics_yearly."""
    with app.app_context():
        rows = checkout.catalog()
        result = checkout.ids(rows)
        db.session.remove()
    return result


@pytest.fixture
def gateway(app):
    """The sandbox, to ask what it charged."""
    from app.billing.gateway.sandbox import SandboxGateway

    return SandboxGateway(app.extensions["redis"])


T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock(time_machine):
    """`clock(moment)` stops time at `moment` (it starts at T0, 2 Mar 2026 09:00 UTC)."""

    def at(moment):
        time_machine.move_to(moment, tick=False)
        return moment

    at(T0)
    return at
