"""The fault harness itself: each fault does to a real client what it claims."""

from __future__ import annotations

import psycopg
import pytest
import redis

from tests.conftest import SERVICES
from tests.support.faults import proxy_in_front_of


def test_a_hung_redis_accepts_connections_and_never_answers(redis_server):
    client = redis.Redis.from_url(redis_server.url(), socket_timeout=0.3)
    assert client.ping()
    redis_server.pause()
    with pytest.raises(redis.TimeoutError):
        client.ping()
    redis_server.resume()
    assert client.ping()


def test_a_stopped_redis_loses_what_it_held(redis_server):
    redis_server.client().set("k", "v")
    redis_server.restart()
    assert redis_server.client().get("k") is None


@pytest.mark.postgres
def test_the_proxy_cuts_open_database_connections_and_refuses_new_ones():
    proxy = proxy_in_front_of(SERVICES.database_url, 5432)
    url = proxy.url_for(SERVICES.database_url).replace("postgresql+psycopg://", "postgresql://")
    try:
        conn = psycopg.connect(url, connect_timeout=2)
        assert conn.execute("SELECT 1").fetchone() == (1,)
        proxy.cut()
        with pytest.raises(psycopg.OperationalError):
            conn.execute("SELECT 1")
        proxy.refuse()
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(url, connect_timeout=2)
        proxy.accept()
        with psycopg.connect(url, connect_timeout=2) as again:
            assert again.execute("SELECT 1").fetchone() == (1,)
    finally:
        proxy.stop()
