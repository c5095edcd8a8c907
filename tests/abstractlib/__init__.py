"""Not an installed app: a library of abstract models, as django-model-utils is
when only its abstract models are used (``model_utils`` not in INSTALLED_APPS)."""
