"""Settings of the example project, read from the environment like the published settings.py.

``WAYGRID_BASE_URL`` (default: ``waygrid dev`` on http://127.0.0.1:1337), ``WAYGRID_API_KEY``,
``WAYGRID_TIMEOUT``, ``WAYGRID_MAX_RETRIES``, ``WAYGRID_OUTBOX_BACKOFF``; ``DATABASE_URL``
(``postgresql://user:password@host:5432/name`` or ``sqlite:///path``; SQLite in this folder by
default); ``DJANGO_DEBUG`` (``1`` by default), ``DJANGO_SECRET_KEY``, ``DJANGO_ALLOWED_HOSTS``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

BASE_DIR = Path(__file__).resolve().parent.parent


def database_from_url(url: str | None) -> dict[str, Any]:
    """Django's ``DATABASES["default"]`` for a ``DATABASE_URL`` (SQLite in BASE_DIR when None)."""
    if not url:
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": BASE_DIR / "db.sqlite3"}
    parts = urlsplit(url)
    if parts.scheme == "sqlite":
        return {"ENGINE": "django.db.backends.sqlite3", "NAME": unquote(parts.path[1:])}
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(
            f"DATABASE_URL: use postgresql://... or sqlite:///..., got {parts.scheme}:"
        )
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")),
        "USER": unquote(parts.username or ""),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "",
        "PORT": str(parts.port or ""),
    }


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "django-insecure-waygrid-example-only")
DEBUG = os.environ.get("DJANGO_DEBUG", "1") == "1"
ALLOWED_HOSTS = os.environ.get("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
DATABASES = {"default": database_from_url(os.environ.get("DATABASE_URL"))}

# Waygrid (waygrid_django reads these; `manage.py check` reports what is missing).
WAYGRID_BASE_URL = os.environ.get("WAYGRID_BASE_URL", "http://127.0.0.1:1337")
WAYGRID_API_KEY = os.environ.get("WAYGRID_API_KEY")
if "WAYGRID_TIMEOUT" in os.environ:
    WAYGRID_TIMEOUT = float(os.environ["WAYGRID_TIMEOUT"])
if "WAYGRID_MAX_RETRIES" in os.environ:
    WAYGRID_MAX_RETRIES = int(os.environ["WAYGRID_MAX_RETRIES"])
if "WAYGRID_OUTBOX_BACKOFF" in os.environ:
    WAYGRID_OUTBOX_BACKOFF = float(os.environ["WAYGRID_OUTBOX_BACKOFF"])

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
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "example_project.urls"
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
WSGI_APPLICATION = "example_project.wsgi.application"
ASGI_APPLICATION = "example_project.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"waygrid_django": {"handlers": ["console"], "level": "WARNING"}},
}
