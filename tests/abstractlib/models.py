from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models.signals import class_prepared


def prepare_status(sender: Any, **kwargs: Any) -> None:
    pass


class StatusModel(models.Model):
    """Abstract, in a module of no installed app: Django gives it no app_label."""

    status = models.CharField(max_length=20)

    class Meta:
        abstract = True


# model_utils.fields.StatusField connects class_prepared for the class it is on.
class_prepared.connect(prepare_status, sender=StatusModel)
