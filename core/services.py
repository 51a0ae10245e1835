import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from core.models import ApiToken, Preferences

# last_used_at is a hint for people, not an audit log: one write per token per minute at most.
TOKEN_USE_RESOLUTION = timedelta(minutes=1)


def set_time_zone(user, name: str) -> Preferences:
    """Record the user's time zone ('' = the site's)."""
    preferences, _ = Preferences.objects.update_or_create(user=user, defaults={"time_zone": name})
    return preferences


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    key: str  # the only time the key exists outside the caller's hands


def issue_api_token(*, user: User, name: str, expires_at: datetime | None, issued_by: User) -> IssuedToken:
    """Create a token for `user`; the returned key is never stored, only its hash."""
    name = name.strip()
    problems = {}
    if not name:
        problems["name"] = ["Give the token a name (what uses it)."]
    if expires_at is not None and expires_at <= timezone.now():
        problems["expires_at"] = ["The expiry must be in the future."]
    if not user.is_active:
        problems["user"] = [f"{user.get_username()} is not active."]
    if problems:
        raise ValidationError(problems)
    key = secrets.token_hex(20)
    try:
        with transaction.atomic():
            token = ApiToken.objects.create(
                user=user,
                name=name,
                key_prefix=key[:8],
                key_hash=ApiToken.hash_key(key),
                expires_at=expires_at,
                created_by=issued_by,
            )
    except IntegrityError:
        if ApiToken.objects.filter(user=user, name=name, revoked_at__isnull=True).exists():
            raise ValidationError(
                {"name": [f"{user.get_username()} already has a token named “{name}”: revoke it or pick another name."]}
            ) from None
        raise
    return IssuedToken(token=token, key=key)


def revoke_api_token(*, token: ApiToken) -> bool:
    """Revoke the token at once; False if it was already revoked (safe to call twice)."""
    now = timezone.now()
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=now)
    if revoked:
        token.revoked_at = now
    return bool(revoked)


def record_api_token_use(*, token: ApiToken, now: datetime) -> None:
    """Note that the token was just used, unless that was already noted less than a minute ago."""
    if token.last_used_at is not None and now - token.last_used_at < TOKEN_USE_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).filter(
        Q(last_used_at__isnull=True) | Q(last_used_at__lt=now - TOKEN_USE_RESOLUTION)
    ).update(last_used_at=now)
    token.last_used_at = now
