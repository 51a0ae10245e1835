"""Shared API pieces: the error format and the scoping mixin every API view uses."""

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import BooleanField, CharField, TextField
from django.http import Http404
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from core.scoping import scope_to_user

# Ids in API paths are positive integers: anything else ("null,null", "-1") is no route (404), never a lookup.
ID_PATTERN = "[1-9][0-9]{0,17}"


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


def is_unhandled_method(request, view) -> bool:
    """True when the view has no handler for the method (TRACE, say): permission classes let it through so that
    the view answers 405 with its Allow header instead of a 403 or a crash on a missing permission table."""
    return not hasattr(view, request.method.lower())


class StrictBooleanField(serializers.BooleanField):
    """JSON true/false only: DRF's BooleanField also takes 0, 1, "yes", "on", which the schema (boolean) refuses."""

    def to_internal_value(self, data):
        if data is True or data is False:  # by identity: 0 == False and 1 == True in a set
            return data
        self.fail("invalid", input=data)


class StrictCharField(serializers.CharField):
    """A JSON string only: DRF's CharField also turns 0 into "0", which the schema (string) refuses."""

    def to_internal_value(self, data):
        if not isinstance(data, str):
            self.fail("invalid")
        return super().to_internal_value(data)


STRICT_FIELD_MAPPING = {
    **serializers.ModelSerializer.serializer_field_mapping,
    BooleanField: StrictBooleanField,
    CharField: StrictCharField,
    TextField: StrictCharField,
}
