"""The test settings with django-simple-history and a model it tracks."""

from __future__ import annotations

from .settings import *  # noqa: F403

INSTALLED_APPS = [*INSTALLED_APPS, "simple_history", "tests.historyapp"]  # noqa: F405
