"""Reads across users, memberships and tokens."""

from django.contrib.auth.models import User
from django.db.models import QuerySet

from core.models import ApiToken, Membership
from core.scoping import client_ids_for


def token_users_for(admin) -> QuerySet[User]:
    """The users an admin may issue and revoke tokens for.

    A superuser: every active user. An admin: active non-superusers who belong to at least one of
    the admin's clients and to no other client, so a token never reaches data the admin could not see.
    """
    users = User.objects.filter(is_active=True).order_by("username")
    ids = client_ids_for(admin)
    if ids is None:
        return users
    elsewhere = Membership.objects.exclude(client_id__in=ids).values("user_id")
    return users.filter(is_superuser=False, memberships__client_id__in=ids).exclude(pk__in=elsewhere).distinct()


def tokens_for_admin(admin) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user__in=token_users_for(admin)).select_related("user", "created_by")
