"""The API schema class (REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]); apart from core.api, which DRF's generics
import through the filter backend setting, so that drf-spectacular is not imported halfway through DRF."""

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, inline_serializer
from rest_framework import serializers

ERROR_DETAIL = inline_serializer(name="ErrorDetail", fields={"detail": serializers.CharField()})
# 400 carries field errors ({"field": ["message"]}); 409 bodies differ per app (shortages, codes).
DEFAULT_ERROR_RESPONSES = {
    "400": (OpenApiTypes.OBJECT, "Invalid input: the message per field (or non_field_errors, or detail)."),
    "401": (ERROR_DETAIL, "No valid token (or session)."),
    "403": (ERROR_DETAIL, "The user's roles do not allow this."),
    "404": (ERROR_DETAIL, "No such object among the user's clients (or no such page of results)."),
}
WRITE_ERROR_RESPONSES = {
    "409": (OpenApiTypes.OBJECT, "The request conflicts with the current state."),
    "415": (ERROR_DETAIL, "Unsupported content type: send JSON or form data."),
}


class PortalAutoSchema(AutoSchema):
    """drf-spectacular's schema plus the shared error answers, so a client (and schemathesis) knows every status
    code it can meet; an operation's own `extend_schema(responses=…)` for a code wins."""

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction=direction)
        defaults = dict(DEFAULT_ERROR_RESPONSES)
        if self.method not in ("GET", "HEAD"):
            defaults.update(WRITE_ERROR_RESPONSES)
        for code, (body, description) in defaults.items():
            if code not in responses:
                responses[code] = self._get_response_for_code(
                    OpenApiResponse(body, description=description), code, direction=direction
                )
        return responses
