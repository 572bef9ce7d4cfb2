"""System checks for the ``WAYGRID_*`` settings, with stable ids and a hint each.

==============  ===========================================================================
id              fires when
==============  ===========================================================================
waygrid.E001    ``WAYGRID_BASE_URL`` is missing or not an absolute http(s) URL
waygrid.E002    ``WAYGRID_API_KEY`` is missing and ``DEBUG`` is off (a deploy check:
                ``manage.py check --deploy``, so that ``migrate`` is never blocked by it)
waygrid.E003    ``WAYGRID_API_KEY`` is malformed (not printable ASCII, or has spaces)
waygrid.E004    ``WAYGRID_TIMEOUT`` or ``WAYGRID_MAX_RETRIES`` is not a valid number
waygrid.E005    a ``WAYGRID_OUTBOX_*`` setting is invalid (``INLINE_BUDGET`` included)
waygrid.W001    ``WAYGRID_BASE_URL`` is plain http to a host other than this machine
waygrid.W002    ``WAYGRID_OUTBOX_LEASE`` leaves a send less than one attempt may take
==============  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core.checks import CheckMessage, Error, Warning

from .conf import settings_problems

__all__ = ["check_deploy_settings", "check_settings"]

DEPLOY_ONLY = frozenset({"waygrid.E002"})
"""Checks that only ``check --deploy`` runs: what a production server needs, a laptop not."""


def _messages(deploy: bool) -> list[CheckMessage]:
    messages: list[CheckMessage] = []
    for problem in settings_problems():
        if (problem.check_id in DEPLOY_ONLY) == deploy:
            kind = Error if problem.level == "error" else Warning
            messages.append(kind(problem.message, hint=problem.hint, id=problem.check_id))
    return messages


def check_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report every missing or invalid ``WAYGRID_*`` setting (but the deploy checks)."""
    return _messages(deploy=False)


def check_deploy_settings(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report what a deployment lacks: an API key while ``DEBUG`` is off (``waygrid.E002``)."""
    return _messages(deploy=True)
