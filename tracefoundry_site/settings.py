"""Settings for TraceFoundry, read only from the environment (django-environ).

Every variable read here is documented in `.env.example`. With no environment at all the project runs as the
embedded default: SQLite under `var/`, payloads under `payloads/`, no other server.
"""

import os
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DEBUG", default=False)
_DEV_SECRET_KEY = "insecure-development-key-never-use-in-production"  # noqa: S105 (used only with DEBUG)
SECRET_KEY = env.str("SECRET_KEY", default=_DEV_SECRET_KEY if DEBUG else "")
if not SECRET_KEY:
    raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off (see .env.example).")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "accounts.admin_apps.TraceFoundryAdminConfig",  # django.contrib.admin, open to admins only
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "accounts",
    "traces",
    "payloads",
    "bundles",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Before every middleware that edits the answer, so it compresses the final body.
    "tracefoundry_site.json_compression.JsonApiGZipMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "tracefoundry_site.db_routing.ReplicaReadsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tracefoundry_site.urls"
WSGI_APPLICATION = "tracefoundry_site.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "tracefoundry_site" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tracefoundry.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # WAL lets readers run beside the single writer; IMMEDIATE takes the write lock when a transaction
    # starts, so two ingest requests queue up instead of failing with "database is locked" mid-transaction.
    _url_options = DATABASES["default"].get("OPTIONS", {})
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": float(_url_options.get("timeout", 30)),
    }
    # The covering indexes' INCLUDE columns serve Postgres' index-only reads; SQLite ignores them, as meant, and
    # its warning about that would greet every `make run`.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
    # A file, not memory, so that servers the tests start in other processes share the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-{os.getpid()}.sqlite3")}
else:
    # The web server runs each request's view in a thread of its own (Django under ASGI), so connections are
    # borrowed from a pool per process (psycopg_pool) for the request's length, rather than kept per thread.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=8),
        "timeout": env.float("DATABASE_POOL_TIMEOUT_SECONDS", default=5),
    }

# Read replicas (tracefoundry_site/db_routing.py; README "Scaling"): DATABASE_REPLICA_URL names one or several
# Postgres streaming replicas (comma-separated), used for the reads of safe web requests while each answers and
# replays at most DATABASE_REPLICA_MAX_LAG_SECONDS behind; each web process checks them every
# DATABASE_REPLICA_CHECK_SECONDS. Everything else, and every client for a few seconds after it wrote, uses the primary.
DATABASE_REPLICA_MAX_LAG_SECONDS = env.float("DATABASE_REPLICA_MAX_LAG_SECONDS", default=5)
DATABASE_REPLICA_CHECK_SECONDS = env.float("DATABASE_REPLICA_CHECK_SECONDS", default=2)
for _number, _replica_url in enumerate(env.list("DATABASE_REPLICA_URL", default=[]), start=1):
    if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs a Postgres DATABASE_URL (SQLite has no replicas).")
    _replica = env.db_url_config(_replica_url)
    DATABASES[f"replica{_number}"] = {
        **_replica,
        "CONN_MAX_AGE": 0,
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": {**_replica.get("OPTIONS", {}), "pool": DATABASES["default"]["OPTIONS"]["pool"]},
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["tracefoundry_site.db_routing.ReplicaRouter"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# ModelBackend, reading permissions in one query per request (accounts/permission_backend.py).
AUTHENTICATION_BACKENDS = ["accounts.permission_backend.RolePermissionBackend"]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=60 * 60 * 12)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

# Failed logins (login form and HTTP Basic): after LOGIN_FAILURE_LIMIT failures for one username, or
# LOGIN_FAILURE_LIMIT_PER_ADDRESS from one client address, within LOGIN_COOLDOWN_SECONDS, further attempts get
# 429 with Retry-After for LOGIN_COOLDOWN_SECONDS (accounts/login_throttle.py).
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_FAILURE_LIMIT_PER_ADDRESS = env.int("LOGIN_FAILURE_LIMIT_PER_ADDRESS", default=20)
LOGIN_COOLDOWN_SECONDS = env.int("LOGIN_COOLDOWN_SECONDS", default=300)

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# The web server serves the admin's and login pages' static files through WhiteNoise; with finders on, no
# collectstatic step is needed (the Docker image still runs it, so files are served from STATIC_ROOT there).
WHITENOISE_USE_FINDERS = True

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Token first: its WWW-Authenticate makes anonymous callers get 401 without a browser Basic prompt.
        "rest_framework.authentication.TokenAuthentication",
        "accounts.authentication.ThrottledBasicAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Every DRF view is closed to users without a role unless it names another rule (accounts/permissions.py).
    "DEFAULT_PERMISSION_CLASSES": ["accounts.permissions.CanViewTraces"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "rest_framework.views.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "TraceFoundry API",
    "DESCRIPTION": "Traces, spans and facets of LLM agent runs ingested over OTLP/HTTP.",
    "VERSION": "0.1.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.permissions.CanViewTraces"],
    # A trace's status appears in several components (trace summaries, session turns): one enum for all.
    "ENUM_NAME_OVERRIDES": {"TraceSummaryStatusEnum": "traces.models.TraceStatus"},
}

