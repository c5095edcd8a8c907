from __future__ import annotations

from django.http import HttpRequest, HttpResponse

from . import channels, waitinglist  # noqa: F401
from .exports import csv_export  # noqa: F401
from .signals import export_types


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(", ".join(str(r) for _, r in export_types.send(None)))
