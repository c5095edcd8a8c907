from __future__ import annotations

from debug_toolbar.toolbar import debug_toolbar_urls
from django.urls import path

from .testapp import views


def show_toolbar(request) -> bool:
    return request.META.get("REMOTE_ADDR") == "127.0.0.1" and request.GET.get("notoolbar") is None


urlpatterns = [
    path("", views.index, name="index"),
    path("pay/<int:pk>/", views.pay, name="pay"),
    path("apay/<int:pk>/", views.apay, name="apay"),
    *debug_toolbar_urls(),
]
