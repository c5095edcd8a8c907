"""A django.tasks task for the findings tests (Django 6.0+ only)."""

from __future__ import annotations

from django.tasks import task


@task
def welcome() -> str:
    return "welcome"