# OTLP ingest limits: the body as received, and the body after decompression (a gzip or zstd bomb is cut off
# while it is being inflated, at this many bytes).
OTLP_MAX_BODY_BYTES = env.int("OTLP_MAX_BODY_BYTES", default=20 * 1024 * 1024)
OTLP_MAX_DECOMPRESSED_BYTES = env.int("OTLP_MAX_DECOMPRESSED_BYTES", default=64 * 1024 * 1024)
OTLP_RETRY_AFTER_SECONDS = env.int("OTLP_RETRY_AFTER_SECONDS", default=5)
# Log records whose span has not arrived yet wait at most this long, and at most this many of them.
OTLP_LOGS_PENDING_MINUTES = env.float("OTLP_LOGS_PENDING_MINUTES", default=30)
OTLP_LOGS_PENDING_MAX_RECORDS = env.int("OTLP_LOGS_PENDING_MAX_RECORDS", default=100_000)
# OTLP/gRPC (`manage.py serve_otlp_grpc`, started by `make run` and the image's `grpc` role).
GRPC_HOST = env.str("GRPC_HOST", default="127.0.0.1")
GRPC_PORT = env.int("GRPC_PORT", default=4317)
GRPC_WORKERS = env.int("GRPC_WORKERS", default=4)

# Work one OTLP request may ask for, refused with 413 before anything is decoded into spans or written: the
# worst request within both limits finishes in a few seconds (README, Benchmark).
OTLP_MAX_SPANS_PER_REQUEST = env.int("OTLP_MAX_SPANS_PER_REQUEST", default=10_000)
OTLP_MAX_TRACES_PER_REQUEST = env.int("OTLP_MAX_TRACES_PER_REQUEST", default=5_000)

# The web server (Granian, started by tracefoundry_site/serve.py): a client must send its request headers within
# WEB_HEADER_TIMEOUT_SECONDS and its whole body within WEB_BODY_TIMEOUT_SECONDS of the request's start (totals,
# however the bytes are dribbled), else its connection is closed (408 for a late body). No body may exceed
# WEB_MAX_BODY_BYTES; each endpoint has its own smaller limit too. A worker whose memory stays above
# WEB_WORKER_MAX_RSS_MIB is replaced once its requests are done (0: never).
WEB_HEADER_TIMEOUT_SECONDS = env.float("WEB_HEADER_TIMEOUT_SECONDS", default=10)
WEB_BODY_TIMEOUT_SECONDS = env.float("WEB_BODY_TIMEOUT_SECONDS", default=60)
WEB_WORKER_MAX_RSS_MIB = env.int("WEB_WORKER_MAX_RSS_MIB", default=512)

