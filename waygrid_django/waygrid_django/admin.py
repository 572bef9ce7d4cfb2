"""The admin for outbox submissions: filters, search, the spec and its DAG, two actions."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from waygrid import Spec, WaygridError, simulate
from waygrid.dag import mermaid_script

from .models import Submission
from .service import get_service

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Submission]
else:
    _ModelAdmin = admin.ModelAdmin

__all__ = ["SubmissionAdmin"]

_DRAW = b"""
;(function () {
  mermaid.initialize({startOnLoad: false, securityLevel: "strict"});
  function draw() { mermaid.run({querySelector: ".waygrid-dag"}); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
"""


_SURROGATE = re.compile("[\ud800-\udfff]")
_TIMELINE_LINES = 200
"""Longest simulated timeline shown on a Submission page."""


def _pretty(text: str | None) -> SafeString:
    """Stored JSON text, indented; lone surrogates (not encodable in a page) as ``\\udxxx``."""
    if text is None:
        return format_html("<pre>{}</pre>", "null")
    try:
        shown = json.dumps(json.loads(text), indent=2, ensure_ascii=False)
    except (ValueError, RecursionError):  # too deep to indent: as stored
        shown = text
    return format_html("<pre>{}</pre>", _encodable(shown))


def _encodable(text: str) -> str:
    """``text`` with lone surrogates (which no page can encode) written as ``\\udxxx``."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


class ReferenceFilter(admin.SimpleListFilter):
    """Rows with or without a reference; a clicked reference (``?reference=``) shows its rows."""

    title = "reference"
    parameter_name = "has_reference"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        """Yes / no."""
        return [("yes", "With a reference"), ("no", "Without")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        """Filter on whether ``reference`` is set."""
        if self.value() == "yes":
            queryset = queryset.exclude(reference="")
        elif self.value() == "no":
            queryset = queryset.filter(reference="")
        return queryset


@admin.register(Submission)
class SubmissionAdmin(_ModelAdmin):
    """Lists outbox rows; the detail page shows the spec, payload and DAG (drawn offline)."""

    list_display = (
        "id",
        "status",
        "reference_link",
        "traversal_id",
        "attempts",
        "created_at",
        "next_attempt_at",
    )
    list_filter = ("status", ReferenceFilter, "created_at", "submitted_at")
    date_hierarchy = "created_at"
    search_fields = ("=traversal_id", "=idempotency_key", "^reference")
    actions = ("dispatch_now", "retry_failed")
    change_form_template = "admin/waygrid_django/submission/change_form.html"
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "status",
                    "reference",
                    "traversal_id",
                    "dag_hash",
                    "attempts",
                    "last_error",
                )
            },
        ),
        ("Timing", {"fields": ("created_at", "updated_at", "next_attempt_at", "submitted_at")}),
        (
            "Spec",
            {"fields": ("dag", "timeline", "pretty_spec", "pretty_payload", "idempotency_key")},
        ),
    )
    readonly_fields = (
        "status",
        "reference",
        "traversal_id",
        "dag_hash",
        "attempts",
        "last_error",
        "created_at",
        "updated_at",
        "next_attempt_at",
        "submitted_at",
        "dag",
        "timeline",
        "pretty_spec",
        "pretty_payload",
        "idempotency_key",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        """Rows come from ``submit_on_commit``, never from a form."""
        return False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest) -> bool:
        """Also allow ``?reference=...``: every row of one of your objects."""
        return lookup in ("reference", "reference__exact") or super().lookup_allowed(
            lookup, value, request
        )

    @admin.display(description="reference", ordering="reference")
    def reference_link(self, obj: Submission) -> SafeString | str:
        """The reference, linking to every row with the same one."""
        if not obj.reference:
            return "-"
        return format_html('<a href="?reference={}">{}</a>', quote(obj.reference), obj.reference)

    @admin.display(description="spec")
    def pretty_spec(self, obj: Submission) -> SafeString:
        """The spec's JSON, indented."""
        return _pretty(obj.spec_json)

    @admin.display(description="payload")
    def pretty_payload(self, obj: Submission) -> SafeString:
        """The payload's JSON, indented."""
        return _pretty(obj.payload_json)

    @admin.display(description="DAG")
    def dag(self, obj: Submission) -> SafeString:
        """The compiled graph as a Mermaid flowchart, drawn in the browser."""
        try:
            chart = Spec.from_json(obj.spec_json).to_mermaid()
        except WaygridError as exc:
            return format_html("<p>The spec cannot be drawn: {}</p>", _encodable(str(exc)))
        return format_html('<pre class="waygrid-dag">{}</pre>', _encodable(chart))

    @admin.display(description="simulated timeline")
    def timeline(self, obj: Submission) -> SafeString:
        """What the server's runtime does with the spec when every node succeeds (simulated)."""
        try:
            text = simulate(Spec.from_json(obj.spec_json)).timeline()
        except (WaygridError, ValueError, TypeError, RecursionError, OverflowError) as exc:
            return format_html("<p>The spec cannot be simulated: {}</p>", _encodable(str(exc)))
        except Exception as exc:  # a bug in the simulator must not take the admin page down
            return format_html("<p>The spec cannot be simulated: {}</p>", type(exc).__name__)
        lines = text.splitlines()
        if len(lines) > _TIMELINE_LINES:  # a huge spec: its start and how it ended
            more = len(lines) - _TIMELINE_LINES
            lines[_TIMELINE_LINES - 1 :] = [f"... {more:,} more lines ...", lines[-1]]
        text = _encodable("\n".join(lines))
        return format_html('<pre class="waygrid-timeline">{}</pre>', text)

    def get_urls(self) -> list[URLPattern]:
        """Adds ``dag.js``: the vendored Mermaid bundle (no CDN) and the code that draws."""
        name = f"{self.opts.app_label}_{self.opts.model_name}_dag_js"
        view = self.admin_site.admin_view(self.dag_js)
        return [path("dag.js", view, name=name), *super().get_urls()]

    def dag_js(self, request: HttpRequest) -> HttpResponse:
        """Serve Mermaid plus the call that draws every ``.waygrid-dag`` on the page."""
        response = HttpResponse(mermaid_script() + _DRAW, content_type="text/javascript")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    @admin.action(description="Dispatch selected submissions now", permissions=["change"])
    def dispatch_now(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        """Send the selected pending rows at once, whether due or not."""
        selected = list(queryset)
        result = get_service().send(selected)
        skipped = len(selected) - result.claimed
        text = f"Sent {result.claimed}: {result}."
        if skipped:
            text += f" Skipped {skipped} already submitted, failed or being sent."
        level = messages.WARNING if result.failed or result.retrying else messages.SUCCESS
        self.message_user(request, text, level)

    @admin.action(description="Retry selected failed submissions", permissions=["change"])
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[Submission]) -> None:
        """Queue the selected failed rows again (attempts reset) and send them at once."""
        failed = list(queryset.filter(status=Submission.Status.FAILED))
        now = timezone.now()
        Submission.objects.filter(pk__in=[row.pk for row in failed]).update(
            status=Submission.Status.PENDING, attempts=0, next_attempt_at=now, updated_at=now
        )
        result = get_service().send(failed)
        text = f"Retried {len(failed)} failed: {result}."
        level = messages.WARNING if result.failed or result.retrying else messages.SUCCESS
        self.message_user(request, text, level)
