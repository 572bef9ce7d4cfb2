"""The helpers for users' tests: capture_submissions, use_service, override_settings."""

from __future__ import annotations

import pytest
from django.test.utils import override_settings
from pytest_django import DjangoCaptureOnCommitCallbacks

from tests.django.views import SPEC
from waygrid.testing import DevServer
from waygrid_django import WaygridService, get_service
from waygrid_django.models import Submission
from waygrid_django.testing import capture_submissions, use_service


@pytest.mark.django_db
def test_capture_submissions_in_a_db_test(
    django_capture_on_commit_callbacks: DjangoCaptureOnCommitCallbacks,
) -> None:
    """In a transactional test, on-commit sends are captured by the in-process dev server."""
    before = get_service()
    with capture_submissions() as waygrid:
        with django_capture_on_commit_callbacks(execute=True):
            row = get_service().submit_on_commit(SPEC, {"order": 7})
        get_service().submit(SPEC, {"direct": True})
        [first, second] = waygrid.traversals()
    assert (first.payload, second.payload) == ({"order": 7}, {"direct": True})
    assert Submission.objects.get(pk=row.pk).traversal_id == first.traversal_id
    assert get_service() is before  # the previous default is back


def test_capture_submissions_can_inject_faults() -> None:
    """The captured dev server can fail requests, to test error handling."""
    from waygrid import ServerError

    with capture_submissions() as waygrid:
        waygrid.fail_next(10, status=500)
        with pytest.raises(ServerError):
            get_service().submit(SPEC)


def test_use_service_swaps_the_default(waygrid_server: DevServer) -> None:
    """use_service makes get_service() return the given service inside the block."""
    mine = WaygridService(waygrid_server.url)
    with use_service(mine):
        assert get_service() is mine
        get_service().submit(SPEC)
    assert get_service() is not mine
    mine.close()
    assert len(waygrid_server.traversals()) == 1


def test_override_settings_rebuilds_the_default(waygrid_server: DevServer) -> None:
    """Overriding WAYGRID_BASE_URL gives a new default service for the new address."""
    old = get_service()
    with override_settings(WAYGRID_BASE_URL=waygrid_server.url):
        service = get_service()
        assert service is not old
        service.submit(SPEC)
    assert len(waygrid_server.traversals()) == 1
    with pytest.raises(RuntimeError, match="closed"):
        service.submit(SPEC)  # the overridden default was closed on the way out
