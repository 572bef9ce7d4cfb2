"""Views that call the service and let the SDK's errors out, for the error-mapping tests."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import path

from tests.django.views import SPEC
from waygrid import Node, Spec
from waygrid_django import get_service
from waygrid_django.middleware import waygrid_errors

BROKEN = Spec.single(
    Node.fork("waygrid://system/waystation")
    .join_id("j")
    .branches({"a": Node.standard("waygrid://p/a"), "b": Node.standard("waygrid://p/b")})
)
"""A spec the app got wrong: a fork whose join was never attached."""


def _spec(request: HttpRequest) -> Spec:
    return BROKEN if request.GET.get("broken") else SPEC


def sync_view(request: HttpRequest) -> JsonResponse:
    """Submit with the sync API."""
    return JsonResponse({"traversal_id": get_service().submit(_spec(request)).traversal_id})


async def async_view(request: HttpRequest) -> JsonResponse:
    """Submit with the async API."""
    result = await get_service().asubmit(_spec(request))
    return JsonResponse({"traversal_id": result.traversal_id})


def boom(request: HttpRequest) -> JsonResponse:
    """Fail with an error that is not the SDK's."""
    raise KeyError("not ours")


urlpatterns = [
    path("sync/", sync_view),
    path("async/", async_view),
    path("decorated/sync/", waygrid_errors(sync_view)),
    path("decorated/async/", waygrid_errors(async_view)),
    path("boom/", boom),
]