# Attributes naming the conversation a trace belongs to (span attributes first, then resource attributes), first
# found wins; the explorer's sessions page groups traces by it.
SESSION_ID_ATTRIBUTES = env.list(
    "SESSION_ID_ATTRIBUTES",
    default=[
        "session.id",
        "gen_ai.conversation.id",
        "langfuse.session.id",
        "ai.telemetry.metadata.sessionId",
        "traceloop.association.properties.session_id",
    ],
)
# Attributes naming the end user a trace ran for, read like SESSION_ID_ATTRIBUTES: OpenInference's and the Langfuse
# SDK's `user.id`, OpenTelemetry's `enduser.id`, what Langfuse documents for plain OpenTelemetry, the Vercel AI SDK's
# telemetry metadata and Traceloop's association properties.
USER_ID_ATTRIBUTES = env.list(
    "USER_ID_ATTRIBUTES",
    default=[
        "user.id",
        "enduser.id",
        "langfuse.user.id",
        "ai.telemetry.metadata.userId",
        "traceloop.association.properties.user_id",
    ],
)
# The trace list counts matching traces exactly up to this many, then answers "more than" it (a count over
# millions of rows costs more than the page itself).
TRACE_COUNT_LIMIT = env.int("TRACE_COUNT_LIMIT", default=1_000)

MODEL_PRICES_FILE = Path(env.str("MODEL_PRICES_FILE", default=str(BASE_DIR / "deploy" / "model-prices.yaml")))

# The explorer's static export (`make frontend` builds it), served at `/` by tracefoundry_site/explorer.py.
EXPLORER_BUILD_DIR = Path(env.str("EXPLORER_BUILD_DIR", default=str(BASE_DIR / "frontend" / "out")))

# Retention: traces older than RETENTION_METADATA_DAYS lose spans and summary; payloads of spans older than
# RETENTION_PAYLOAD_DAYS are deleted. Work is done in batches of RETENTION_BATCH_SIZE rows, one short
# transaction each, so no table stays locked while a large backlog is expired.
RETENTION_METADATA_DAYS = env.float("RETENTION_METADATA_DAYS", default=7)
RETENTION_PAYLOAD_DAYS = env.float("RETENTION_PAYLOAD_DAYS", default=3)
RETENTION_BATCH_SIZE = env.int("RETENTION_BATCH_SIZE", default=1000)
RETENTION_INTERVAL_MINUTES = env.float("RETENTION_INTERVAL_MINUTES", default=60)
# Postgres only (`traces.partitions`): spans are partitioned by UTC day of their start time; beat keeps the
# partitions of yesterday to SPAN_PARTITION_DAYS_AHEAD days ahead created (spans of other days go to the default
# partition), and retention drops whole days past RETENTION_METADATA_DAYS. A partition operation waits at most
# SPAN_PARTITION_LOCK_TIMEOUT_MS for its table lock, then gives up until the next run (ingest never queues longer).
SPAN_PARTITION_DAYS_AHEAD = env.int("SPAN_PARTITION_DAYS_AHEAD", default=3)
SPAN_PARTITION_INTERVAL_MINUTES = env.float("SPAN_PARTITION_INTERVAL_MINUTES", default=60)
SPAN_PARTITION_LOCK_TIMEOUT_MS = env.int("SPAN_PARTITION_LOCK_TIMEOUT_MS", default=2000)

# Celery (tracefoundry_site/celery.py reads every CELERY_* setting). With REDIS_URL the broker is Redis; without
# it the broker is a folder under VAR_DIR (kombu's filesystem transport), so worker and beat started by
# `make run` run retention with no server at all, on one machine.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "filesystem://"
# Django's cache holds login-throttle counters, which every web worker must see: Redis with REDIS_URL, else
# files under VAR_DIR/cache (shared by the web server's workers of one host; use Redis with several hosts).
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env.str("CACHE_KEY_PREFIX", default="tracefoundry"),
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, str] = {}
if not REDIS_URL:
    _broker_dir = VAR_DIR / "celery-broker"
    for _folder in ("queue", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "control_folder": str(_broker_dir / "control"),
    }
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE = {
    "retention-expire-trace-metadata": {
        "task": "traces.tasks.expire_trace_metadata",
        "schedule": RETENTION_INTERVAL_MINUTES * 60,
    },
    "retention-expire-payloads": {
        "task": "payloads.tasks.expire_payloads",
        "schedule": RETENTION_INTERVAL_MINUTES * 60,
    },
    "partitions-create-span-days": {
        "task": "traces.tasks.create_span_partitions",
        "schedule": SPAN_PARTITION_INTERVAL_MINUTES * 60,
    },
}

