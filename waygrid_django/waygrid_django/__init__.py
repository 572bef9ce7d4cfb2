"""Django integration for the Waygrid Python SDK: settings, checks, a service and an outbox."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .conf import OutboxSettings, WaygridSettings, get_settings
from .service import WaygridService, get_service
from .signals import submission_failed, submission_succeeded

if TYPE_CHECKING:
    from .outbox import DispatchResult

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


def __getattr__(name: str) -> Any:
    # The outbox imports the models, which Django only allows once the app registry is ready.
    if name == "DispatchResult":
        from .outbox import DispatchResult

        return DispatchResult
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
