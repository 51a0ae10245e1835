"""Response headers that Django's SecurityMiddleware does not set, and the query strings no page can read."""

from django.conf import settings
from django.core.exceptions import BadRequest

from core import errors


def permissions_policy_header(policy: dict[str, list[str]]) -> str:
    """{"camera": [], "fullscreen": ["self"]} -> 'camera=(), fullscreen=(self)'."""
    return ", ".join(f"{feature}=({' '.join(origins)})" for feature, origins in policy.items())


class SecurityHeadersMiddleware:
    """Permissions-Policy on every response, static files and media included (it is first in MIDDLEWARE)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.permissions_policy = permissions_policy_header(settings.PERMISSIONS_POLICY)

    def __call__(self, request):
        response = self.get_response(request)
        if self.permissions_policy:
            response.headers.setdefault("Permissions-Policy", self.permissions_policy)
        return response


NUL_IN_QUERY = "The address contains a NUL character (%00), which no search or filter accepts. Remove it and try again."


class RejectNulQueryMiddleware:
    """400 for a query string holding a NUL character, on every page and API endpoint alike.

    PostgreSQL text cannot hold NUL, so a query parameter that reaches a lookup (`?warehouse=`, `?q=`, `?sku=`)
    with one would fail as a server error. Forms and serializers already refuse NUL in their fields with a
    field error; query parameters are also read directly, and only a crafted address can carry one.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if any("\x00" in key + "".join(values) for key, values in request.GET.lists()):
            # Answered here, not raised: with DEBUG on, Django would answer a raised BadRequest with its
            # technical HTML page, under /api/ too.
            return errors.bad_request(request, BadRequest(NUL_IN_QUERY))
        return self.get_response(request)
