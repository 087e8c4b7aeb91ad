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
