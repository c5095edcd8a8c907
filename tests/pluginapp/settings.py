"""The test settings with pluginapp installed, for a fresh process."""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.pluginapp"]
ROOT_URLCONF = "tests.pluginapp.urls"
