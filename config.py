"""Settings, read from the environment. README.md lists every variable.

`APP_ENV` picks the class: development (default), test or production.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent


def env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = env(name)
    return int(value) if value is not None else default


def env_float(name: str, default: float) -> float:
    value = env(name)
    return float(value) if value is not None else default


def exponential_backoff(base: int, factor: int, retries: int) -> list[int]:
    """Seconds to wait before each retry: base, base·factor, base·factor², …"""
    return [base * factor**n for n in range(retries)]


class ConfigError(RuntimeError):
    """The environment does not describe a startable app: one line per problem."""


class Config:
    APP_ENV = "base"
    SITE_NAME = env("SITE_NAME", "MultiProduct")
    SECRET_KEY = env("SECRET_KEY", "dev-secret-key-not-for-production")
    # Fernet keys (comma-separated, newest first: older ones still decrypt) for second-factor secrets at rest.
    # Unset outside production: a fixed development key derived in app/auth/mfa_keys.py (and logged as such).
    MFA_ENCRYPTION_KEY = env("MFA_ENCRYPTION_KEY")

    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL")
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, object] = {"pool_pre_ping": True}
    REDIS_URL = env("REDIS_URL")
    # Jobs go to RQ on Redis; with no Redis they run in-process after the commit.
    JOBS_INLINE = REDIS_URL is None
    # A failed job is retried JOB_RETRIES times, waiting 15 s, 1 min, 4 min (×4 each
    # time), then stays in RQ's failed-job registry for an admin to retry.
    JOB_RETRIES = 3
    JOB_RETRY_INTERVALS = exponential_backoff(env_int("JOB_RETRY_BASE_SECONDS", 15), 4, JOB_RETRIES)
    OUTBOX_RELAY_SECONDS = env_int("OUTBOX_RELAY_SECONDS", 5)
    # An outbox row is done when its job has finished. One handed to RQ longer ago than
    # this and not finished is looked up in RQ and handed over again if Redis lost it
    # (a restart without persistence, a failover); jobs are idempotent, so that is safe.
    OUTBOX_VISIBILITY_SECONDS = env_int("OUTBOX_VISIBILITY_SECONDS", 120)
    # A busy worker proves its job is alive this often; a job whose worker has been silent
    # for JOB_ABANDONED_SECONDS (kill -9, a lost host) is retried by the scheduler.
    JOB_HEARTBEAT_SECONDS = env_int("JOB_HEARTBEAT_SECONDS", 10)
    JOB_ABANDONED_SECONDS = env_int("JOB_ABANDONED_SECONDS", 30)
    # Postgres ends a worker's or the scheduler's session idle inside a transaction this
    # long (its process vanished without closing the socket), releasing its row locks.
    JOB_IDLE_IN_TRANSACTION_SECONDS = env_int("JOB_IDLE_IN_TRANSACTION_SECONDS", 60)

    # Redis answers in microseconds: wait REDIS_TIMEOUT seconds at most, then skip Redis
    # for REDIS_CIRCUIT_SECONDS (cache from SQL, limits in memory, jobs left in the outbox),
    # so a hung server costs one short wait, not one per call.
    REDIS_TIMEOUT = env_float("REDIS_TIMEOUT", 1.0)
    REDIS_CIRCUIT_SECONDS = env_float("REDIS_CIRCUIT_SECONDS", 5.0)

    MAIL_SERVER = env("MAIL_SERVER")
    MAIL_PORT = env_int("MAIL_PORT", 25)
    MAIL_USE_TLS = env_bool("MAIL_USE_TLS")
    MAIL_USE_SSL = env_bool("MAIL_USE_SSL")
    MAIL_USERNAME = env("MAIL_USERNAME")
    MAIL_PASSWORD = env("MAIL_PASSWORD")
    MAIL_DEFAULT_SENDER = env("MAIL_DEFAULT_SENDER", "MultiProduct <no-reply@multiproduct.local>")
    MAIL_TIMEOUT = env_int("MAIL_TIMEOUT", 10)
    # Keep every message in the browsable development outbox (/dev/mail).
    DEV_MAIL_OUTBOX = env_bool("DEV_MAIL_OUTBOX", False)

    # Read notifications older than this are deleted by a daily job.
    NOTIFICATION_RETENTION_DAYS = env_int("NOTIFICATION_RETENTION_DAYS", 90)
    # How often an open page asks for the unread count (it also refreshes on every change it causes).
    NOTIFICATION_POLL_SECONDS = env_int("NOTIFICATION_POLL_SECONDS", 30)

    RATELIMIT_ENABLED = env_bool("RATELIMIT_ENABLED", True)
    RATELIMIT_HEADERS_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True  # Redis down: log and allow, never a 500
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_KEY_PREFIX = "rl"

    WTF_CSRF_TIME_LIMIT = None  # tokens live as long as the session
    WTF_CSRF_HEADERS = ["X-CSRFToken"]
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    PREFERRED_URL_SCHEME = "http"
    # Number of trusted reverse proxies in front of the app (X-Forwarded-*).
    PROXY_COUNT = env_int("PROXY_COUNT", 0)
    # The public origin for absolute links (emails, the sandbox's webhook). Required in production;
    # unset elsewhere, links follow the served host and port (app/links.py).
    BASE_URL = env("BASE_URL")
    # The port `make run` and the Procfiles serve on; development links built outside a request use it.
    PORT = env_int("PORT", 5000)
    # Phone numbers typed without a +country prefix are read in this region (ISO 3166 code).
    PHONE_DEFAULT_REGION = env("PHONE_DEFAULT_REGION", "US")
    # The SMS adapter for phone codes ("module:Class"); the built-in one writes to the dev outbox and the log.
    SMS_ADAPTER = env("SMS_ADAPTER", "app.auth.sms:OutboxSms")
    # A MaxMind-format City/Country database (.mmdb, e.g. GeoLite2-City): sign-in alerts name the place.
    GEOIP_DATABASE = env("GEOIP_DATABASE")
    # `flask purge-sessions` deletes sessions idle longer than this.
    SESSION_IDLE_DAYS = env_int("SESSION_IDLE_DAYS", 30)
    # A browser that signed in keeps its own count of wrong passwords (not the account's) this long.
    DEVICE_COOKIE_DAYS = env_int("DEVICE_COOKIE_DAYS", 365)
    # Every sign-in ends this many days after it started, however active (checked on each request);
    # "keep me signed in" lasts as long, but never more than 30 days.
    SESSION_ABSOLUTE_DAYS = env_int("SESSION_ABSOLUTE_DAYS", 30)
    # A sign-in without "keep me signed in" ends after this long without a request.
    SESSION_IDLE_MINUTES = env_int("SESSION_IDLE_MINUTES", 120)

    # Largest request body read (413 beyond); the payment webhook has its own, smaller limit.
    MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 1024 * 1024)

    # The JSON API (/api/): its bodies' size and nesting limits (413 / 400 beyond), and the browser
    # origins allowed to call it cross-origin (comma-separated; none by default: CORS is off).
    API_MAX_BODY_BYTES = env_int("API_MAX_BODY_BYTES", 64 * 1024)
    API_MAX_JSON_DEPTH = 16
    API_MAX_URL_LENGTH = 4096  # path + query; gunicorn's own limit (gunicorn.conf.py) is 8190
    API_CORS_ORIGINS = tuple(o.strip().rstrip("/") for o in (env("API_CORS_ORIGINS") or "").split(",") if o.strip())

    # Social login. A provider is offered only when its client id and secret are set.
    GOOGLE_CLIENT_ID = env("GOOGLE_CLIENT_ID")
    GOOGLE_CLIENT_SECRET = env("GOOGLE_CLIENT_SECRET")
    GOOGLE_DISCOVERY_URL = env("GOOGLE_DISCOVERY_URL", "https://accounts.google.com/.well-known/openid-configuration")
    FACEBOOK_CLIENT_ID = env("FACEBOOK_CLIENT_ID")
    FACEBOOK_CLIENT_SECRET = env("FACEBOOK_CLIENT_SECRET")
    FACEBOOK_GRAPH_VERSION = env("FACEBOOK_GRAPH_VERSION", "v25.0")
    # "{version}" is replaced by FACEBOOK_GRAPH_VERSION.
    FACEBOOK_AUTHORIZE_URL = env("FACEBOOK_AUTHORIZE_URL", "https://www.facebook.com/{version}/dialog/oauth")
    FACEBOOK_TOKEN_URL = env("FACEBOOK_TOKEN_URL", "https://graph.facebook.com/{version}/oauth/access_token")
    FACEBOOK_API_BASE_URL = env("FACEBOOK_API_BASE_URL", "https://graph.facebook.com/{version}/")
    OAUTH_TIMEOUT = env_int("OAUTH_TIMEOUT", 10)

    # Passkeys (WebAuthn). Unset, both follow the origin links use (BASE_URL, else the served host);
    # the relying-party id is that origin's host name.
    WEBAUTHN_RP_ID = env("WEBAUTHN_RP_ID")
    WEBAUTHN_ORIGIN = env("WEBAUTHN_ORIGIN")

    # Billing. The gateway adapter ("sandbox" is the built-in one) and its webhook.
    PAYMENT_GATEWAY = env("PAYMENT_GATEWAY", "sandbox")
    # Comma-separated: the first signs (sandbox), any of them verifies (secret rotation).
    PAYMENT_WEBHOOK_SECRETS = env("PAYMENT_WEBHOOK_SECRETS", "whsec_sandbox_development_only")
    PAYMENT_WEBHOOK_URL = env("PAYMENT_WEBHOOK_URL")  # default: the origin (app/links.py) + /payment/webhook
    PAYMENT_WEBHOOK_TOLERANCE = env_int("PAYMENT_WEBHOOK_TOLERANCE", 300)  # seconds
    PAYMENT_WEBHOOK_MAX_BYTES = env_int("PAYMENT_WEBHOOK_MAX_BYTES", 256 * 1024)  # larger bodies: 413
    # The sandbox confirms each payment by POSTing a signed event to the webhook (an outbox job).
    PAYMENT_SANDBOX_WEBHOOKS = env_bool("PAYMENT_SANDBOX_WEBHOOKS", True)
    # Stripe (PAYMENT_GATEWAY=stripe): the account's keys, its webhook signing secrets (comma-separated,
    # any of them verifies while one is rotated), and where its API and Stripe.js live (the tests point
    # both at localstripe). The card is typed into Stripe's element: no card number reaches this app.
    STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY")
    STRIPE_PUBLISHABLE_KEY = env("STRIPE_PUBLISHABLE_KEY")
    STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
    STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com")
    STRIPE_JS_URL = env("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    BANK_TRANSFER_DUE_DAYS = env_int("BANK_TRANSFER_DUE_DAYS", 14)
    BANK_TRANSFER_DETAILS = env(
        "BANK_TRANSFER_DETAILS", "MultiProduct Ltd · IBAN GB33 BUKB 2020 1555 5555 55 · BIC BUKBGB22"
    )
    BILLING_BATCH_SIZE = env_int("BILLING_BATCH_SIZE", 200)
    # `flask billing run --at` in production (development and test always allow it).
    BILLING_TIME_TRAVEL = env_bool("BILLING_TIME_TRAVEL", False)
    # Who issues the invoices: the defaults until an admin saves them on /admin/fee (then the database wins).
    SELLER_NAME = env("SELLER_NAME", "MultiProduct Ltd")
    SELLER_ADDRESS = env("SELLER_ADDRESS", "1 Market Street\nLondon EC1A 1AA\nUnited Kingdom")  # lines: "\n"
    SELLER_TAX_ID = env("SELLER_TAX_ID", "")

    # When set, /metrics wants "Authorization: Bearer <token>".
    METRICS_TOKEN = env("METRICS_TOKEN")
    LOG_LEVEL = env("LOG_LEVEL", "INFO")
    LOG_JSON = env_bool("LOG_JSON", True)
    HSTS = False

    @classmethod
    def check(cls) -> None:
        """Raise ConfigError when the settings cannot run."""


class DevelopmentConfig(Config):
    APP_ENV = "development"
    SQLALCHEMY_DATABASE_URI = env("DATABASE_URL", f"sqlite:///{BASE_DIR / 'instance' / 'multiproduct.db'}")
    DEV_MAIL_OUTBOX = env_bool("DEV_MAIL_OUTBOX", True)
    LOG_JSON = env_bool("LOG_JSON", False)


class TestConfig(Config):
    APP_ENV = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"  # noqa: S105  (the test configuration's, never a deployment's)
    SQLALCHEMY_DATABASE_URI = env("TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    REDIS_URL = env("REDIS_URL", "redis://127.0.0.1:6379/15")
    JOBS_INLINE = False
    # Concurrency tests open dozens of connections at once.
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 70, "pool_timeout": 30}
    # Never a real MAIL_SERVER from the environment; a test's own processes (flask worker …) get its SMTP sink.
    MAIL_SERVER = env("TEST_MAIL_SERVER")
    MAIL_PORT = env_int("TEST_MAIL_PORT", 25)
    DEV_MAIL_OUTBOX = False
    LOG_JSON = False
    WTF_CSRF_ENABLED = False  # tests that prove CSRF switch it back on
    RATELIMIT_ENABLED = False  # tests that prove limits switch it back on
    # Social providers are off unless a test points them at the local ones.
    GOOGLE_CLIENT_ID = GOOGLE_CLIENT_SECRET = FACEBOOK_CLIENT_ID = FACEBOOK_CLIENT_SECRET = None
    SERVER_NAME = None
    PAYMENT_WEBHOOK_SECRETS = "whsec_test_current,whsec_test_previous"
    # Tests that prove the HTTP round trip switch it on (against a live server).
    PAYMENT_SANDBOX_WEBHOOKS = False


class ProductionConfig(Config):
    APP_ENV = "production"
    SECRET_KEY = env("SECRET_KEY")
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_SECURE = True
    PREFERRED_URL_SCHEME = "https"
    HSTS = True
    PAYMENT_WEBHOOK_SECRETS = env("PAYMENT_WEBHOOK_SECRETS")  # required: check() refuses to start without it

    # Each is required in production: what it is for, said on the one line that reports it missing.
    REQUIRED = {
        "SECRET_KEY": "a key to sign sessions and tokens (at least 32 random characters)",
        "DATABASE_URL": "the PostgreSQL database (postgresql://user:password@host/name)",
        "REDIS_URL": "Redis for jobs, cache and rate limits (redis://host:6379/0)",
        "BASE_URL": "the site's public address for links in emails (https://shop.example.com)",
        "MFA_ENCRYPTION_KEY": "a Fernet key that encrypts authenticator secrets at rest, comma-separated to rotate "
        "(make one with `python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`)",
    }
    # Required as well with the sandbox gateway (its signed events) …
    REQUIRED_FOR_SANDBOX = {
        "PAYMENT_WEBHOOK_SECRETS": "the payment provider's webhook signing secrets, comma-separated "
        "(without one every payment confirmation is refused)",
    }
    # … or, instead, when PAYMENT_GATEWAY=stripe.
    REQUIRED_FOR_STRIPE = {
        "STRIPE_SECRET_KEY": "the Stripe account's secret key (sk_live_…) when PAYMENT_GATEWAY=stripe",
        "STRIPE_PUBLISHABLE_KEY": "the Stripe account's publishable key (pk_live_…) for the card element "
        "when PAYMENT_GATEWAY=stripe",
        "STRIPE_WEBHOOK_SECRET": "the Stripe webhook endpoint's signing secrets (whsec_…), comma-separated, "
        "when PAYMENT_GATEWAY=stripe (without one every Stripe event is refused)",
    }

    @classmethod
    def check(cls) -> None:
        required = dict(cls.REQUIRED)
        stripe = (env("PAYMENT_GATEWAY") or "sandbox").strip().lower() == "stripe"
        required.update(cls.REQUIRED_FOR_STRIPE if stripe else cls.REQUIRED_FOR_SANDBOX)
        problems = [
            f"{name} is not set: production needs {purpose}." for name, purpose in required.items() if not env(name)
        ]
        secret_key = env("SECRET_KEY")
        if secret_key and len(secret_key) < 32:
            problems.append("SECRET_KEY must be at least 32 random characters in production.")
        base_url = env("BASE_URL")
        if base_url and not re.fullmatch(r"https?://[^/\s]+(/\S*)?", base_url):
            problems.append(
                f"BASE_URL must be an absolute http(s) address like https://shop.example.com; got {base_url!r}."
            )
        problems.extend(_fernet_key_problems(env("MFA_ENCRYPTION_KEY")))
        if problems:
            raise ConfigError("\n".join(problems))


def _fernet_key_problems(value: str | None) -> list[str]:
    """MFA_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes each); say so on one line if not."""
    for key in (value or "").split(","):
        if not key.strip():
            continue
        try:
            raw = base64.urlsafe_b64decode(key.strip().encode())
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) != 32:
            return ["MFA_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes each), comma-separated."]
    return []


CONFIGS = {
    "development": DevelopmentConfig,
    "test": TestConfig,
    "production": ProductionConfig,
}


def get_config(name: str | None = None) -> type[Config]:
    name = (name or env("APP_ENV") or "development").strip().lower()
    try:
        return CONFIGS[name]
    except KeyError:
        raise ConfigError(f"APP_ENV must be one of {', '.join(CONFIGS)}; got {name!r}.") from None


def normalize_database_url(url: str) -> str:
    """Use psycopg 3 for plain postgres:// URLs (Heroku-style)."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url
