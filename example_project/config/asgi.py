"""ASGI entry point: `make demo-asgi`, or `uvicorn config.asgi:application` from this directory.

Under runserver, Django's staticfiles app serves the static files (the debug
toolbar's included); an ASGI server does not. While DEBUG is on, this wraps the
application in staticfiles' ASGI handler so the toolbar works under uvicorn too.
Never do this in production: serve static files with your web server or WhiteNoise.
"""

from __future__ import annotations

import os

from django.conf import settings
from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_asgi_application()

if settings.DEBUG:
    from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

    application = ASGIStaticFilesHandler(application)
