from __future__ import annotations

from django.apps import AppConfig

from .sites import install

# connect()/disconnect() are wrapped at import, not only in ready(): Django
# imports every app's module before any models.py, so listing this app first in
# INSTALLED_APPS lets it see where every receiver is connected. The send
# methods are left alone until a recording opens (see patching.py).
install()


class SignalInspectorConfig(AppConfig):
    name = "signal_inspector"
    verbose_name = "Signal inspector"
    default_auto_field = "django.db.models.AutoField"

    def ready(self) -> None:
        install()
        from . import checks  # noqa: F401  (registers the system checks)
        from .conf import get_config

        if get_config().opentelemetry is not None:
            # Only then: otel.py is the one module importing opentelemetry.
            try:
                from . import otel
            except ImportError:  # reported by the settings check (W005)
                return
            otel.install()
