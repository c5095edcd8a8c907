from __future__ import annotations

from django.db import models
from django.db.models.signals import pre_save
from django.dispatch import Signal

from . import handlers

# A custom signal defined outside signals.py: discovery must still find it.
thing_archived = Signal()


class AbstractThing(models.Model):
    name = models.CharField(max_length=50)

    class Meta:
        abstract = True


class Thing(AbstractThing):
    pass


class ThingProxy(Thing):
    class Meta:
        proxy = True


# A lazy sender for a model not defined yet: Django connects it only when the
# class statement below runs, so the connect() call itself is not on the stack.
pre_save.connect(handlers.later_saved, sender="dupapp.Later")


class Later(models.Model):
    pass
