from __future__ import annotations

from django.urls import include, path

from tests.viewsapp import admin, views  # noqa: F401

urlpatterns = [
    path("page/", views.page),
    path("account/", include("tests.viewsapp.account_urls")),
]
