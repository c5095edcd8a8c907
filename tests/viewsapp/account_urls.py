from __future__ import annotations

from django.urls import path

from .account_views import account

urlpatterns = [path("", account)]
