from __future__ import annotations

from django.db import migrations
from django.db.models.signals import post_migrate

post_migrate.connect(lambda **kwargs: None)  # in a migration: never reported


class Migration(migrations.Migration):
    dependencies: list = []
    operations: list = []
