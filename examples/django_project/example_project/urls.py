"""URLs: the admin (with the Waygrid outbox) and the workflow endpoints."""

from django.contrib import admin
from django.urls import path

from .views import WorkflowView, submission_status

urlpatterns = [
    path("admin/", admin.site.urls),
    path("workflow/start/", WorkflowView.as_view(), name="workflow-start"),
    path("workflow/<int:pk>/", submission_status, name="workflow-status"),
]
