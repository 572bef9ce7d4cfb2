"""Helpers for your own tests: capture what `get_service()` submits, or swap the service.

Capture submissions in an in-process dev server (no sockets; needs ``waygrid-sdk[server]``)::

    from waygrid_django.testing import capture_submissions

    def test_checkout(client, db, django_capture_on_commit_callbacks):
        with capture_submissions() as waygrid:
            with django_capture_on_commit_callbacks(execute=True):
                client.post("/checkout/", {"order": 42})
            [traversal] = waygrid.traversals()  # inside: the dev server closes with the block
        assert traversal.payload == {"order": "42"}

Rows written by ``submit_on_commit`` are sent when the transaction commits: in a ``TestCase``
(or pytest-django's ``db`` fixture) wrap the code in ``self.captureOnCommitCallbacks(execute=True)``
(``django_capture_on_commit_callbacks(execute=True)``). To use a dev server on a port instead
(``waygrid.testing.DevServer``), override the setting: ``override_settings(WAYGRID_BASE_URL=
server.url)`` makes `get_service()` build a new service for it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

from .conf import OutboxSettings, get_settings
from .service import WaygridService, swap_default_service

if TYPE_CHECKING:
    from waygrid.testing import DevApp

__all__ = ["capture_submissions", "use_service"]


@contextmanager
def use_service(service: WaygridService) -> Iterator[WaygridService]:
    """Make `get_service()` return ``service`` inside the block (you close it afterwards)."""
    previous = swap_default_service(service)
    try:
        yield service
    finally:
        swap_default_service(previous[0], owned=previous[1])


@contextmanager
def capture_submissions(**dev_options: Any) -> Iterator[DevApp]:
    """Send what `get_service()` submits to a fresh in-process dev server; yield the server.

    The dev server checks specs as the real server does and keeps every traversal
    (``.traversals()``: ``.spec``, ``.payload``, ``.dag_hash``, ...). Faults can be injected
    (``.fail_next(3)``) to test the outbox's retries. The outbox options come from settings.

    Args:
        **dev_options: Passed to ``waygrid.devserver.create_app`` (e.g. ``strict=True``).
    """
    from waygrid.testing import DevApp

    dev = DevApp(**dev_options)
    try:
        outbox = get_settings().outbox
    except ImproperlyConfigured:
        outbox = OutboxSettings()
    service = WaygridService(dev.base_url, dev.api_key, transport=dev.transport(), outbox=outbox)
    try:
        with use_service(service):
            yield dev
    finally:
        service.close()
        dev.close()
