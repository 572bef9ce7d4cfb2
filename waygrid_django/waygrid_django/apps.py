"""The Django app: ``INSTALLED_APPS += ["waygrid_django"]``."""

from __future__ import annotations

from django.apps import AppConfig
from django.core import checks

from .checks import check_deploy_settings, check_settings


class WaygridConfig(AppConfig):
    """Registers the ``waygrid.*`` system checks; nothing else happens at start-up."""

    name = "waygrid_django"
    label = "waygrid_django"
    verbose_name = "Waygrid"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        """Register the system checks (tag ``waygrid``; E002 also ``security``, deploy only)."""
        checks.register(check_settings, "waygrid")
        checks.register(check_deploy_settings, "waygrid", checks.Tags.security, deploy=True)