# Trace bundles (bundles app): limits an uploaded bundle must stay within before anything of it is read or
# stored (zip-bomb and path checks), and the commit recorded in exports when `git rev-parse HEAD` cannot run.
BUNDLE_MAX_UPLOAD_BYTES = env.int("BUNDLE_MAX_UPLOAD_BYTES", default=100 * 1024 * 1024)
BUNDLE_MAX_UNCOMPRESSED_BYTES = env.int("BUNDLE_MAX_UNCOMPRESSED_BYTES", default=512 * 1024 * 1024)
BUNDLE_MAX_FILE_BYTES = env.int("BUNDLE_MAX_FILE_BYTES", default=128 * 1024 * 1024)
BUNDLE_MAX_FILES = env.int("BUNDLE_MAX_FILES", default=20_000)
BUNDLE_MAX_COMPRESSION_RATIO = env.int("BUNDLE_MAX_COMPRESSION_RATIO", default=200)
GIT_COMMIT = env.str("GIT_COMMIT", default="")

# Payloads and redaction (payloads app). REDACTION_MODE: off | standard | strict, applied at ingest and on
# `POST /api/payloads`; TRACE_ALLOWLIST_FILE is the policy (checked at start-up). Payloads are stored under
# PAYLOAD_DIR, or in an S3-compatible bucket with PAYLOAD_STORAGE=s3 (AWS S3, MinIO...), except blobs of at most
# PAYLOAD_INLINE_MAX_BYTES once encoded (zstd when smaller), kept in the database: one file or object per small
# blob costs more than the rest of ingest. 0 sends every blob to the storage.
REDACTION_MODE = env.str("REDACTION_MODE", default="standard")
# The key that turns content hashes into the payload refs spans carry (see payloads/hashing.py); empty: derived
# from SECRET_KEY. Keep it stable: refs already stored on spans are readable only under the key they were made with.
PAYLOAD_REF_KEY = env.str("PAYLOAD_REF_KEY", default="")
TRACE_ALLOWLIST_FILE = Path(env.str("TRACE_ALLOWLIST_FILE", default=str(BASE_DIR / "deploy" / "trace-allowlist.yaml")))
PAYLOAD_STORAGE = env.str("PAYLOAD_STORAGE", default="filesystem")
PAYLOAD_DIR = Path(env.str("PAYLOAD_DIR", default=str(VAR_DIR / "payloads")))
PAYLOAD_MAX_BYTES = env.int("PAYLOAD_MAX_BYTES", default=16 * 1024 * 1024)
PAYLOAD_INLINE_MAX_BYTES = env.int("PAYLOAD_INLINE_MAX_BYTES", default=16 * 1024)
# The largest body any endpoint accepts (bundle upload, payload, OTLP; plus room for a multipart form's framing),
# enforced while the web server reads it.
WEB_MAX_BODY_BYTES = max(BUNDLE_MAX_UPLOAD_BYTES, PAYLOAD_MAX_BYTES, OTLP_MAX_BODY_BYTES) + 1024 * 1024
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
AWS_S3_ENDPOINT_URL = env.str("AWS_S3_ENDPOINT_URL", default="") or None
AWS_ACCESS_KEY_ID = env.str("AWS_ACCESS_KEY_ID", default="") or None
AWS_SECRET_ACCESS_KEY = env.str("AWS_SECRET_ACCESS_KEY", default="") or None
AWS_S3_REGION_NAME = env.str("AWS_S3_REGION_NAME", default="") or None

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
