"""The portal's 400/403/404/500 handlers (inventory_portal.urls): pages inside the layout, JSON under /api/.

500 renders with no request context, so it reads nothing from the database (which may be what failed).
A database that drops out mid-request (OperationalError, InterfaceError: a terminated backend, a failover)
answers 503 with a Retry-After instead: the page or the API client can simply try again, and nothing was
half-written because every write runs in a transaction.
"""

import logging
import sys

from django.core.exceptions import BadRequest
from django.db import InterfaceError, OperationalError
from django.http import HttpResponseServerError, JsonResponse
from django.shortcuts import render
from django.template import loader
from django.views import defaults

logger = logging.getLogger(__name__)

DATABASE_ERRORS = (OperationalError, InterfaceError)
RETRY_AFTER_SECONDS = 5


def is_api(request) -> bool:
    return request.path.startswith("/api/")


def bad_request(request, exception=None):
    """400. A `BadRequest` raised by the portal says what was wrong; other causes (SuspiciousOperation: a
    disallowed host, a tampered session) get a generic message, so nothing about the setup is shown."""
    message = str(exception) if type(exception) is BadRequest else "The request could not be read."
    if is_api(request):
        return JsonResponse({"detail": message}, status=400)
    return render(request, "400.html", {"message": message}, status=400)


def permission_denied(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": "You do not have permission to perform this action."}, status=403)
    return defaults.permission_denied(request, exception, template_name="403.html")


def page_not_found(request, exception=None):
    if is_api(request):
        return JsonResponse({"detail": "Not found."}, status=404)
    return defaults.page_not_found(request, exception, template_name="404.html")


def server_error(request):
    """Called by Django inside the `except` of the failed request: sys.exc_info() is the cause."""
    exc = sys.exc_info()[1]
    if isinstance(exc, DATABASE_ERRORS):
        return database_unavailable(request, exc)
    if is_api(request):
        return JsonResponse({"detail": "Server error: the portal has logged it."}, status=500)
    return HttpResponseServerError(loader.get_template("500.html").render())


def database_unavailable(request, exc):
    logger.warning("Database unavailable during %s %s: %s", request.method, request.path, exc)
    if is_api(request):
        response = JsonResponse({"detail": "The database is unavailable; nothing was changed. Try again."}, status=503)
    else:
        response = HttpResponseServerError(loader.get_template("503.html").render(), status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response
