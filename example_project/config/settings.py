"""Settings for the example project: local development only (DEBUG, SQLite, locmem email)."""

from __future__ import annotations

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent

SECRET_KEY = "django-insecure-example-project-only"
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost", "[::1]"]
# The toolbar shows only for requests from these addresses.
INTERNAL_IPS = ["127.0.0.1"]

INSTALLED_APPS = [
    # First, so it is imported before any app connects a receiver and can
    # record where each one was connected.
    "signal_inspector",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "debug_toolbar",
    "accounts",
    "shop",
    "notifications",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "debug_toolbar.middleware.DebugToolbarMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"

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
            ],
        },
    },
]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        # EXAMPLE_DB_PATH lets tests (and you) use a throwaway database.
        "NAME": os.environ.get("EXAMPLE_DB_PATH") or BASE_DIR / "db.sqlite3",
    }
}

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
TIME_ZONE = "UTC"
STATIC_URL = "static/"

# Receipts are "sent" into django.core.mail.outbox; the home page lists them.
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# The demo's "search service" (shop.receivers.sync_product): nothing listens there.
SEARCH_SERVICE_URL = "http://127.0.0.1:9/index"
DEFAULT_FROM_EMAIL = "shop@example.com"

# The toolbar's default panels (django-debug-toolbar 8), with its Signals panel
# replaced by signal_inspector's.
DEBUG_TOOLBAR_PANELS = [
    "debug_toolbar.panels.history.HistoryPanel",
    "debug_toolbar.panels.versions.VersionsPanel",
    "debug_toolbar.panels.timer.TimerPanel",
    "debug_toolbar.panels.settings.SettingsPanel",
    "debug_toolbar.panels.headers.HeadersPanel",
    "debug_toolbar.panels.request.RequestPanel",
    "debug_toolbar.panels.sql.SQLPanel",
    "debug_toolbar.panels.staticfiles.StaticFilesPanel",
    "debug_toolbar.panels.templates.TemplatesPanel",
    "debug_toolbar.panels.alerts.AlertsPanel",
    "debug_toolbar.panels.cache.CachePanel",
    "signal_inspector.panels.SignalInspectorPanel",
    "debug_toolbar.panels.tasks.TasksPanel",
    "debug_toolbar.panels.community.CommunityPanel",
    "debug_toolbar.panels.redirects.RedirectsPanel",
    "debug_toolbar.panels.profiling.ProfilingPanel",
]

SIGNAL_INSPECTOR = {
    # Flag receivers slower than this; the receipt email takes about 50 ms.
    "SLOW_RECEIVER_MS": 25,
    # EXAMPLE_OTEL=1 (`make demo-otel`): signal spans in OpenTelemetry traces.
    "OPENTELEMETRY": bool(os.environ.get("EXAMPLE_OTEL")),
}

# EXAMPLE_CSP=1: a nonce-only Content Security Policy through django-csp
# (pip install django-csp), to see the toolbar and the Signals panel under one.
# 'strict-dynamic' lets the toolbar's nonced script load its panels' scripts;
# EXAMPLE_CSP=strict leaves it out (the Signals panel needs no script).
if os.environ.get("EXAMPLE_CSP"):
    from csp.constants import NONCE, NONE, SELF

    MIDDLEWARE.insert(0, "csp.middleware.CSPMiddleware")
    CONTENT_SECURITY_POLICY = {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [NONCE]
            + ([] if os.environ["EXAMPLE_CSP"] == "strict" else ["'strict-dynamic'"]),
            "style-src": [NONCE],
            "img-src": [SELF, "data:"],
            "object-src": [NONE],
            "base-uri": [NONE],
        }
    }
