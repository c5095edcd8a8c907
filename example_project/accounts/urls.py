from __future__ import annotations

from django.urls import path

from . import views

urlpatterns = [
    path("", views.customers, name="customers"),
    path("new/", views.create_user, name="create_user"),
]
