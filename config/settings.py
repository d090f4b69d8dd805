"""Ossa settings: one module, everything that differs between machines read from the environment.

Embedded default (no variable set): SQLite and a file-based Celery broker under `var/`, so a
fresh clone runs with Python alone. Production sets DATABASE_URL (PostgreSQL),
CELERY_BROKER_URL (Redis), DJANGO_SECRET_KEY, DJANGO_DEBUG=0 and DJANGO_ALLOWED_HOSTS.
"""

from __future__ import annotations

import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str, env_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("OSSA_VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)


DEBUG = env_bool("DJANGO_DEBUG", False)


def _secret_key() -> str:
    """DJANGO_SECRET_KEY; in development only (DEBUG on), a key generated once into var/ (never
    in the repo). Production refuses to start without one: a generated key would differ between
    processes and machines, and would sit on disk beside the data."""
    key = env_str("DJANGO_SECRET_KEY", "")
    if key:
        return key
    if not DEBUG:
        raise ImproperlyConfigured(
            "Set the environment variable DJANGO_SECRET_KEY (50+ random characters); only "
            "development (DJANGO_DEBUG=1) generates one."
        )
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "simple_history",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "csp",
    "django_celery_beat",
    "config.apps.OssaConfig",
    "patients",
    "therapy",
    "monitoring",
    "interop",
    "quality",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The second factor: request.user.is_verified() (django-otp).
    "django_otp.middleware.OTPMiddleware",
    # A session ends OSSA_SESSION_MAX_HOURS after sign-in, however active (config/session.py).
    "config.session.SessionLifetimeMiddleware",
    # ... and OSSA_SESSION_IDLE_MINUTES after its last renewal, renewed by a request a minute
    # or more after the one before (config/session.py).
    "config.session.SessionIdleMiddleware",
    # Django's LoginRequiredMiddleware; a form posted after the session ended returns, once
    # signed in, to the page it was on (config/session.py).
    "config.session.IdleLoginRequiredMiddleware",
    # Signed in with the password only: every page but the second-factor ones refuses
    # (config/two_factor.py).
    "config.two_factor.TwoFactorRequiredMiddleware",
    # Cache-Control: no-store, private to a signed-in user; Permissions-Policy everywhere.
    "config.middleware.SecurityHeadersMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    # Last, as django-axes asks: it turns a lock-out into its response.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
                "patients.context_processors.memberships",
                "config.session.session_timeout",
                "config.two_factor.two_factor",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ossa.sqlite3'}"),
        conn_max_age=env_int("DJANGO_CONN_MAX_AGE", 60, minimum=0),
        conn_health_checks=True,
    )
}
# Web requests: a statement running longer than this is cancelled (Celery workers use
# OSSA_TASK_STATEMENT_TIMEOUT_SECONDS instead, config/celery.py); 0 turns it off.
OSSA_DB_STATEMENT_TIMEOUT_SECONDS = env_int("OSSA_DB_STATEMENT_TIMEOUT_SECONDS", 30, minimum=0)
OSSA_TASK_STATEMENT_TIMEOUT_SECONDS = env_int("OSSA_TASK_STATEMENT_TIMEOUT_SECONDS", 300, minimum=0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A database that accepts connections but never answers must not stall every page.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "connect_timeout": 5,
            "options": f"-c statement_timeout={OSSA_DB_STATEMENT_TIMEOUT_SECONDS * 1000}",
        }
    )
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Web, worker and beat share the file: wait for a lock instead of failing at once.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].update(
        {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    # Refuses a password that contains the username, a name or the e-mail's local part.
    {"NAME": "config.password_validation.ContainsUserAttributeValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "dashboard"
LOGOUT_REDIRECT_URL = "login"

# Lock an account+address after repeated failures (django-axes).
AXES_FAILURE_LIMIT = env_int("OSSA_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = env_int("OSSA_LOGIN_COOLOFF_MINUTES", 15, minimum=1) / 60  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# A wrong password while locked out does not restart the cool-off: a lock ends
# OSSA_LOGIN_COOLOFF_MINUTES after the failure that caused it, and the count starts again.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
# Behind N trusted reverse proxies the client's address is the one the outermost proxy added
# to X-Forwarded-For; without them, REMOTE_ADDR (a client can write X-Forwarded-For itself).
OSSA_TRUSTED_PROXY_COUNT = env_int("OSSA_TRUSTED_PROXY_COUNT", 0, minimum=0)
AXES_CLIENT_IP_CALLABLE = "config.client_ip.client_ip"
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"

# The session ends after OSSA_SESSION_IDLE_MINUTES without a request (up to a minute sooner:
# it is renewed by a request a minute or more after its last renewal, not stored again on every
# page view; config/session.py), and on logout.
SESSION_COOKIE_AGE = env_int("OSSA_SESSION_IDLE_MINUTES", 15, minimum=1) * 60
SESSION_SAVE_EVERY_REQUEST = False
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# ... and OSSA_SESSION_MAX_HOURS after sign-in, however active (config/session.py).
OSSA_SESSION_MAX_HOURS = env_int("OSSA_SESSION_MAX_HOURS", 12, minimum=1)
# Pages warn this long before the idle timeout, with "Stay signed in" (config/session.py).
OSSA_SESSION_WARNING_SECONDS = 2 * 60

# Hardening: on by default whenever DEBUG is off.
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("OSSA_SECURE_COOKIES", True)
    CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
    SECURE_SSL_REDIRECT = env_bool("OSSA_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("OSSA_HSTS_SECONDS", 31536000, minimum=0)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    if OSSA_TRUSTED_PROXY_COUNT:
        # Only a proxy we put in front sets X-Forwarded-Proto; without one, anyone could.
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    # /healthz is probed over plain HTTP by load balancers inside the network.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$"]

# Content-Security-Policy (django-csp): scripts and styles only from files of this site, no
# inline script or style (htmx's indicator style is turned off in base.html), no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}
# Browser features no page of Ossa uses (config/middleware.py).
OSSA_PERMISSIONS_POLICY = (
    "camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=(), bluetooth=(), "
    "hid=(), midi=(), magnetometer=(), gyroscope=(), accelerometer=(), display-capture=(), "
    "interest-cohort=()"
)

# Second sign-in factor (TOTP, django-otp): required for every role unless DEBUG is on.
OSSA_REQUIRE_2FA = env_bool("OSSA_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = env_str("OSSA_TOTP_ISSUER", "Ossa")
# /admin/ is routed in development, and in production only when asked for (config/urls.py).
OSSA_ADMIN_ENABLED = env_bool("OSSA_ADMIN_ENABLED", False)

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env_str("OSSA_TIME_ZONE", "Europe/London")
USE_I18N = True
USE_TZ = True
DATE_FORMAT = "Y-m-d"
SHORT_DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i"
SHORT_DATETIME_FORMAT = "Y-m-d H:i"
DATE_INPUT_FORMATS = ["%Y-%m-%d"]
USE_THOUSAND_SEPARATOR = False

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        # Production serves hashed, compressed files built by `collectstatic`; development and
        # tests serve the files as they are.
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if env_bool("OSSA_STATIC_MANIFEST", not DEBUG)
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = STORAGES["staticfiles"]["BACKEND"].startswith("django.")

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

EMAIL_BACKEND = env_str("DJANGO_EMAIL_BACKEND", "django.core.mail.backends.filebased.EmailBackend")
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = env_str("DJANGO_DEFAULT_FROM_EMAIL", "ossa@localhost")
# Where Ossa is reached from a mail reader: e-mails link with absolute addresses built on it.
# Required in production (DEBUG off): a relative link in an e-mail leads nowhere.
OSSA_SITE_URL = env_url("OSSA_SITE_URL", "http://127.0.0.1:8000" if DEBUG else None)

# CDS Hooks (interop.cds): the largest request body read, and, for local testing only, whether
# a request without the EHR's signed JWT is served (never when DEBUG is off).
OSSA_CDS_MAX_REQUEST_BYTES = env_int("OSSA_CDS_MAX_REQUEST_BYTES", 2 * 1024 * 1024, minimum=1024)
OSSA_CDS_ALLOW_UNSIGNED = DEBUG and env_bool("OSSA_CDS_ALLOW_UNSIGNED", False)

# Celery: Redis in production and CI, kombu's file transport under var/ by default.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
BROKER_DIR = VAR_DIR / "broker"
if CELERY_BROKER_URL.startswith("filesystem://"):
    for sub in ("queue", "processed", "control"):
        (BROKER_DIR / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(BROKER_DIR / "queue"),
        "data_folder_out": str(BROKER_DIR / "queue"),
        "processed_folder": str(BROKER_DIR / "processed"),
        "control_folder": str(BROKER_DIR / "control"),
        "store_processed": False,
    }
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "socket_timeout": 5,
        "socket_connect_timeout": 3,
        "max_retries": 3,
        # An unacknowledged task (acks_late) is handed to another worker after this long: it
        # must outlast the longest task, or a running scan would be started a second time.
        "visibility_timeout": 2 * 60 * 60,
    }
# Task modules (each app's tasks.py is found by autodiscovery; these are the others).
CELERY_IMPORTS = ["monitoring.import_tasks"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 25 * 60
CELERY_TASK_IGNORE_RESULT = True
CELERY_WORKER_MAX_TASKS_PER_CHILD = 200
# A worker that loses the broker stops its tasks (they are redelivered, acks being late)
# rather than finish them unacknowledged and run them twice.
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_BROKER_CONNECTION_TIMEOUT = 3
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = TIME_ZONE

# Tests that need PostgreSQL or Redis fail (instead of skipping) when this is set (CI).
OSSA_REQUIRE_SERVICES = env_bool("OSSA_REQUIRE_SERVICES", False)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "filters": {"no_forbidden": {"()": "config.errors.DropForbidden"}},
    "root": {"handlers": ["console"], "level": env_str("DJANGO_LOG_LEVEL", "INFO")},
    # WeasyPrint logs every step of every PDF at INFO (patients/pdf.py).
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        # A 403 is logged in one line by config.errors.permission_denied (logger ossa.security),
        # not with the traceback django.request would add.
        "django.request": {"filters": ["no_forbidden"]},
    },
}

if DATABASES["default"]["ENGINE"] not in (
    "django.db.backends.sqlite3",
    "django.db.backends.postgresql",
):
    raise ImproperlyConfigured("DATABASE_URL must point at PostgreSQL or SQLite.")
