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


def add_links(result, generator, request, public):
    """drf-spectacular postprocessing hook: OpenAPI links between the operations on one object, so that a client
    (and schemathesis's stateful phase) can follow create → its actions → the next action on the same object.

    - A collection's create (POST `/x/` answering 201) links to every operation on `/x/{id}/…`, the id taken from
      the created body.
    - An action on an object (POST `/x/{id}/a/` answering 200) links to the other operations on that object, the
      id taken from the request's path: release → cancel, which the jobs API must answer 409.
    """
    paths = result.get("paths", {})

    def operations_under(prefix: str, *, but: str | None = None):
        for path, item in paths.items():
            if path.startswith(prefix) and path != but:
                for method, operation in item.items():
                    if method in ("get", "put", "patch", "post", "delete"):
                        yield operation["operationId"]

    def link(operation_ids, expression: str) -> dict:
        return {op: {"operationId": op, "parameters": {"id": expression}} for op in operation_ids}

    for path, item in paths.items():
        post = item.get("post")
        if post is None:
            continue
        if "{" not in path and "201" in post["responses"]:
            code, links = "201", link(operations_under(f"{path}{{id}}/"), "$response.body#/id")
        elif path.count("{id}/") == 1 and not path.endswith("{id}/") and "200" in post["responses"]:
            code, links = "200", link(operations_under(path[: path.index("{id}/") + 5], but=path), "$request.path.id")
        else:
            continue
        if links:
            post["responses"][code]["links"] = links
    return result
