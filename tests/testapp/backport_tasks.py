"""A task of the django-tasks backport (PyPI's django-tasks) for the findings tests."""

from __future__ import annotations

from django_tasks import task


@task()
def reindex() -> str:
    return "reindexed"
