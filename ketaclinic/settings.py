"""Django settings for KetaClinic, read from environment variables with safe defaults.

Variables (all optional in development; see docs/operations.md):
DEBUG (0/1, default 0), SECRET_KEY (required when DEBUG=0), DATABASE_URL (default SQLite in var/), ALLOWED_HOSTS
(comma-separated), TIME_ZONE, HTTPS (0/1; default 1 when DEBUG=0), IDLE_LOGOUT_MINUTES (default 15),
EMAIL_URL-less e-mail: EMAIL_BACKEND, DEFAULT_FROM_EMAIL.
"""

from __future__ import annotations

import os
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

django_stubs_ext.monkeypatch()  # lets admin/queryset generics be subscripted at run time

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("KETACLINIC_VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    """A 0/1 (or true/false, yes/no) environment variable; anything else is a start-up error naming it."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 0 or 1 (got {raw!r})")


def env_int(name: str, default: int, *, minimum: int, maximum: int) -> int:
    """An integer environment variable within [minimum, maximum]; otherwise a start-up error naming it."""
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number from {minimum} to {maximum} (got {raw!r})") from None
    if not minimum <= value <= maximum:
        raise ImproperlyConfigured(f"{name} must be from {minimum} to {maximum} (got {value})")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. Set SECRET_KEY to a long random value, or DEBUG=1 for local development."
        )
    SECRET_KEY = "django-insecure-development-only-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
try:
    ZoneInfo(TIME_ZONE)
except (ZoneInfoNotFoundError, ValueError):
    raise ImproperlyConfigured(
        f"TIME_ZONE {TIME_ZONE!r} is not a known IANA time zone (e.g. America/New_York)"
    ) from None
USE_TZ = True
LANGUAGE_CODE = "en-us"
USE_I18N = True

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "axes",
    "ketaclinic.accounts",
    "ketaclinic.audit",
    "simple_history",
    "ketaclinic.processes",
    "ketaclinic.patients",
    "ketaclinic.tasks",
    "ketaclinic.measures",
    "ketaclinic.consents",
    "ketaclinic.screening",
    "ketaclinic.portal",
    "ketaclinic.scheduling",
    "ketaclinic.courses",
    "ketaclinic.dosing",
    "ketaclinic.outcomes",
    "ketaclinic.reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "ketaclinic.accounts.middleware.IdleLogoutMiddleware",
    "ketaclinic.accounts.middleware.LoginRequiredMiddleware",
    "ketaclinic.accounts.middleware.CurrentSiteMiddleware",
    "ketaclinic.audit.middleware.AuditContextMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "ketaclinic.urls"
WSGI_APPLICATION = "ketaclinic.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "ketaclinic" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ketaclinic.accounts.context_processors.clinic",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------------------------------
VAR_DIR.mkdir(parents=True, exist_ok=True)
DATABASE_URL = os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'ketaclinic.sqlite3'}")
try:
    _db = dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # Connections persist as on PostgreSQL (conn_max_age above): a new one per request re-read the schema and re-ran
    # the pragmas below, which cost a gunicorn worker more than many pages' own queries (docs/benchmarks.md).
    # WAL lets readers proceed during a write; synchronous=FULL keeps a committed transaction through power loss
    # (NORMAL may lose the last commits). IMMEDIATE transactions avoid lock-upgrade deadlocks under concurrency.
    _db["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;",
    }
elif _db["ENGINE"] == "django.db.backends.postgresql":
    # The hottest page reads (the monitoring panel, the trajectory: ``ketaclinic.sql_rows.fetch_rows``) are prepared
    # on the server; Django's own queries bind on the client and never are. KETACLINIC_PREPARED_READS=0 for a
    # connection pooler in transaction mode that does not keep prepared statements (PgBouncer before 1.21).
    _db["OPTIONS"] = {"prepare_threshold": 0 if env_bool("KETACLINIC_PREPARED_READS", True) else None}
else:
    raise ImproperlyConfigured("DATABASE_URL must point at SQLite (sqlite:///path) or PostgreSQL (postgres://…)")
DATABASES = {"default": _db}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Accounts, sessions and security ------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "accounts:login"

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "ketaclinic.accounts.backends.RoleBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

#: Minutes of inactivity after which a signed-in user is signed out (background polling does not count).
IDLE_LOGOUT_MINUTES = env_int("IDLE_LOGOUT_MINUTES", 15, minimum=1, maximum=720)
SESSION_COOKIE_AGE = 12 * 60 * 60
# Sessions are stored in the database and read through a cache shared by every worker on this machine, so the
# tablets polling a session page every few seconds cost no session query. A logout deletes both copies; the cache
# is a directory of files (no cache server to run). Several web machines need a shared cache server instead.
SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": str(VAR_DIR / "cache"),
        "TIMEOUT": 12 * 60 * 60,
        "OPTIONS": {"MAX_ENTRIES": 20_000},
    }
}
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5, minimum=3, maximum=50)
AXES_COOLOFF_TIME = 0.25  # hours: a locked account unlocks itself after 15 minutes
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

HTTPS = env_bool("HTTPS", not DEBUG)
SECURE_SSL_REDIRECT = HTTPS
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_PROXY", False) else None
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "ketaclinic.views.csrf_failure"

OTP_TOTP_ISSUER = "KetaClinic"

# --- Static files -------------------------------------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "ketaclinic" / "static"]
STATIC_ROOT.mkdir(exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = VAR_DIR / "media"

# --- E-mail (console in development and the demo) -----------------------------------------------------------------
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "KetaClinic <no-reply@ketaclinic.invalid>")

# --- Patient portal ------------------------------------------------------------------------------------------------
#: Hours a portal link (intake, questionnaire, consent) stays usable.
PORTAL_LINK_HOURS = env_int("PORTAL_LINK_HOURS", 72, minimum=1, maximum=24 * 14)
#: Public base URL used in e-mailed links (e.g. https://clinic.example.org); empty → the request's own host.
PORTAL_BASE_URL = os.environ.get("PORTAL_BASE_URL", "").rstrip("/")

# --- Long-running processes ---------------------------------------------------------------------------------------
#: A process whose last heartbeat is older than this shows as stopped on the status page.
HEARTBEAT_STALE_SECONDS = env_int("HEARTBEAT_STALE_SECONDS", 120, minimum=10, maximum=3600)

# --- Logging: no health data in logs; requests are logged by path and status only --------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "axes": {"level": "WARNING"},
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "django.request": {"level": "ERROR"},
    },
}
