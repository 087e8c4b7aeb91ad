import pytest

from tests.support.faults import flask_command, process_env, wait_until


def test_healthz_says_the_process_is_up(client):
    assert client.get("/healthz").json == {"status": "ok"}


def readyz(client):
    response = client.get("/readyz")
    return response.status_code, response.json["down"]


@pytest.mark.slow
def test_readyz_is_200_when_the_database_redis_the_scheduler_and_a_worker_answer(app, client, app_processes):
    env = process_env(app)
    app_processes("scheduler", flask_command("scheduler"), env)
    app_processes("worker", flask_command("worker"), env)
    assert wait_until(lambda: readyz(client) == (200, []), 60, interval=0.2, message="/readyz 200")


def test_readyz_names_the_scheduler_and_the_worker_when_neither_runs(client):
    assert readyz(client) == (503, ["scheduler", "worker"])


@pytest.mark.slow
def test_readyz_names_the_scheduler_soon_after_it_is_killed(app, client, app_processes):
    env = process_env(app)
    scheduler = app_processes("scheduler", flask_command("scheduler"), env)
    app_processes("worker", flask_command("worker"), env)
    wait_until(lambda: readyz(client) == (200, []), 60, interval=0.2, message="/readyz 200")

    scheduler.kill9()  # no clean-up: its heartbeat simply stops
    assert wait_until(
        lambda: readyz(client) == (503, ["scheduler"]), 30, interval=0.5, message="/readyz to name the scheduler"
    )


def test_readyz_in_the_embedded_mode_needs_no_scheduler_or_worker(make_app):
    import fakeredis

    embedded = make_app(
        REDIS_URL=None, JOBS_INLINE=True, FAKEREDIS_SERVER=fakeredis.FakeServer(), RATELIMIT_STORAGE_URI="memory://"
    )
    assert readyz(embedded.test_client()) == (200, [])


def test_readyz_names_redis_when_it_is_down(make_app):
    app = make_app(REDIS_URL="redis://127.0.0.1:1/0", FAKEREDIS_SERVER=None)
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.json["down"] == ["redis"]


def test_readyz_names_the_database_when_it_is_down(make_app):
    app = make_app(
        SQLALCHEMY_DATABASE_URI="postgresql+psycopg://postgres@127.0.0.1:1/none",
        SQLALCHEMY_ENGINE_OPTIONS={"connect_args": {"connect_timeout": 1}},
    )
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert "database" in response.json["down"]


def test_metrics_expose_request_counts_and_latency(client):
    client.get("/healthz")
    body = client.get("/metrics").get_data(as_text=True)
    assert 'http_requests_total{endpoint="main.healthz",method="GET",status="200"}' in body
    assert "http_request_duration_seconds_bucket" in body
    assert "jobs_enqueued_total" in body or "# HELP jobs_enqueued_total" in body


def test_metrics_can_require_a_token(app, client):
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_metrics_are_hidden_in_production_unless_a_token_is_set(make_app):
    app = make_app(APP_ENV="production", METRICS_TOKEN=None)
    assert app.test_client().get("/metrics").status_code == 404
    app.config["METRICS_TOKEN"] = "s3cret"
    client = app.test_client()
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer s3cret"}).status_code == 200


def test_a_metrics_token_that_is_not_ascii_is_a_404_not_a_500(app, client):
    app.config["METRICS_TOKEN"] = "s3cret"
    assert client.get("/metrics", headers={"Authorization": "Bearer s3crét"}).status_code == 404
