"""The one place that limits what a user sees to the clients they belong to.

Every view, API view and export scopes its querysets through these helpers, so an
object of another client is simply not found (404), never forbidden-with-data.
"""

from django.db.models import QuerySet
from django.http import Http404

from core.models import Client


def client_ids_for(user) -> list[int] | None:
    """The ids of the user's clients, or None for a superuser (every client)."""
    if not user.is_authenticated:
        return []
    if user.is_superuser:
        return None
    cached = getattr(user, "_portal_client_ids", None)
    if cached is None:
        cached = list(user.memberships.values_list("client_id", flat=True))
        user._portal_client_ids = cached
    return cached


def clients_for(user) -> QuerySet[Client]:
    ids = client_ids_for(user)
    qs = Client.objects.filter(is_active=True)
    return qs if ids is None else qs.filter(id__in=ids)


def scope_to_user(queryset: QuerySet, user, *, client_field: str = "client") -> QuerySet:
    """Filter `queryset` to rows whose `client_field` is one of the user's clients."""
    ids = client_ids_for(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{client_field}__in": ids})


def get_scoped_or_404(queryset: QuerySet, user, *, client_field: str = "client", **lookup):
    try:
        return scope_to_user(queryset, user, client_field=client_field).get(**lookup)
    except queryset.model.DoesNotExist as exc:
        raise Http404(f"No {queryset.model._meta.verbose_name} matches the given query.") from exc


def user_sees_many_clients(user) -> bool:
    ids = client_ids_for(user)
    return ids is None or len(ids) > 1
