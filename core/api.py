"""Shared API pieces: the error format and the scoping mixin every API view uses."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.scoping import scope_to_user


class Conflict(exceptions.APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "The request conflicts with the current state."
    default_code = "conflict"


def exception_handler(exc, context):
    """DRF's handler, plus Django's ValidationError as a 400 with field errors."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    return drf_exception_handler(exc, context)


class ClientScopedMixin:
    """Limits `get_queryset()` to the request user's clients; objects elsewhere are 404."""

    client_field = "client"

    def get_queryset(self):
        return scope_to_user(super().get_queryset(), self.request.user, client_field=self.client_field)
