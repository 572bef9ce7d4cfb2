"""Django settings for the waygrid_django tests: SQLite by default, PostgreSQL on request.

``WAYGRID_TEST_DATABASE=postgresql`` selects PostgreSQL at ``WAYGRID_TEST_POSTGRES_URL``. The test
database is a file (SQLite) or a database of its own (PostgreSQL) named per session, so that
dispatcher subprocesses can use it: they get its name in ``WAYGRID_TEST_DB_NAME``.
"""

from __future__ import annotations

import os
import tempfile
from urllib.parse import unquote, urlsplit

BACKEND = os.environ.get("WAYGRID_TEST_DATABASE", "sqlite").lower()
_NAME_OVERRIDE = os.environ.get("WAYGRID_TEST_DB_NAME")
_SESSION = f"waygrid_django_test_{os.getpid()}"

if BACKEND in ("postgres", "postgresql"):
    _url = urlsplit(os.environ.get("WAYGRID_TEST_POSTGRES_URL", "postgresql://127.0.0.1/test"))
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": _NAME_OVERRIDE or unquote(_url.path.lstrip("/")) or "postgres",
            "USER": unquote(_url.username or ""),
            "PASSWORD": unquote(_url.password or ""),
            "HOST": _url.hostname or "",
            "PORT": str(_url.port or ""),
            "TEST": {"NAME": _SESSION},
        }
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": _NAME_OVERRIDE or os.path.join(tempfile.gettempdir(), f"{_SESSION}.db"),
            "OPTIONS": {"timeout": 30},
            "TEST": {"NAME": os.path.join(tempfile.gettempdir(), f"{_SESSION}.sqlite3")},
        }
    }

SECRET_KEY = "waygrid-django-tests-only"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "testserver"]
USE_TZ = True
ROOT_URLCONF = "tests.django.urls"
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "waygrid_django",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast superusers

# Nothing listens on port 9 (discard): tests point the service at a dev server.
WAYGRID_BASE_URL = os.environ.get("WAYGRID_BASE_URL", "http://127.0.0.1:9")
WAYGRID_API_KEY = "wg_test_key"
WAYGRID_OUTBOX_BACKOFF = 0.05  # failed rows are due again almost at once
WAYGRID_OUTBOX_BACKOFF_MAX = 1.0
# Dispatcher subprocesses of some tests get these from the environment.
if "WAYGRID_TIMEOUT" in os.environ:
    WAYGRID_TIMEOUT = float(os.environ["WAYGRID_TIMEOUT"])
if "WAYGRID_OUTBOX_LEASE" in os.environ:
    WAYGRID_OUTBOX_LEASE = float(os.environ["WAYGRID_OUTBOX_LEASE"])
