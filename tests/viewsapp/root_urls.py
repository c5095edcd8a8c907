from __future__ import annotations

from django.urls import include, path

from tests.viewsapp import views

urlpatterns = [
    path("page/", views.page),
    path("account/", include("tests.viewsapp.account_urls")),
]
