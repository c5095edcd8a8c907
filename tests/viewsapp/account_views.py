from __future__ import annotations

from typing import Any

from django.contrib.auth.signals import user_logged_out
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse


@receiver(user_logged_out, dispatch_uid="tests.viewsapp.account_views.on_logout")
def on_logout(sender: Any, **kwargs: Any) -> None:
    pass


def account(request: HttpRequest) -> HttpResponse:
    return HttpResponse("account")
