"""Per-user time zones: dates on pages, in filters and in exports are the user's wall-clock time.

The user's choice (core.models.Preferences) is copied into the session at login and whenever it
is changed on /account/, and the middleware activates it for each request. The site's TIME_ZONE
applies to anyone who has not chosen (and to token-authenticated API calls, which have no session).
"""

from __future__ import annotations

import zoneinfo
from functools import cache

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

SESSION_KEY = "portal_time_zone"


@cache
def time_zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, sorted ("Europe/Berlin", "UTC", …)."""
    return tuple(sorted(zoneinfo.available_timezones()))


def remember(request, name: str) -> None:
    """Store the user's zone in the session ('' = the site's) and use it for the rest of this request."""
    request.session[SESSION_KEY] = name
    _activate(name)


def _activate(name: str | None) -> None:
    if name:
        try:
            timezone.activate(zoneinfo.ZoneInfo(name))
            return
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # a zone removed from the machine's tz database: fall back to the site's
    timezone.deactivate()


class UserTimeZoneMiddleware:
    """Activate the session's time zone for the request; reads the session only (no query of its own)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        session = getattr(request, "session", None)
        _activate(session.get(SESSION_KEY) if session is not None and session.session_key else None)
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()


@receiver(user_logged_in, dispatch_uid="core.timezones.load_on_login")
def load_on_login(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    from core.models import Preferences

    name = Preferences.objects.filter(user=user).values_list("time_zone", flat=True).first() or ""
    request.session[SESSION_KEY] = name
