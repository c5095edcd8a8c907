"""Settings for the real servers of tests/test_concurrency.py (runserver and uvicorn):
the test project's settings, with the toolbar shown to 127.0.0.1 and its store large
enough to hold every request of a run."""

from __future__ import annotations

from tests import settings as base

SECRET_KEY = base.SECRET_KEY
USE_TZ = base.USE_TZ
DEFAULT_AUTO_FIELD = base.DEFAULT_AUTO_FIELD
DATABASES = base.DATABASES
MIDDLEWARE = base.MIDDLEWARE
TEMPLATES = base.TEMPLATES
STATIC_URL = base.STATIC_URL
DEBUG_TOOLBAR_PANELS = base.DEBUG_TOOLBAR_PANELS
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1"]
INTERNAL_IPS = ["127.0.0.1"]
ROOT_URLCONF = "tests.concurrency_urls"
# dupapp's deliberate duplicates only add warnings to the server's log.
INSTALLED_APPS = [app for app in base.INSTALLED_APPS if app != "tests.dupapp"]

DEBUG_TOOLBAR_CONFIG = {
    "SHOW_TOOLBAR_CALLBACK": "tests.concurrency_urls.show_toolbar",
    "IS_RUNNING_TESTS": False,
    # Every request of a run must still be in the store when its panel is fetched.
    "RESULTS_CACHE_SIZE": 200,
    # Panels are fetched through render_panel, as the browser does.
    "RENDER_PANELS": False,
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
