"""Django integration for the Waygrid Python SDK: settings, checks, a service and an outbox."""

from __future__ import annotations

from .conf import OutboxSettings, WaygridSettings, get_settings
from .outbox import DispatchResult
from .service import WaygridService, get_service
from .signals import submission_failed, submission_succeeded

__all__ = [
    "DispatchResult",
    "OutboxSettings",
    "WaygridService",
    "WaygridSettings",
    "get_service",
    "get_settings",
    "submission_failed",
    "submission_succeeded",
]
