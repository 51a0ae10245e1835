"""The one settings module. Everything that differs between machines comes from the environment."""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("PORTAL_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DJANGO_DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise RuntimeError("SECRET_KEY must be set when DJANGO_DEBUG=0")
    SECRET_KEY = "django-insecure-development-only-key-change-me-in-production-0123456789"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_filters",
    "django_htmx",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "core",
    "inventory",
    "imports",
    "jobs",
    "allocadence",
    "channels",
    "purchasing",
    "bom",
]

MIDDLEWARE = [
    "core.middleware.SecurityHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "core.middleware.RejectNulQueryMiddleware",
    "core.timezones.UserTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "inventory_portal.urls"
WSGI_APPLICATION = "inventory_portal.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "core.context_processors.navigation",
            ],
        },
    },
    # Partials whose loops dominate a page (the inventory list's rows, <app>/jinja2/): autoescaped like the rest.
    {"BACKEND": "django.template.backends.jinja2.Jinja2", "APP_DIRS": True, "OPTIONS": {"autoescape": True}},
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'portal.sqlite3'}",
        conn_max_age=int(os.environ.get("DB_CONN_MAX_AGE", "60")),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default serves web, worker and beat at once: WAL and immediate
    # transactions turn "database is locked" races into short waits.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
    }
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # No JIT: it pays off only for long analytic queries. The planner costs a correlated subquery (a
    # generic part's alternates) as if run for every row, so a 50-row inventory page crossed
    # jit_above_cost and spent ~750 ms compiling for a query that runs in a few (EXPLAIN ANALYZE).
    DATABASES["default"]["OPTIONS"] = {"options": "-c jit=off"}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): a user name + address pair is locked out after
# repeated failures for a cool-off period.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", "5"))
AXES_COOLOFF_TIME = float(os.environ.get("AXES_COOLOFF_HOURS", "0.25"))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLED = env_bool("AXES_ENABLED", True)

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Uploads: images and CSV files have their own caps in the apps (each at most UPLOAD_MAX_BYTES); a file is
# stored only up to UPLOAD_MAX_BYTES + 1 bytes, whatever its size (core.uploads), in memory when the whole
# request fits FILE_UPLOAD_MAX_MEMORY_SIZE; DATA_UPLOAD_MAX_MEMORY_SIZE bounds the non-file fields.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = 20 * 1024 * 1024
FILE_UPLOAD_HANDLERS = [
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "core.uploads.CappedUploadHandler",
]

