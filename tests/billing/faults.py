"""A database that drops right after the real sandbox has charged (fixtures for checkout and renewal faults).

A plugin of tests/conftest.py: tests ask for `proxy`, `behind_proxy`, `drop_database_after_charge` by name.
"""

import pytest

from app.billing.gateway.sandbox import SandboxGateway
from tests.conftest import SERVICES
from tests.support.faults import proxy_in_front_of


@pytest.fixture
def proxy():
    proxy = proxy_in_front_of(SERVICES.database_url, 5432)
    yield proxy
    proxy.stop()


@pytest.fixture
def behind_proxy(make_app, proxy):
    """The app (same database, same Redis) reaching its database through the proxy."""
    return make_app(SQLALCHEMY_DATABASE_URI=proxy.url_for(SERVICES.database_url))


@pytest.fixture
def drop_database_after_charge(monkeypatch, proxy):
    """The real sandbox charges; as soon as it has answered, the database is gone (connections refused)."""
    real_charge = SandboxGateway.charge

    def charge(self, **kwargs):
        result = real_charge(self, **kwargs)
        proxy.refuse()
        return result

    monkeypatch.setattr(SandboxGateway, "charge", charge)
