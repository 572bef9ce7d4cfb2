"""A sync and an async view that submit a spec, directly or through the outbox (``?outbox=1``)."""

from __future__ import annotations

import json
import threading

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from waygrid import Node, RepeatPolicy, Spec
from waygrid_django import get_service

SPEC = Spec.single(
    entry_point=Node.standard("waygrid://processor/openai").on_success(
        Node.standard("waygrid://destination/webhook")
    ),
    repeat_policy=RepeatPolicy.NO_REPEAT,
)


@csrf_exempt
def sync_submit(request: HttpRequest) -> JsonResponse:
    """Submit with the sync API."""
    payload = json.loads(request.body or b"null")
    service = get_service()
    if request.GET.get("outbox"):
        row = service.submit_on_commit(SPEC, payload)
        return JsonResponse({"traversal_id": row.traversal_id, "status": row.status})
    result = service.submit(SPEC, payload)
    thread = threading.current_thread().name
    return JsonResponse({"traversal_id": result.traversal_id, "thread": thread})


@csrf_exempt
async def async_submit(request: HttpRequest) -> JsonResponse:
    """Submit with the async API."""
    payload = json.loads(request.body or b"null")
    service = get_service()
    if request.GET.get("outbox"):
        row = await service.asubmit_on_commit(SPEC, payload)
        return JsonResponse({"traversal_id": row.traversal_id, "status": row.status})
    result = await service.asubmit(SPEC, payload)
    thread = threading.current_thread().name
    return JsonResponse({"traversal_id": result.traversal_id, "thread": thread})
