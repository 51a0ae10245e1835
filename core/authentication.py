"""API authentication by the portal's own tokens (core.models.ApiToken), as `Authorization: Token <key>`."""

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication

from core import services
from core.models import ApiToken


class ApiTokenAuthentication(TokenAuthentication):
    """DRF's header parsing and 401 challenge; the key is looked up by its hash and must be live."""

    model = ApiToken

    def authenticate_credentials(self, key):
        now = timezone.now()
        token = ApiToken.objects.for_key(key).select_related("user").first()
        if token is None:
            raise exceptions.AuthenticationFailed("Invalid token.")
        if token.revoked_at is not None:
            raise exceptions.AuthenticationFailed("This token was revoked.")
        if token.expires_at is not None and token.expires_at <= now:
            raise exceptions.AuthenticationFailed(f"This token expired at {token.expires_at:%Y-%m-%d %H:%M} UTC.")
        if not token.user.is_active:
            raise exceptions.AuthenticationFailed("User inactive or deleted.")
        services.record_api_token_use(token=token, now=now)
        return (token.user, token)
