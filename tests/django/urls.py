"""URLs of the test project: the admin and views that submit through `get_service()`."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from . import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("sync/", views.sync_submit),
    path("async/", views.async_submit),
]
