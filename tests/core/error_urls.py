"""The portal's URLs plus two views that fail the way production can, for tests/core/test_error_pages.py."""

from django.db import connection
from django.http import HttpResponse
from django.urls import path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from inventory_portal.urls import handler403, handler404, handler500, urlpatterns  # noqa: F401


def terminate_own_backend():
    """What a failover or `pg_terminate_backend` from an operator does to the request's connection."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pg_backend_pid())")
        cursor.execute("SELECT 1")


def page_losing_database(request):
    terminate_own_backend()
    return HttpResponse("not reached")


@api_view(["GET"])
@authentication_classes([])
@permission_classes([AllowAny])
def api_losing_database(request):
    terminate_own_backend()
    return Response({"not": "reached"})


def page_failing(request):
    raise ValueError("a bug")


urlpatterns = [
    *urlpatterns,
    path("tests/database-lost/", page_losing_database),
    path("api/tests/database-lost/", api_losing_database),
    path("tests/bug/", page_failing),
]
