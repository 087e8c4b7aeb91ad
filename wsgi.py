"""WSGI entry point (gunicorn wsgi:app) and FLASK_APP for the CLI. Honours APP_ENV."""
import sys

from config import ConfigError

try:
    from app import create_app

    app = create_app()
except ConfigError as exc:
    print(f"error: {exc}", file=sys.stderr)
    sys.exit(2)
