from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from . import badges, channels, shredders, waitinglist  # noqa: F401
from .exports import csv_export  # noqa: F401
from .registry import get_shredders
from .signals import export_types


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(", ".join(str(r) for _, r in export_types.send(None)))


def shred(request: HttpRequest) -> HttpResponse:
    return HttpResponse(", ".join(get_shredders()))
