"""gunicorn's settings, used by the Procfile and the benchmarks (`gunicorn -c gunicorn.conf.py wsgi:app`).

Command-line flags still override any of these (the benchmarks pass their own bind, workers and threads).
The request-size limits sit at gunicorn's maximums so that what gunicorn answers by itself (a plain-text
400 or 414, outside the API's problem documents) is rare: the app answers a URL longer than
API_MAX_URL_LENGTH under /api/ with a 414 problem document, and bodies with a 413 one.
"""

import os

bind = f"0.0.0.0:{os.environ.get('PORT', '8000')}"
worker_class = "gthread"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
accesslog = "-"

# The request line and each header: gunicorn's largest values (8190 bytes); at most 100 headers.
limit_request_line = 8190
limit_request_field_size = 8190
limit_request_fields = 100

timeout = 30  # a worker silent this long is restarted
graceful_timeout = 30
keepalive = 5  # seconds an idle keep-alive connection (behind a proxy) stays open
