from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse


@receiver(user_logged_in, dispatch_uid="tests.viewsapp.views.on_login")
def on_login(sender: Any, **kwargs: Any) -> None:
    pass


def page(request: HttpRequest) -> HttpResponse:
    return HttpResponse("ok")
