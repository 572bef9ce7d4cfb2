"""The published ``WorkflowView``, made right: the outbox, one shared service, no asyncio.run."""

from __future__ import annotations

import json

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from waygrid_django import get_service
from waygrid_django.models import Submission

from .workflows import START_WORKFLOW


def _describe(submission: Submission) -> dict[str, object]:
    return {
        "traversal_id": submission.traversal_id or None,
        "status": submission.status,
        "submission_id": submission.pk,
    }


# An API endpoint for other services: CSRF does not apply to them. Use real authentication in
# your own project; browser forms should keep Django's CSRF protection.
@method_decorator(csrf_exempt, name="dispatch")
class WorkflowView(View):
    """``POST /workflow/start/``: start the workflow with the form fields or JSON body."""

    def post(self, request: HttpRequest) -> JsonResponse:
        """200 with the traversal id once Waygrid took it; 202 while it waits in the outbox."""
        if request.content_type == "application/json":
            try:
                payload = json.loads(request.body or b"{}")
            except ValueError:
                return JsonResponse({"error": "the body is not JSON"}, status=400)
        else:
            payload = request.POST.dict()
        with transaction.atomic():
            # Write your own rows here: the submission commits (or rolls back) with them.
            submission = get_service().submit_on_commit(START_WORKFLOW, payload)
        # Committed: the outbox has tried to send it already. If Waygrid was down, the row is
        # pending and `manage.py waygrid_dispatch` will send it.
        status = 200 if submission.status == Submission.Status.SUBMITTED else 202
        return JsonResponse(_describe(submission), status=status)


def submission_status(request: HttpRequest, pk: int) -> JsonResponse:
    """``GET /workflow/<id>/``: where a submission stands."""
    return JsonResponse(_describe(get_object_or_404(Submission, pk=pk)))
