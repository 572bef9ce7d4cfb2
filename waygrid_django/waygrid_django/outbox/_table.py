"""The outbox's table: the `Submission` model, found in Django's app registry when used.

No outbox module imports ``waygrid_django.models``: `WaygridService` imports the outbox, and it
must import before Django's app registry is ready (``INSTALLED_APPS`` imports this package
first, and direct submission needs no database at all). So the model is looked up at call time,
the way ``django.contrib.auth.get_user_model()`` reaches the user model.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from django.apps import apps
from django.db import router
from django.db.models import Field

if TYPE_CHECKING:
    from ..models import Submission

__all__ = ["column", "database", "field", "submissions"]


def submissions() -> type[Submission]:
    """The `Submission` model (Django's app registry must be ready)."""
    return cast("type[Submission]", apps.get_model("waygrid_django", "Submission"))


def database(using: str | None) -> str:
    """The database alias the outbox writes to: ``using``, else the router's choice."""
    return using or router.db_for_write(submissions())


def field(name: str) -> Field[Any, Any]:
    """The model field ``name`` (a concrete column)."""
    found = submissions()._meta.get_field(name)
    assert isinstance(found, Field)
    return found


def column(name: str) -> str:
    """The column name of the model field ``name``, unquoted."""
    found = field(name).column
    assert found is not None
    return found