# Security: production values unless DEBUG. Behind a TLS-terminating proxy set
# SECURE_PROXY_SSL_HEADER_ENABLED=1; SECURE_SSL_REDIRECT can be switched off when the
# proxy redirects itself.
# Secure cookies unless DEBUG; a loopback run over plain HTTP (the fault drills' gunicorn) may switch them off.
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# Container healthchecks call /healthz/ over plain HTTP from inside the container.
SECURE_REDIRECT_EXEMPT = [r"^healthz/$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy (django-csp): scripts, styles, fonts and fetches from this origin only; no inline
# script or style, no eval (htmx is configured by a <meta> in base.html not to inject its indicator style and
# not to eval). Images may also be data: URIs (Swagger UI's icons, Django admin's). django-csp leaves the
# header off DEBUG's technical 404/500 pages, which are inline.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
# Browser features no page uses, switched off for the portal and anything it might ever embed
# (core.middleware.SecurityHeadersMiddleware); only names Chromium knows, so it logs no warning.
PERMISSIONS_POLICY = {
    feature: []
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}
if env_bool("SECURE_PROXY_SSL_HEADER_ENABLED", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "core.authentication.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON only: DRF's browsable API is built on inline styles a strict CSP refuses; /api/docs/ (Swagger UI)
    # is the API's page for people.
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies only: form encodings carry no types, so "0" or "yes" read as booleans the schema never allowed.
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["core.api_filters.FilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "core.api_schema.PortalAutoSchema",
    # OPTIONS answers 405 like any undeclared method: the schema is the API's description (and DRF's metadata
    # calls get_object() on views without a lookup, which crashed on /api/v1/open-orders/).
    "DEFAULT_METADATA_CLASS": None,
    "EXCEPTION_HANDLER": "core.api.exception_handler",
}
# API tokens (core.models.ApiToken) are issued on /tokens/ and /account/tokens/; the form proposes an expiry
# this many days ahead (0: no expiry proposed). An expired token answers 401.
API_TOKEN_DEFAULT_LIFETIME_DAYS = int(os.environ.get("API_TOKEN_DEFAULT_LIFETIME_DAYS", "90"))
SPECTACULAR_SETTINGS = {
    "TITLE": "Inventory Portal API",
    "DESCRIPTION": "Inventory, jobs and channel sync for integrations.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI from static/ (drf-spectacular-sidecar), not a CDN: /api/docs/ works offline and under the CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    # None, not the default CDN icon: the page links the portal's own (templates/_favicon.html).
    "SWAGGER_UI_FAVICON_HREF": None,
    "REDOC_DIST": "SIDECAR",
    # The default enum hook, then OpenAPI links between the operations on one object (create → release → cancel).
    "POSTPROCESSING_HOOKS": ["drf_spectacular.hooks.postprocess_schema_enums", "core.api_schema.add_links"],
}

# Celery: JSON only, one queue per integration so a slow marketplace never starves
# Allocadence pushes. Without CELERY_BROKER_URL the broker is kombu's filesystem
# transport in var/, so `make run` needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        # Fanout exchanges (worker ping, broadcast control) live here; kombu's default is
        # a folder relative to the current directory.
        "control_folder": str(_broker_dir / "control"),
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_QUEUES_NAMES = ["default", "allocadence", "channels", "exports"]
CELERY_TASK_ROUTES = {
    "allocadence.tasks.*": {"queue": "allocadence"},
    "channels.tasks.export_*": {"queue": "exports"},
    "channels.tasks.*": {"queue": "channels"},
    "inventory.tasks.export_*": {"queue": "exports"},
}
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
# The job board asks for its cards' Allocadence order statuses this often (htmx polling, no reload).
BOARD_POLL_SECONDS = int(os.environ.get("BOARD_POLL_SECONDS", "15"))
ALLOCADENCE_PULL_SECONDS = float(os.environ.get("ALLOCADENCE_PULL_SECONDS", "300"))
CELERY_BEAT_SCHEDULE = {
    **{
        f"heartbeat-{queue}": {
            "task": "core.tasks.record_heartbeat_task",
            "schedule": 30.0,
            "args": [queue],
            "options": {"queue": queue, "expires": 25},
        }
        for queue in ["default", "allocadence", "channels", "exports"]
    },
    "core-end-dead-runs": {"task": "core.tasks.end_dead_runs_task", "schedule": 60.0},
    "allocadence-pull-stock": {"task": "allocadence.tasks.pull_stock_task", "schedule": ALLOCADENCE_PULL_SECONDS},
    "allocadence-sweep-outbox": {"task": "allocadence.tasks.sweep_outbox_task", "schedule": 60.0},
    "allocadence-poll-order-status": {"task": "allocadence.tasks.poll_order_status_task", "schedule": 60.0},
    "allocadence-sweep-po-pushes": {
        "task": "allocadence.tasks.sweep_purchase_order_pushes_task",
        "schedule": 60.0,
        "options": {"queue": "allocadence"},
    },
    "channels-sync-changed": {"task": "channels.tasks.sync_channels_task", "schedule": 60.0},
    "channels-full-reconciliation": {
        "task": "channels.tasks.sync_channels_task",
        "schedule": 6 * 3600.0,
        "kwargs": {"full": True},
    },
    "channels-poll-feeds": {"task": "channels.tasks.poll_feeds_task", "schedule": 30.0},
    "channels-sweep-stuck": {"task": "channels.tasks.sweep_stuck_records_task", "schedule": 120.0},
    "channels-export-cleanup": {"task": "channels.tasks.export_cleanup_task", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")

# Allocadence (the WMS). The client library keeps the API's assumptions; these say where
# and who.
ALLOCADENCE_BASE_URL = os.environ.get("ALLOCADENCE_BASE_URL", "http://127.0.0.1:8401/rest")
ALLOCADENCE_API_KEY = os.environ.get("ALLOCADENCE_API_KEY", "demo-key")
ALLOCADENCE_API_SECRET = os.environ.get("ALLOCADENCE_API_SECRET", "demo-secret")
ALLOCADENCE_TIMEOUT_SECONDS = float(os.environ.get("ALLOCADENCE_TIMEOUT_SECONDS", "15"))
# The outbox windows (allocadence/outbox_protocol.py): a Pending push whose message is older than LOST is sent
# again by the sweep; a Sending claim older than STALE belongs to a dead worker and is taken over. Shortened
# only by the fault drills (bench/drills/), which would otherwise wait minutes for the sweep.
ALLOCADENCE_PUSH_LOST_SECONDS = float(os.environ.get("ALLOCADENCE_PUSH_LOST_SECONDS", "120"))
ALLOCADENCE_PUSH_STALE_SECONDS = float(os.environ.get("ALLOCADENCE_PUSH_STALE_SECONDS", "300"))
# A claimed batch of channel records is leased this long: if its worker dies, the records are due again after it.
CHANNEL_PUSH_LEASE_SECONDS = float(os.environ.get("CHANNEL_PUSH_LEASE_SECONDS", "300"))
# The portal client that owns parts first seen in an Allocadence pull when the item names no known client.
ALLOCADENCE_DEFAULT_CLIENT = os.environ.get("ALLOCADENCE_DEFAULT_CLIENT", "acme")
MARKETPLACE_SANDBOX_URL = os.environ.get("MARKETPLACE_SANDBOX_URL", "http://127.0.0.1:8402")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
