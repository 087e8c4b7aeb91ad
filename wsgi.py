"""WSGI entry point (gunicorn wsgi:app) and FLASK_APP for the CLI. Honours APP_ENV."""

import sys

from config import ConfigError

# gunicorn's "app failed to load": its master stops, instead of booting workers that exit, forever.
APP_LOAD_ERROR = 4

try:
    from app import create_app

    app = create_app()
except ConfigError as exc:
    for line in str(exc).splitlines():
        print(f"error: {line}", file=sys.stderr)
    sys.exit(APP_LOAD_ERROR)
