"""A model tracked by django-simple-history (a real third-party app's receivers)."""

from __future__ import annotations

from django.db import models
from django.db.models.signals import post_save
from django.dispatch import receiver
from simple_history.models import HistoricalRecords


class Poll(models.Model):
    question = models.CharField(max_length=200)
    history = HistoricalRecords()


class Tally(models.Model):
    polls = models.IntegerField(default=0)


@receiver(post_save, sender=Poll, dispatch_uid="tests.historyapp.count_poll")
def count_poll(sender, instance, created, **kwargs):
    if created:
        tally, _ = Tally.objects.get_or_create(pk=1)
        tally.polls += 1
        tally.save()
