from __future__ import annotations

from django.core.signals import request_finished
from django.dispatch import receiver


@receiver(request_finished, dispatch_uid="lonelyapp.imported.done")
def done(sender, **kwargs):
    return None
