"""Answer the SDK's errors raised in views with ``application/problem+json``, sync or async.

Either for every view, in ``settings.py``::

    MIDDLEWARE += ["waygrid_django.middleware.WaygridErrorMiddleware"]

or per view, with the decorator (sync and async views alike)::

    from waygrid_django.middleware import waygrid_errors

    @waygrid_errors
    async def start(request):
        result = await get_service().asubmit(WORKFLOW, {"orderId": 42})
        ...

The answers are the core's (``waygrid.problems``), the same as ``waygrid_fastapi``'s: 503 with
``Retry-After`` when Waygrid is down, overloaded or slow; 502 for its other errors; 500 when the
app's own spec or payload is invalid (logged at ERROR); 422 for a spec read from the request.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar, cast

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.deprecation import MiddlewareMixin

from waygrid import WaygridError
from waygrid.problems import MEDIA_TYPE, problem_for

__all__ = ["WaygridErrorMiddleware", "problem_response", "waygrid_errors"]

logger = logging.getLogger("waygrid_django")

_View = TypeVar("_View", bound=Callable[..., HttpResponse | Awaitable[HttpResponse]])


def problem_response(exc: WaygridError, *, retry_after: int = 5) -> JsonResponse:
    """The problem+json response for ``exc``, logged at the level the error calls for.

    Args:
        exc: The SDK's error.
        retry_after: ``Retry-After`` seconds for a 503 when Waygrid did not ask for a wait.
    """
    problem = problem_for(exc, retry_after=retry_after)
    problem.log(logger, exc)
    response = JsonResponse(problem.to_dict(), status=problem.status, content_type=MEDIA_TYPE)
    for name, value in problem.headers.items():
        response[name] = value
    return response


class WaygridErrorMiddleware(MiddlewareMixin):
    """Turns a `WaygridError` raised by any view into a problem+json response (WSGI and ASGI).

    Other exceptions are left to Django (and its debug page).
    """

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        """The problem response for the SDK's errors; None (Django's handling) for others."""
        if isinstance(exception, WaygridError):
            return problem_response(exception)
        return None


def waygrid_errors(view: _View) -> _View:
    """Decorate a sync or async view so that the SDK's errors answer problem+json.

    Example:
        >>> @waygrid_errors  # doctest: +SKIP
        ... def start(request):
        ...     get_service().submit(WORKFLOW)
    """
    if inspect.iscoroutinefunction(view):
        asynchronous = cast("Callable[..., Awaitable[HttpResponse]]", view)

        @functools.wraps(view)
        async def async_wrapper(
            request: HttpRequest, *args: object, **kwargs: object
        ) -> HttpResponse:
            try:
                return await asynchronous(request, *args, **kwargs)
            except WaygridError as exc:
                return problem_response(exc)

        return cast("_View", async_wrapper)
    synchronous = cast("Callable[..., HttpResponse]", view)

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: object, **kwargs: object) -> HttpResponse:
        try:
            return synchronous(request, *args, **kwargs)
        except WaygridError as exc:
            return problem_response(exc)

    return cast("_View", wrapper)
