"""Settings for the real servers of the OpenTelemetry tests (uvicorn, wsgiref in a
subprocess): the option on, ``tests.otel_app``'s views, a SQLite file named by
``OTEL_TEST_DB`` (the server migrates it at start, see tests/otel_server.py)."""

from __future__ import annotations

import os

from tests import settings as base

SECRET_KEY = base.SECRET_KEY
USE_TZ = base.USE_TZ
DEFAULT_AUTO_FIELD = base.DEFAULT_AUTO_FIELD
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1"]
ROOT_URLCONF = "tests.otel_app"
INSTALLED_APPS = [
    "signal_inspector",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "tests.testapp",
]
MIDDLEWARE = ["django.middleware.common.CommonMiddleware"]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("OTEL_TEST_DB", ":memory:"),
    }
}
SIGNAL_INSPECTOR = {"OPENTELEMETRY": {"MAX_SPANS": 50}}
